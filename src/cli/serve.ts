// `gateway serve`: proxy and admin listeners over a database file or a declarative file.
import { readFileSync } from "node:fs";
import { startAdminServer } from "../admin/server.ts";
import { parseDeclarative } from "../config/declarative.ts";
import { MEMORY } from "../db/connection.ts";
import { UsageError, describeError } from "../errors.ts";
import { startCoreWithProxy } from "../gateway.ts";
import { DEFAULT_MAX_CONNECTIONS_PER_UPSTREAM, upstreamPool } from "../proxy/upstream/pool.ts";
import { VERSION } from "../version.ts";
import { type Command, flagOrEnv, formatAddress, isLoopback, parseAddress, parseFlags } from "./command.ts";

const usage = `Usage: gateway serve [options]

Runs the proxy and the admin API.

Options (each also read from GATEWAY_<FLAG>, e.g. GATEWAY_DB; flags win):
  --config FILE          declarative mode: the YAML/JSON file is the whole state (DB-less);
                         SIGHUP reloads it
  --db FILE              SQLite database (default ./gateway.db)
  --proxy-listen ADDR    proxy listener (default 0.0.0.0:8000)
  --admin-listen ADDR    admin API listener (default 127.0.0.1:8001)
  --admin-token TOKEN    require "Authorization: Bearer TOKEN" on the admin API
                         (mandatory when --admin-listen is not a loopback address)
  --access-log TARGET    off | stdout | FILE (default stdout)
  --drain-timeout SECONDS
                         on SIGTERM/SIGINT, how long requests in flight may take to
                         finish before they are cut (default 10)
  --upstream-max-connections N
                         open connections per upstream host:port; requests beyond
                         wait for one (default 1024)
  -h, --help             this help
`;

function readConfig(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new Error(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? describeError(error)}`);
  }
}

function listenError(error: unknown, what: string, address: string): Error {
  const code = (error as { code?: string }).code;
  if (code === "EADDRINUSE") return new Error(`${what} ${address}: address already in use`);
  if (code === "EACCES") return new Error(`${what} ${address}: permission denied`);
  return new Error(`${what} ${address}: ${describeError(error)}`);
}

// Long enough for a request a keep-alive client sent just before the signal to arrive and be
// answered with Connection: close, rather than meet a closed connection (README "Running it").
const DRAIN_LINGER_MS = 250;

function wholeNumber(text: string, flag: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) throw new UsageError(`${flag} ${text}: expected a whole number from ${min} to ${max}`);
  return value;
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
      "admin-token": { type: "string" },
      "access-log": { type: "string" },
      "drain-timeout": { type: "string" },
      "upstream-max-connections": { type: "string" },
    });
    if (values.help) {
      process.stdout.write(usage);
      return 0;
    }
    const configPath = flagOrEnv(values.config, "config");
    const dbPath = configPath ? MEMORY : flagOrEnv(values.db, "db", "./gateway.db")!;
    const proxyText = flagOrEnv(values["proxy-listen"], "proxy-listen", "0.0.0.0:8000")!;
    const adminText = flagOrEnv(values["admin-listen"], "admin-listen", "127.0.0.1:8001")!;
    const proxyListen = parseAddress(proxyText, "--proxy-listen");
    const adminListen = parseAddress(adminText, "--admin-listen");
    const adminToken = flagOrEnv(values["admin-token"], "admin-token") || undefined;
    const accessLog = flagOrEnv(values["access-log"], "access-log", "stdout")!;
    const drainMs = wholeNumber(flagOrEnv(values["drain-timeout"], "drain-timeout", "10")!, "--drain-timeout", 0, 3600) * 1000;
    upstreamPool.setMaxPerUpstream(wholeNumber(flagOrEnv(values["upstream-max-connections"], "upstream-max-connections", String(DEFAULT_MAX_CONNECTIONS_PER_UPSTREAM))!, "--upstream-max-connections", 1, 1_000_000));
    if (!isLoopback(adminListen.hostname) && !adminToken) {
      throw new UsageError(`--admin-listen ${adminText} is not a loopback address: set --admin-token (or GATEWAY_ADMIN_TOKEN) to expose the admin API`);
    }

    let gateway: ReturnType<typeof startCoreWithProxy>;
    try {
      gateway = startCoreWithProxy({ db: dbPath, proxyListen, accessLog });
    } catch (error) {
      throw listenError(error, "proxy listener", proxyText);
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
      admin = await startAdminServer(
        {
          store: gateway.store,
          state: gateway.state,
          metrics: gateway.metrics,
          mode: configPath ? "declarative" : "database",
          adminToken,
          version: VERSION,
          registry: gateway.registry,
          startedAt: Date.now(),
        },
        adminListen,
      );
    } catch (error) {
      await gateway.stop(0);
      throw listenError(error, "admin listener", adminText);
    }

    const mode = configPath ? `declarative (${configPath})` : `database (${dbPath})`;
    process.stderr.write(
      `gateway ${VERSION} running in ${mode} mode\n` +
        `  proxy: ${formatAddress(proxyListen.hostname, gateway.proxy.port as number)}\n` +
        `  admin: ${formatAddress(adminListen.hostname, admin.port)}  (Swagger UI at /docs)\n`,
    );
    gateway.accessLog.event({ level: "info", message: "started", mode: configPath ? "declarative" : "database", proxy_port: gateway.proxy.port, admin_port: admin.port });

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
  },
};
