// Assembles a running gateway: database (file or in-memory), store, state, proxy listener and
// admin listener. `serve`, `demo` and the tests all start gateways through here.
import { ActiveHealthChecks } from "./balancer/active.ts";
import { installConfigVersion } from "./db/config-version.ts";
import { MEMORY, type OpenedDatabase, openDatabase } from "./db/connection.ts";
import { Store } from "./db/store.ts";
import { type EntityDefinition, coreEntities, entityList } from "./entities/index.ts";
import { keystoreEndpoints } from "./keystore/jwks.ts";
import { Metrics } from "./metrics.ts";
import { builtinPlugins } from "../plugins/index.ts";
import type { PluginRegistry } from "./pipeline/registry.ts";
import { type AccessLog, openAccessLog } from "./proxy/access-log.ts";
import { parseTrustedIps } from "./proxy/client-address.ts";
import { type ProxyEngine, chosenProxyEngine } from "./proxy/engine.ts";
import { startRawProxy } from "./proxy/raw/listener.ts";
import { type BuiltinEndpoint, type ProxyListener, startProxy } from "./proxy/server.ts";
import { ConnectionPool } from "./proxy/upstream/pool.ts";
import { GatewayState } from "./state/gateway-state.ts";
import { upstreamTlsWarner } from "./state/upstream-tls.ts";
import type { PemPair } from "./tls/server-certificates.ts";

/** The plugins this build ships (the one place under src/ that names them). */
export { builtinPlugins };

export interface ListenAddress {
  hostname: string;
  port: number;
}

export interface GatewayOptions {
  /** SQLite file, or ":memory:" (declarative mode and demo). */
  db: string;
  /** The plain-HTTP proxy listener; null: off (`--proxy-listen off`, TLS only). */
  proxyListen: ListenAddress | null;
  /** `--proxy-listen-tls`: the TLS proxy listener. */
  proxyListenTls?: ListenAddress | null;
  /** The TLS listener's certificate for unknown or missing SNI: `--tls-cert`/`--tls-key`, or one made at start (src/tls/generate.ts). */
  tlsDefault?: PemPair;
  /** A target for openAccessLog (`off`, `stdout`, a file), or a log already opened (a worker's). */
  accessLog?: string | AccessLog;
  /** Share the proxy address with sibling processes (SO_REUSEPORT; `serve --workers N`). */
  reusePort?: boolean;
  registry?: PluginRegistry;
  /** How often to look for writes by other processes (database mode). */
  pollMs?: number;
  /** Endpoints served on the proxy listener itself; default: the keystore's JWKS. */
  builtins?: ReadonlyMap<string, BuiltinEndpoint>;
  /** `--trusted-ips`: comma-separated IPs/CIDRs whose X-Forwarded-For is believed. */
  trustedIps?: string;
  /** `--upstream-max-connections`: open connections per upstream host:port. */
  upstreamMaxConnections?: number;
  /** `--proxy-engine`: the listeners' socket layer; default GATEWAY_PROXY_ENGINE, else raw. */
  proxyEngine?: ProxyEngine;
  /** Warn about services that give up upstream TLS checks (default true; one worker of N does it for all). */
  configWarnings?: boolean;
}

export interface CoreGateway {
  opened: OpenedDatabase;
  store: Store;
  state: GatewayState;
  metrics: Metrics;
  accessLog: AccessLog;
  registry: PluginRegistry;
  /** Every entity of this gateway: the core ones and those its plugins own. */
  entities: readonly EntityDefinition[];
}

/** Database, store and state, without listeners (CLI commands and tests use this alone). */
export function openCore(options: Pick<GatewayOptions, "db" | "registry" | "accessLog">): CoreGateway {
  const registry = options.registry ?? builtinPlugins;
  const entities = entityList(coreEntities, registry.values());
  const opened = openDatabase(options.db);
  installConfigVersion(opened.sqlite, entities.map((entity) => entity.name));
  let state: GatewayState | undefined;
  const store = new Store(opened, registry, () => state?.reload(), entities);
  state = new GatewayState(() => store.loadAll(), registry, opened.sqlite);
  return { opened, store, state, metrics: new Metrics(), accessLog: typeof options.accessLog === "object" ? options.accessLog : openAccessLog(options.accessLog ?? "off"), registry, entities };
}

export interface RunningProxy extends CoreGateway {
  /** The plain listener, or the TLS one when plain HTTP is off. */
  proxy: ProxyListener;
  /** The TLS listener, when there is one. */
  tlsProxy: ProxyListener | null;
  /** This gateway's connections to its upstreams. */
  pool: ConnectionPool;
  proxyUrl: string;
  /**
   * Stops accepting, lets in-flight requests finish (up to `graceMs`), closes everything.
   * `lingerMs` of the grace period answer requests still arriving on open connections, each
   * with Connection: close, before idle connections are closed (see ProxyListener.drain).
   */
  stop(graceMs?: number, lingerMs?: number): Promise<void>;
}

export function startCoreWithProxy(options: GatewayOptions): RunningProxy {
  const start = (options.proxyEngine ?? chosenProxyEngine()) === "raw" ? startRawProxy : startProxy;
  const core = openCore(options);
  if (options.db !== MEMORY) {
    core.state.watch(core.opened.sqlite, options.pollMs ?? 250, (error) =>
      core.accessLog.event({ level: "error", message: "reloading configuration failed", error: String(error) }),
    );
  }
  if (options.configWarnings ?? true) {
    const warnUpstreamTls = upstreamTlsWarner((fields) => core.accessLog.event(fields));
    warnUpstreamTls(core.state.current.upstreamTls);
    core.state.onChange((snapshot) => warnUpstreamTls(snapshot.upstreamTls));
  }
  const pool = new ConnectionPool(options.upstreamMaxConnections);
  // Health checks run where requests are proxied: each serving process keeps its own view.
  core.state.health.onFlip(({ upstream, target, healthy, why }) =>
    core.accessLog.event({ level: healthy ? "info" : "warn", message: `target ${target} of upstream ${upstream} is now ${healthy ? "healthy" : "unhealthy"}`, reason: why }),
  );
  const activeChecks = new ActiveHealthChecks();
  activeChecks.update(core.state.current.balancers);
  core.state.onChange((snapshot) => activeChecks.update(snapshot.balancers));
  const shared = {
    pool,
    state: core.state,
    metrics: core.metrics,
    accessLog: core.accessLog,
    builtins: options.builtins ?? keystoreEndpoints,
    reusePort: options.reusePort,
    trustedIps: parseTrustedIps(options.trustedIps),
  };
  const tlsListen = options.proxyListenTls ?? null;
  let tlsProxy: ProxyListener | null = null;
  let plain: ProxyListener | null = null;
  try {
    if (tlsListen) {
      if (!options.tlsDefault) throw new Error("a TLS proxy listener needs its default certificate (tlsDefault)");
      tlsProxy = start({ ...shared, ...tlsListen, tls: { fallback: options.tlsDefault } });
    }
    if (options.proxyListen) plain = start({ ...shared, ...options.proxyListen, httpsPort: () => tlsProxy?.port ?? null });
  } catch (error) {
    void tlsProxy?.close();
    activeChecks.stop();
    core.state.stop();
    core.accessLog.close();
    core.opened.sqlite.close();
    throw error;
  }
  const listeners = [plain, tlsProxy].filter((listener): listener is ProxyListener => listener !== null);
  if (listeners.length === 0) throw new Error("no proxy listener: give --proxy-listen or --proxy-listen-tls");
  const proxy = listeners[0]!;
  const address = plain ? options.proxyListen! : tlsListen!;
  return {
    ...core,
    proxy,
    tlsProxy,
    pool,
    proxyUrl: `${plain ? "http" : "https"}://${address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname}:${proxy.port}`,
    async stop(graceMs = 10_000, lingerMs = 0) {
      core.state.stop();
      activeChecks.stop();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const drained = Promise.all(listeners.map((listener) => listener.drain(Math.min(lingerMs, graceMs))));
      await Promise.race([drained, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
      // What is still in flight after the grace period is cut, upstream exchanges included, so
      // a slow upstream cannot hold the process open.
      pool.closeAll();
      await Promise.all(listeners.map((listener) => listener.close()));
      core.accessLog.close();
      core.opened.sqlite.close();
    },
  };
}
