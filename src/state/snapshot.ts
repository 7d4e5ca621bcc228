// The immutable in-memory view of the configuration that the proxy reads on every request:
// indexes, compiled router and per-route plugin chains. Rebuilt whole on every change and
// swapped in one assignment, so a request always sees one consistent version.
import type { Consumer } from "../model/consumer.ts";
import type { JwtCredential } from "../model/jwt-credential.ts";
import type { KeyRecord } from "../model/key.ts";
import type { Plugin } from "../model/plugin.ts";
import type { Service } from "../model/service.ts";
import { type Chain, buildChain } from "../pipeline/chains.ts";
import type { PluginInstance } from "../pipeline/contract.ts";
import type { PluginRegistry } from "../pipeline/registry.ts";
import { type Router, compileRouter } from "../proxy/router.ts";
import type { StateData } from "./data.ts";

export interface Snapshot {
  /** Increases by one on every rebuild. */
  readonly version: number;
  readonly data: StateData;
  readonly services: ReadonlyMap<string, Service>;
  readonly consumers: ReadonlyMap<string, Consumer>;
  readonly consumersByUsername: ReadonlyMap<string, Consumer>;
  readonly credentialsByKey: ReadonlyMap<string, JwtCredential>;
  /** ACL groups per consumer id, in stored order. */
  readonly aclGroups: ReadonlyMap<string, readonly string[]>;
  readonly keys: readonly KeyRecord[];
  readonly router: Router;
  /** Plugin chain per route id. */
  readonly chains: ReadonlyMap<string, Chain>;
}

/** Finds a consumer by id or username, as plugin configs refer to them. */
export function findConsumer(snapshot: Snapshot, idOrUsername: string): Consumer | undefined {
  return snapshot.consumers.get(idOrUsername) ?? snapshot.consumersByUsername.get(idOrUsername);
}

export function buildSnapshot(data: StateData, registry: PluginRegistry, version: number): Snapshot {
  const consumers = new Map(data.consumers.map((c) => [c.id, c]));
  const consumersByUsername = new Map<string, Consumer>();
  for (const c of data.consumers) if (c.username !== null) consumersByUsername.set(c.username, c);
  const aclGroups = new Map<string, string[]>();
  for (const acl of data.acls) {
    const groups = aclGroups.get(acl.consumer.id);
    if (groups) groups.push(acl.group);
    else aclGroups.set(acl.consumer.id, [acl.group]);
  }
  const chains = new Map<string, Chain>();
  const snapshot: Snapshot = {
    version,
    data,
    services: new Map(data.services.map((s) => [s.id, s])),
    consumers,
    consumersByUsername,
    credentialsByKey: new Map(data.jwt_secrets.map((c) => [c.key, c])),
    aclGroups,
    keys: data.keys,
    router: undefined as unknown as Router,
    chains,
  };
  const instances = new Map<string, PluginInstance>();
  const instanceOf = (plugin: Plugin): PluginInstance => {
    let instance = instances.get(plugin.id);
    if (!instance) {
      instance = registry.get(plugin.name)!.create(plugin.config as never, snapshot);
      instances.set(plugin.id, instance);
    }
    return instance;
  };
  for (const route of data.routes) chains.set(route.id, buildChain(route, data.plugins, registry, instanceOf));
  (snapshot as { router: Router }).router = compileRouter(data.routes, snapshot.services, chains);
  return snapshot;
}
