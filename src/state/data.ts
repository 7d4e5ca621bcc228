// The whole configuration as plain entity lists: what the database holds, what a declarative
// file becomes, what `/config` exports and imports.
import type { Acl } from "../model/acl.ts";
import type { Consumer } from "../model/consumer.ts";
import type { JwtCredential } from "../model/jwt-credential.ts";
import type { KeyRecord } from "../model/key.ts";
import type { Plugin } from "../model/plugin.ts";
import type { Route } from "../model/route.ts";
import type { Service } from "../model/service.ts";

export interface StateData {
  services: Service[];
  routes: Route[];
  consumers: Consumer[];
  jwt_secrets: JwtCredential[];
  acls: Acl[];
  plugins: Plugin[];
  keys: KeyRecord[];
}

export function emptyState(): StateData {
  return { services: [], routes: [], consumers: [], jwt_secrets: [], acls: [], plugins: [], keys: [] };
}
