// `gateway serve`: proxy and admin listeners over a database file or a declarative file; with
// `--workers N` (N > 1) the proxy runs in N worker processes and this one supervises them
// (src/workers/), keeping the admin listener and the declarative file.
import { readFileSync } from "node:fs";
import type { AdminDeps } from "../admin/deps.ts";
import { startAdminServer } from "../admin/server.ts";
import { parseDeclarative } from "../config/declarative.ts";
import { MEMORY } from "../db/connection.ts";
import { UsageError, describeError } from "../errors.ts";
import { type CoreGateway, openCore, startCoreWithProxy } from "../gateway.ts";
import { parseTrustedIps } from "../proxy/client-address.ts";
import { type ProxyEngine, chosenProxyEngine } from "../proxy/engine.ts";
import { DEFAULT_MAX_CONNECTIONS_PER_UPSTREAM } from "../proxy/upstream/pool.ts";
import { VERSION } from "../version.ts";
import { workerCount } from "../workers/count.ts";
import { Supervisor, reservePort } from "../workers/supervisor.ts";
import { type Address, type Command, flagOrEnv, formatAddress, isLoopback, parseAddress, parseFlags } from "./command.ts";
import { listenError } from "./listen-error.ts";
import { type ListenerTls, adminExposureWarning, listenerTls, withTlsDefault } from "./tls-options.ts";

const usage = `Usage: gateway serve [options]

Runs the proxy and the admin API.

Options (each also read from GATEWAY_<FLAG>, e.g. GATEWAY_DB; flags win):
  --config FILE          declarative mode: the YAML/JSON file is the whole state (DB-less);
                         SIGHUP reloads it
  --db FILE              SQLite database (default ./gateway.db)
  --proxy-listen ADDR|off
                         plain-HTTP proxy listener (default 0.0.0.0:8000)
  --proxy-listen-tls ADDR
                         TLS proxy listener (Kong's "ssl" listener, e.g. 0.0.0.0:8443);
                         certificates by SNI from the certificates/snis entities
  --tls-cert FILE --tls-key FILE
                         PEM chain and key for handshakes no certificate entity answers
                         (default: a self-signed localhost certificate made at start)
  --admin-listen ADDR|off
                         admin API listener (default 127.0.0.1:8001)
  --admin-listen-tls ADDR
                         admin API over TLS instead (with --admin-tls-cert/--admin-tls-key,
                         default: --tls-cert/--tls-key)
  --admin-token TOKEN    require "Authorization: Bearer TOKEN" on the admin API
                         (mandatory when --admin-listen is not a loopback address)
  --access-log TARGET    off | stdout | FILE (default stdout)
  --drain-timeout SECONDS
                         on SIGTERM/SIGINT, how long requests in flight may take to
                         finish before they are cut (default 10)
  --upstream-max-connections N
                         open connections per upstream host:port; requests beyond
                         wait for one (default 1024)
  --trusted-ips LIST     comma-separated IPs/CIDRs of proxies whose X-Forwarded-For
                         names the client (default none: the peer is the client)
  --workers N|auto       proxy processes sharing the proxy port (Linux SO_REUSEPORT);
                         auto: one per available core (default auto; 1 off Linux)
  --proxy-engine serve|raw
                         the proxy listeners' socket layer: raw (Bun.listen with the
                         gateway's own HTTP/1.1 handling, default) or serve (Bun.serve)
  -h, --help             this help
`;

function readConfig(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new Error(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? describeError(error)}`);
  }
}

// Long enough for a request a keep-alive client sent just before the signal to arrive and be
// answered with Connection: close, rather than meet a closed connection (README "Running it").
const DRAIN_LINGER_MS = 250;

function wholeNumber(text: string, flag: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) throw new UsageError(`${flag} ${text}: expected a whole number from ${min} to ${max}`);
  return value;
}

interface ServeOptions extends ListenerTls {
  configPath: string | undefined;
  dbPath: string;
  proxyText: string;
  adminText: string;
  proxyListen: Address | null;
  adminListen: Address;
  adminToken: string | undefined;
  accessLog: string;
  drainMs: number;
  upstreamMaxConnections: number;
  workers: number;
  trustedIps: string | undefined;
  proxyEngine: ProxyEngine;
}

function serveOptions(values: Record<string, string | boolean | undefined>): ServeOptions {
  const value = (name: string) => values[name] as string | undefined;
  const configPath = flagOrEnv(value("config"), "config");
  const proxyText = flagOrEnv(value("proxy-listen"), "proxy-listen", "0.0.0.0:8000")!;
  const tls = listenerTls(values);
  const adminText = tls.adminTls ? tls.adminTlsText! : flagOrEnv(value("admin-listen"), "admin-listen", "127.0.0.1:8001")!;
  const options: ServeOptions = {
    ...tls,
    configPath,
    dbPath: configPath ? MEMORY : flagOrEnv(value("db"), "db", "./gateway.db")!,
    proxyText,
    adminText,
    proxyListen: proxyText === "off" ? null : parseAddress(proxyText, "--proxy-listen"),
    adminListen: tls.adminTls ? tls.adminTls.address : parseAddress(adminText, "--admin-listen"),
    adminToken: flagOrEnv(value("admin-token"), "admin-token") || undefined,
    accessLog: flagOrEnv(value("access-log"), "access-log", "stdout")!,
    drainMs: wholeNumber(flagOrEnv(value("drain-timeout"), "drain-timeout", "10")!, "--drain-timeout", 0, 3600) * 1000,
    upstreamMaxConnections: wholeNumber(flagOrEnv(value("upstream-max-connections"), "upstream-max-connections", String(DEFAULT_MAX_CONNECTIONS_PER_UPSTREAM))!, "--upstream-max-connections", 1, 1_000_000),
    workers: workerCount(flagOrEnv(value("workers"), "workers", "auto")!),
    trustedIps: flagOrEnv(value("trusted-ips"), "trusted-ips"),
    proxyEngine: chosenProxyEngine(value("proxy-engine")),
  };
  try {
    parseTrustedIps(options.trustedIps);
  } catch (error) {
    throw new UsageError(`--trusted-ips: ${(error as Error).message}`);
  }
  if (!options.proxyListen && !options.proxyTls) throw new UsageError("--proxy-listen off needs --proxy-listen-tls: the proxy must listen somewhere");
  const adminFlag = options.adminTls ? "--admin-listen-tls" : "--admin-listen";
  if (!isLoopback(options.adminListen.hostname) && !options.adminToken) {
    throw new UsageError(`${adminFlag} ${adminText} is not a loopback address: set --admin-token (or GATEWAY_ADMIN_TOKEN) to expose the admin API`);
  }
  const warning = adminExposureWarning(options.adminListen, adminText, options.adminTls !== null);
  if (warning) process.stderr.write(`warning: ${warning}\n`);
  return options;
}

export const serveCommand: Command = {
  name: "serve",
  summary: "run the gateway (proxy + admin API)",
  usage,
  async run(argv) {
    const { values } = parseFlags(argv, {
      config: { type: "string" },
      db: { type: "string" },
      "proxy-listen": { type: "string" },
      "admin-listen": { type: "string" },
      "proxy-listen-tls": { type: "string" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      "admin-listen-tls": { type: "string" },
      "admin-tls-cert": { type: "string" },
      "admin-tls-key": { type: "string" },
      "admin-token": { type: "string" },
      "access-log": { type: "string" },
      "drain-timeout": { type: "string" },
      "upstream-max-connections": { type: "string" },
      workers: { type: "string" },
      "trusted-ips": { type: "string" },
      "proxy-engine": { type: "string" },
    });
    if (values.help) {
      process.stdout.write(usage);
      return 0;
    }
    const options = await withTlsDefault(serveOptions(values));
    return options.workers > 1 ? serveWithWorkers(options) : serveOneProcess(options);
  },
};

/** `--workers 1`: proxy and admin listeners in this process. */
/** What the admin API of this process reads: the core's store, state and metrics. */
function adminDeps(core: CoreGateway, configPath: string | undefined, adminToken: string | undefined): AdminDeps {
  return {
    store: core.store,
    state: core.state,
    metrics: core.metrics,
    mode: configPath ? "declarative" : "database",
    adminToken,
    version: VERSION,
    registry: core.registry,
    startedAt: Date.now(),
  };
}

async function serveOneProcess(options: ServeOptions): Promise<number> {
  const { configPath, dbPath, proxyText, adminText, proxyListen, adminListen, adminToken, accessLog, drainMs, upstreamMaxConnections, trustedIps, proxyEngine } = options;
  let gateway: ReturnType<typeof startCoreWithProxy>;
  try {
    gateway = startCoreWithProxy({ db: dbPath, proxyListen, proxyListenTls: options.proxyTls?.address, tlsDefault: options.proxyTls?.pair, accessLog, trustedIps, upstreamMaxConnections, proxyEngine });
  } catch (error) {
    throw listenError(error, "proxy listener", proxyListen ? proxyText : options.proxyTls!.text);
  }
  const reloadFile = () => gateway.store.replaceAll(parseDeclarative(readConfig(configPath!), gateway.registry, { previous: gateway.store.loadAll() }));
  try {
    if (configPath) reloadFile();
  } catch (error) {
    await gateway.stop(0);
    throw error;
  }
  let admin: Awaited<ReturnType<typeof startAdminServer>>;
  try {
    admin = await startAdminServer(adminDeps(gateway, configPath, adminToken), { ...adminListen, tls: options.adminTls?.pair });
  } catch (error) {
    await gateway.stop(0);
    throw listenError(error, "admin listener", adminText);
  }

  const mode = configPath ? `declarative (${configPath})` : `database (${dbPath})`;
  process.stderr.write(
    `gateway ${VERSION} running in ${mode} mode\n` +
      (proxyListen ? `  proxy: ${formatAddress(proxyListen.hostname, gateway.proxy.port)}\n` : "") +
      (gateway.tlsProxy ? `  proxy: ${formatAddress(options.proxyTls!.address.hostname, gateway.tlsProxy.port, "https")}\n` : "") +
      `  admin: ${formatAddress(adminListen.hostname, admin.port, options.adminTls ? "https" : "http")}  (Swagger UI at /docs)\n`,
  );
  gateway.accessLog.event({ level: "info", message: "started", mode: configPath ? "declarative" : "database", proxy_port: proxyListen ? gateway.proxy.port : null, proxy_tls_port: gateway.tlsProxy?.port ?? null, admin_port: admin.port });

  if (configPath) {
    process.on("SIGHUP", () => {
      try {
        reloadFile();
        gateway.accessLog.event({ level: "info", message: "configuration reloaded", file: configPath, version: gateway.state.current.version });
      } catch (error) {
        gateway.accessLog.event({ level: "error", message: "configuration reload failed; keeping the previous configuration", file: configPath, error: describeError(error) });
        process.stderr.write(`reload of ${configPath} failed, previous configuration kept: ${describeError(error)}\n`);
      }
    });
  } else {
    // Database mode polls the file anyway; SIGHUP rebuilds now, as with --workers, rather than
    // taking the signal's default action and ending the process.
    process.on("SIGHUP", () => {
      try {
        gateway.state.reload();
        gateway.accessLog.event({ level: "info", message: "configuration reloaded", db: dbPath, version: gateway.state.current.version });
      } catch (error) {
        gateway.accessLog.event({ level: "error", message: "configuration reload failed; keeping the previous configuration", db: dbPath, error: describeError(error) });
      }
    });
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      gateway.accessLog.event({ level: "info", message: `${signal}: draining in-flight requests`, drain_timeout_s: drainMs / 1000 });
      await Promise.all([admin.stop(drainMs), gateway.stop(drainMs, DRAIN_LINGER_MS)]);
      // Everything is closed; whatever a library still holds must not keep the process past the drain.
      setTimeout(() => process.exit(0), 500).unref();
      resolve(0);
    };
    process.on("SIGTERM", () => void shutdown("SIGTERM"));
    process.on("SIGINT", () => void shutdown("SIGINT"));
  });
}

/**
 * `--workers N`: this process keeps the state (database or declarative file) and the admin
 * listener, and supervises N proxy workers sharing the proxy port (README "Workers").
 */
async function serveWithWorkers(options: ServeOptions): Promise<number> {
  const { configPath, dbPath, proxyText, adminText, proxyListen, adminListen, adminToken, accessLog, drainMs } = options;
  const core = openCore({ db: dbPath, accessLog });
  const closeCore = () => {
    core.state.stop();
    core.accessLog.close();
    core.opened.sqlite.close();
  };
  const reloadFile = () => core.store.replaceAll(parseDeclarative(readConfig(configPath!), core.registry, { previous: core.store.loadAll() }));
  let port: number;
  let tlsPort: number;
  try {
    if (configPath) reloadFile();
    else core.state.watch(core.opened.sqlite, 250, (error) => core.accessLog.event({ level: "error", message: "reloading configuration failed", error: String(error) }));
    try {
      port = proxyListen ? reservePort(proxyListen) : 0;
    } catch (error) {
      throw listenError(error, "proxy listener", proxyText);
    }
    try {
      tlsPort = options.proxyTls ? reservePort(options.proxyTls.address) : 0;
    } catch (error) {
      throw listenError(error, "TLS proxy listener", options.proxyTls!.text);
    }
  } catch (error) {
    closeCore();
    throw error;
  }
  const supervisor = new Supervisor({
    count: options.workers,
    setup: {
      db: dbPath,
      proxyListen: proxyListen ? { hostname: proxyListen.hostname, port } : null,
      proxyListenTls: options.proxyTls ? { hostname: options.proxyTls.address.hostname, port: tlsPort } : null,
      tlsDefault: options.proxyTls?.pair,
      accessLog, drainMs, lingerMs: DRAIN_LINGER_MS, upstreamMaxConnections: options.upstreamMaxConnections, trustedIps: options.trustedIps, proxyEngine: options.proxyEngine },
    state: configPath ? () => core.store.loadStored() : undefined,
    log: core.accessLog,
    stdout: (text) => process.stdout.write(text),
  });
  try {
    await supervisor.start();
  } catch (error) {
    closeCore();
    throw error;
  }
  // Whatever changes the state here goes to every worker: in declarative mode (SIGHUP, POST
  // /config) the stored state whole; in database mode (an admin write, or a commit this
  // process's poll found) a request to look at the database now.
  core.state.onChange(configPath ? () => supervisor.pushState(core.store.loadStored()) : () => supervisor.syncAll());
  let admin: Awaited<ReturnType<typeof startAdminServer>>;
  try {
    admin = await startAdminServer({ ...adminDeps(core, configPath, adminToken), workers: supervisor }, { ...adminListen, tls: options.adminTls?.pair });
  } catch (error) {
    await supervisor.stop(0);
    closeCore();
    throw listenError(error, "admin listener", adminText);
  }

  const mode = configPath ? `declarative (${configPath})` : `database (${dbPath})`;
  process.stderr.write(
    `gateway ${VERSION} running in ${mode} mode\n` +
      (proxyListen ? `  proxy: ${formatAddress(proxyListen.hostname, port)}\n` : "") +
      (options.proxyTls ? `  proxy: ${formatAddress(options.proxyTls.address.hostname, tlsPort, "https")}\n` : "") +
      `  admin: ${formatAddress(adminListen.hostname, admin.port, options.adminTls ? "https" : "http")}  (Swagger UI at /docs)\n` +
      `  workers: ${options.workers} (pids ${supervisor.pids().join(", ")}) sharing the proxy port\n`,
  );
  core.accessLog.event({ level: "info", message: "started", mode: configPath ? "declarative" : "database", proxy_port: proxyListen ? port : null, proxy_tls_port: options.proxyTls ? tlsPort : null, admin_port: admin.port, workers: options.workers });

  process.on("SIGHUP", () => {
    if (!configPath) {
      // Database mode: workers poll the file anyway; SIGHUP makes every process rebuild now.
      core.state.reload();
      supervisor.reloadAll();
      core.accessLog.event({ level: "info", message: "configuration reloaded from the database", version: core.state.current.version });
      return;
    }
    try {
      reloadFile();
      core.accessLog.event({ level: "info", message: "configuration reloaded", file: configPath, version: core.state.current.version });
    } catch (error) {
      core.accessLog.event({ level: "error", message: "configuration reload failed; keeping the previous configuration", file: configPath, error: describeError(error) });
      process.stderr.write(`reload of ${configPath} failed, previous configuration kept: ${describeError(error)}\n`);
    }
  });
  return new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      core.accessLog.event({ level: "info", message: `${signal}: draining in-flight requests`, drain_timeout_s: drainMs / 1000, workers: options.workers });
      await Promise.all([admin.stop(drainMs), supervisor.stop(drainMs)]);
      closeCore();
      setTimeout(() => process.exit(0), 500).unref();
      resolve(0);
    };
    process.on("SIGTERM", () => void shutdown("SIGTERM"));
    process.on("SIGINT", () => void shutdown("SIGINT"));
  });
}
