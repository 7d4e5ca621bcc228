// The plugins this build ships, by name. Adding a plugin = adding its folder and one line here.
import { aclPlugin } from "../../plugins/acl/index.ts";
import { anonymousPlugin } from "../../plugins/anonymous/index.ts";
import { jwtPlugin } from "../../plugins/jwt/index.ts";
import { jwtSignerPlugin } from "../../plugins/jwt-signer/index.ts";
import type { PluginDefinition } from "./contract.ts";

export type PluginRegistry = ReadonlyMap<string, PluginDefinition<any>>;

export function createRegistry(definitions: PluginDefinition<any>[]): PluginRegistry {
  return new Map(definitions.map((definition) => [definition.name, definition]));
}

export const builtinPlugins: PluginRegistry = createRegistry([jwtPlugin, anonymousPlugin, aclPlugin, jwtSignerPlugin]);
