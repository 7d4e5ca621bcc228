// The plugins this build ships, by name. Adding a plugin = adding its folder and one line here;
// the composition root (src/gateway.ts) hands this list to everything that needs it.
import { createRegistry } from "../src/pipeline/registry.ts";
import { aclPlugin } from "./acl/index.ts";
import { anonymousPlugin } from "./anonymous/index.ts";
import { jwtSignerPlugin } from "./jwt-signer/index.ts";
import { jwtPlugin } from "./jwt/index.ts";

export const builtinPlugins = createRegistry([jwtPlugin, anonymousPlugin, aclPlugin, jwtSignerPlugin]);
