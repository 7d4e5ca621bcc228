// The immutable in-memory view of the configuration that the proxy reads on every request:
// indexes, compiled router and per-route plugin chains. Rebuilt whole on every change and
// swapped in one assignment, so a request always sees one consistent version. Plugins see it
// only through StateLookups.
import type { Database } from "bun:sqlite";
import { type Balancer, buildBalancers } from "../balancer/balancer.ts";
import { HealthBook } from "../balancer/health.ts";
import type { Consumer } from "../entities/consumer.ts";
import type { KeyRecord } from "../entities/key.ts";
import type { Plugin } from "../entities/plugin.ts";
import type { Service } from "../entities/service.ts";
import { type Chain, buildChain } from "../pipeline/chains.ts";
import type { PluginInstance, StateLookups } from "../pipeline/contract.ts";
import type { PluginRegistry } from "../pipeline/registry.ts";
import { type Router, compileRouter } from "../proxy/router.ts";
import type { StateData } from "./data.ts";
import { type UpstreamTlsPlan, compileUpstreamTls } from "./upstream-tls.ts";

export interface Snapshot extends StateLookups {
  /** Increases by one on every rebuild. */
  readonly version: number;
  readonly data: StateData;
  readonly services: ReadonlyMap<string, Service>;
  readonly keys: readonly KeyRecord[];
  readonly router: Router;
  /** The TLS listener's: routes whose protocols allow https (Kong does not match an http-only route there). */
  readonly tlsRouter: Router;
  /** Plugin chain per route id. */
  readonly chains: ReadonlyMap<string, Chain>;
  /** The TLS options of each https service's upstream connections. */
  readonly upstreamTls: UpstreamTlsPlan;
  /** The balancer of each upstream, by name in lower case. */
  readonly balancers: ReadonlyMap<string, Balancer>;
}

/** The lookups over one version's data; indexes are built on first use and kept with it. */
class Lookups implements StateLookups {
  private readonly consumersById: ReadonlyMap<string, Consumer>;
  private readonly consumersByUsername = new Map<string, Consumer>();
  private readonly indexes = new Map<string, ReadonlyMap<string, unknown>>();

  constructor(readonly data: StateData) {
    this.consumersById = new Map(data.consumers.map((c) => [c.id, c]));
    for (const c of data.consumers) if (c.username !== null) this.consumersByUsername.set(c.username, c);
  }

  get keys(): readonly KeyRecord[] {
    return this.data.keys;
  }

  consumer(idOrUsername: string): Consumer | undefined {
    return this.consumersById.get(idOrUsername) ?? this.consumersByUsername.get(idOrUsername);
  }

  rows<Row>(entity: string): readonly Row[] {
    return ((this.data as unknown as Record<string, unknown[] | undefined>)[entity] ?? []) as Row[];
  }

  uniqueIndex<Row>(entity: string, field: string): ReadonlyMap<string, Row> {
    const name = `${entity}.${field}`;
    let index = this.indexes.get(name);
    if (!index) {
      const built = new Map<string, unknown>();
      for (const row of this.rows<Record<string, unknown>>(entity)) built.set(String(row[field]), row);
      this.indexes.set(name, (index = built));
    }
    return index as ReadonlyMap<string, Row>;
  }
}

class BuiltSnapshot extends Lookups implements Snapshot {
  readonly services: ReadonlyMap<string, Service>;
  readonly chains = new Map<string, Chain>();
  readonly upstreamTls: UpstreamTlsPlan;
  router!: Router;
  tlsRouter!: Router;
  balancers!: ReadonlyMap<string, Balancer>;

  constructor(
    data: StateData,
    readonly version: number,
    readonly database?: Database,
  ) {
    super(data);
    this.services = new Map(data.services.map((s) => [s.id, s]));
    this.upstreamTls = compileUpstreamTls(data.services, data.ca_certificates, data.certificates);
  }
}

/** `health`: where targets' health is kept across builds (one per process that serves). */
export function buildSnapshot(data: StateData, registry: PluginRegistry, version: number, database?: Database, health: HealthBook = new HealthBook()): Snapshot {
  const snapshot = new BuiltSnapshot(data, version, database);
  const instances = new Map<string, PluginInstance>();
  const instanceOf = (plugin: Plugin): PluginInstance => {
    let instance = instances.get(plugin.id);
    if (!instance) {
      instance = registry.get(plugin.name)!.create(plugin.config as never, snapshot);
      instances.set(plugin.id, instance);
    }
    return instance;
  };
  for (const route of data.routes) snapshot.chains.set(route.id, buildChain(route, data.plugins, registry, instanceOf));
  snapshot.balancers = buildBalancers(data.upstreams ?? [], data.targets ?? [], health);
  const upstreamTls = snapshot.upstreamTls.byService;
  snapshot.router = compileRouter(data.routes, snapshot.services, snapshot.chains, upstreamTls, snapshot.balancers);
  const overTls = data.routes.filter((route) => route.protocols.includes("https"));
  snapshot.tlsRouter = overTls.length === data.routes.length ? snapshot.router : compileRouter(overTls, snapshot.services, snapshot.chains, upstreamTls, snapshot.balancers);
  return snapshot;
}
