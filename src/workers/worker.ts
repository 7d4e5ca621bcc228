// One proxy worker of `gateway serve --workers N`, a child process of the supervisor: the proxy
// listener (SO_REUSEPORT, shared with its siblings) over the same state a single process loads
// — the database file, polled, or the declarative state the supervisor sends. It answers the
// supervisor's IPC (configuration changes, metric collection) and drains on SIGTERM as `serve`.
import { targetHealthRows } from "../balancer/metrics.ts";
import type { Database } from "bun:sqlite";
import { listenError } from "../cli/listen-error.ts";
import { MEMORY } from "../db/connection.ts";
import { UsageError, describeError } from "../errors.ts";
import { type RunningProxy, startCoreWithProxy } from "../gateway.ts";
import { openAccessLog } from "../proxy/access-log.ts";
import { type ConfigMessage, type FromWorker, type ToWorker, type WorkerReport, WORKER_FLAG, configDigest } from "./ipc.ts";

const INIT_TIMEOUT_MS = 10_000;
const REPORT_EVERY_MS = 1000;
/** As a single process polls (src/gateway.ts). */
const POLL_MS = 250;

function send(message: FromWorker, then?: () => void): void {
  if (!process.connected) {
    then?.();
    return;
  }
  try {
    process.send!(message, undefined, {}, then ? () => then() : undefined);
  } catch {
    then?.();
  }
}

function reportOf(gateway: RunningProxy): WorkerReport {
  return {
    metrics: gateway.metrics.snapshot(),
    configVersion: gateway.state.current.version,
    configDigest: configDigest(gateway.state.current),
    inFlight: gateway.proxy.pendingRequests + (gateway.tlsProxy && gateway.tlsProxy !== gateway.proxy ? gateway.tlsProxy.pendingRequests : 0),
    rssBytes: process.memoryUsage.rss(),
    targets: targetHealthRows(gateway.state.current.balancers),
  };
}

/**
 * Database mode: the single process's poll of SQLite's data_version, which the supervisor can
 * also ask for at once after a write of its own, so that no change is rebuilt twice.
 */
class DatabaseWatcher {
  private seen: number | undefined;
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(
    private readonly sqlite: Database,
    private readonly gateway: RunningProxy,
  ) {
    this.seen = this.version();
    this.timer = setInterval(() => this.check(), POLL_MS);
    this.timer.unref();
  }

  private version(): number | undefined {
    return this.sqlite.query<{ data_version: number }, []>("PRAGMA data_version").get()?.data_version;
  }

  /** Rebuilds when another connection has committed since the last look (or always, with `force`). */
  check(force = false): void {
    try {
      const version = this.version();
      if (version === this.seen && !force) return;
      this.seen = version;
      this.gateway.state.reload();
    } catch (error) {
      this.gateway.accessLog.event({ level: "error", message: "reloading configuration failed", error: describeError(error) });
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** Runs until SIGTERM/SIGINT or the supervisor goes away; the process exits when done. */
export async function runWorker(idText: string | undefined): Promise<number> {
  if (!process.send || !idText) throw new UsageError(`${WORKER_FLAG} is how gateway serve --workers N starts its workers; it is not run by hand`);

  let gateway: RunningProxy | undefined;
  let watcher: DatabaseWatcher | undefined;
  /** Configuration messages that arrived before the listener was up, applied right after. */
  const early: ConfigMessage[] = [];
  let resolveInit: (init: Extract<ToWorker, { type: "init" }>) => void = () => {};
  const initialised = new Promise<Extract<ToWorker, { type: "init" }>>((resolve) => (resolveInit = resolve));

  const apply = (message: ConfigMessage) => {
    const running = gateway!;
    if (message.type === "health") {
      for (const balancer of running.state.current.balancers.values()) {
        if (balancer.upstream.id !== message.upstream) continue;
        balancer.peers.find((peer) => peer.target.id === message.target)?.health.set(message.healthy);
      }
    } else if (message.type === "state") {
      try {
        running.store.replaceAll(message.state);
      } catch (error) {
        running.accessLog.event({ level: "error", message: "applying the configuration sent by the supervisor failed; keeping the previous one", error: describeError(error) });
      }
    } else watcher?.check(message.type === "reload");
    send({ type: "applied", seq: message.seq });
  };
  process.on("message", (message: ToWorker) => {
    switch (message.type) {
      case "init":
        return resolveInit(message);
      case "state":
      case "sync":
      case "reload":
      case "health":
        if (gateway) apply(message);
        else early.push(message);
        return;
      case "collect":
        if (gateway) send({ type: "report", seq: message.seq, report: reportOf(gateway) });
        return;
    }
  });
  // The supervisor owns the declarative file and forwards reloads; a SIGHUP sent to the whole
  // process group (a closing terminal) must not end the worker.
  process.on("SIGHUP", () => {});

  const timeout = setTimeout(() => {
    process.stderr.write(`gateway worker ${idText}: no instructions from the supervisor within ${INIT_TIMEOUT_MS / 1000} s\n`);
    process.exit(1);
  }, INIT_TIMEOUT_MS);
  const { id, setup, state } = await initialised;
  clearTimeout(timeout);

  const accessLog = openAccessLog(setup.accessLog, { worker: id, stdout: (text) => send({ type: "log", text }) });
  try {
    gateway = startCoreWithProxy({
      db: setup.db,
      proxyListen: setup.proxyListen,
      proxyListenTls: setup.proxyListenTls,
      tlsDefault: setup.tlsDefault,
      accessLog,
      reusePort: true,
      trustedIps: setup.trustedIps,
      upstreamMaxConnections: setup.upstreamMaxConnections,
      proxyEngine: setup.proxyEngine,
      // Every worker loads the same configuration: one says what is wrong with it.
      configWarnings: id === 1,
    });
  } catch (error) {
    const { hostname, port } = (setup.proxyListen ?? setup.proxyListenTls)!;
    const reason = listenError(error, "proxy listener", `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`).message;
    send({ type: "failed", reason }, () => process.exit(1));
    return new Promise(() => {});
  }
  const running = gateway;
  if (setup.db !== MEMORY) {
    // The composition root's own poll is replaced by one the supervisor can also trigger.
    running.state.stop();
    watcher = new DatabaseWatcher(running.opened.sqlite, running);
  }
  // Still within this task, so no request is handled before the state is in place.
  if (state) running.store.replaceAll(state);
  for (const message of early.splice(0)) apply(message);
  send({ type: "ready", port: running.proxy.port });
  const reporter = setInterval(() => send({ type: "report", seq: 0, report: reportOf(running) }), REPORT_EVERY_MS);
  reporter.unref();

  return new Promise<number>(() => {
    let stopping = false;
    const shutdown = async () => {
      if (stopping) return;
      stopping = true;
      clearInterval(reporter);
      watcher?.stop();
      await running.stop(setup.drainMs, setup.lingerMs);
      // The last counters and log lines reach the supervisor before the process goes.
      send({ type: "report", seq: 0, report: reportOf(running) }, () => process.exit(0));
      setTimeout(() => process.exit(0), 1000).unref();
    };
    process.on("SIGTERM", () => void shutdown());
    process.on("SIGINT", () => void shutdown());
    // The supervisor is gone (even kill -9): finish what is in flight and go too.
    process.on("disconnect", () => void shutdown());
  });
}
