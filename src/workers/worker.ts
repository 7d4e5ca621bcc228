// One proxy worker of `gateway serve --workers N`, a child process of the supervisor: the proxy
// listener (SO_REUSEPORT, shared with its siblings) over the same state a single process loads
// — the database file, polled, or the declarative state the supervisor sends. It answers the
// supervisor's IPC (state pushes, reloads, metric collection) and drains on SIGTERM as `serve`.
import { listenError } from "../cli/listen-error.ts";
import { UsageError, describeError } from "../errors.ts";
import { type RunningProxy, startCoreWithProxy } from "../gateway.ts";
import { openAccessLog } from "../proxy/access-log.ts";
import { upstreamPool } from "../proxy/upstream/pool.ts";
import type { StateData } from "../state/data.ts";
import { type FromWorker, type ToWorker, type WorkerReport, WORKER_FLAG, configDigest } from "./ipc.ts";

const INIT_TIMEOUT_MS = 10_000;
const REPORT_EVERY_MS = 1000;

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
    inFlight: gateway.proxy.server.pendingRequests,
    rssBytes: process.memoryUsage.rss(),
  };
}

/** Runs until SIGTERM/SIGINT or the supervisor goes away; the process exits when done. */
export async function runWorker(idText: string | undefined): Promise<number> {
  if (!process.send || !idText) throw new UsageError(`${WORKER_FLAG} is how gateway serve --workers N starts its workers; it is not run by hand`);

  let gateway: RunningProxy | undefined;
  let pendingState: StateData | undefined;
  let resolveInit: (init: Extract<ToWorker, { type: "init" }>) => void = () => {};
  const initialised = new Promise<Extract<ToWorker, { type: "init" }>>((resolve) => (resolveInit = resolve));

  const apply = (state: StateData) => {
    try {
      gateway!.store.replaceAll(state);
    } catch (error) {
      gateway!.accessLog.event({ level: "error", message: "applying the configuration sent by the supervisor failed; keeping the previous one", error: describeError(error) });
    }
  };
  process.on("message", (message: ToWorker) => {
    switch (message.type) {
      case "init":
        return resolveInit(message);
      case "state":
        if (gateway) apply(message.state);
        else pendingState = message.state;
        return;
      case "reload":
        try {
          gateway?.state.reload();
        } catch (error) {
          gateway?.accessLog.event({ level: "error", message: "reloading configuration failed", error: describeError(error) });
        }
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

  upstreamPool.setMaxPerUpstream(setup.upstreamMaxConnections);
  const accessLog = openAccessLog(setup.accessLog, { worker: id, stdout: (text) => send({ type: "log", text }) });
  try {
    gateway = startCoreWithProxy({ db: setup.db, proxyListen: setup.proxyListen, accessLog, reusePort: true });
  } catch (error) {
    const { hostname, port } = setup.proxyListen;
    const reason = listenError(error, "proxy listener", `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`).message;
    send({ type: "failed", reason }, () => process.exit(1));
    return new Promise(() => {});
  }
  // Still within this task, so no request is handled before the state is in place.
  if (state) apply(state);
  if (pendingState) apply(pendingState);
  const running = gateway;
  send({ type: "ready", port: running.proxy.port });
  const reporter = setInterval(() => send({ type: "report", seq: 0, report: reportOf(running) }), REPORT_EVERY_MS);
  reporter.unref();

  return new Promise<number>(() => {
    let stopping = false;
    const shutdown = async () => {
      if (stopping) return;
      stopping = true;
      clearInterval(reporter);
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
