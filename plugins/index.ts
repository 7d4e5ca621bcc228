// The plugins this build ships, by name. Adding a plugin = adding its folder and one line here;
// the composition root (src/gateway.ts) hands this list to everything that needs it.
import { createRegistry } from "../src/pipeline/registry.ts";
import { aclPlugin } from "./acl/index.ts";
import { anonymousPlugin } from "./anonymous/index.ts";
import { corsPlugin } from "./cors/index.ts";
import { correlationIdPlugin } from "./correlation-id/index.ts";
import { ipRestrictionPlugin } from "./ip-restriction/index.ts";
import { basicAuthPlugin } from "./basic-auth/index.ts";
import { jwtSignerPlugin } from "./jwt-signer/index.ts";
import { jwtPlugin } from "./jwt/index.ts";
import { keyAuthPlugin } from "./key-auth/index.ts";
import { prometheusPlugin } from "./prometheus/index.ts";
import { requestTransformerPlugin } from "./request-transformer/index.ts";
import { responseTransformerPlugin } from "./response-transformer/index.ts";
import { rateLimitingPlugin } from "./rate-limiting/index.ts";
import { requestTerminationPlugin } from "./request-termination/index.ts";

export const builtinPlugins = createRegistry([jwtPlugin, anonymousPlugin, aclPlugin, jwtSignerPlugin, rateLimitingPlugin, corsPlugin, ipRestrictionPlugin, keyAuthPlugin, basicAuthPlugin, requestTransformerPlugin, responseTransformerPlugin, requestTerminationPlugin, correlationIdPlugin, prometheusPlugin]);
