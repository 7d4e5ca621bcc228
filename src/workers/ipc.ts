// The messages between `gateway serve --workers N` (the supervisor) and its proxy workers, over
// the IPC channel of each child process. Nothing here is sent per request: logs go in the
// access log's 100 ms batches, metrics when the supervisor asks (a scrape) and once a second.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { TargetHealthRow } from "../balancer/metrics.ts";
import type { Address } from "../cli/command.ts";
import type { MetricsSnapshot } from "../metrics.ts";
import type { StateData } from "../state/data.ts";
import type { Snapshot } from "../state/snapshot.ts";
import type { PemPair } from "../tls/server-certificates.ts";
import type { ProxyEngine } from "../proxy/engine.ts";

/** The hidden argument that makes `gateway serve` a worker: `gateway serve --worker-process 2`. */
export const WORKER_FLAG = "--worker-process";

/** What a worker needs to load its state the way a single process would, and to serve. */
export interface WorkerSetup {
  /** SQLite file (database mode, polled like a single process), or ":memory:" (declarative mode). */
  db: string;
  /** The ports are the ones the supervisor checked and every worker binds with SO_REUSEPORT; null: off. */
  proxyListen: Address | null;
  proxyListenTls?: Address | null;
  /** The TLS listener's default certificate (the same in every worker). */
  tlsDefault?: PemPair;
  /** `off`, `stdout` (batches sent to the supervisor, which writes them) or a file (appended to directly). */
  accessLog: string;
  drainMs: number;
  lingerMs: number;
  upstreamMaxConnections: number;
  trustedIps?: string;
  /** `--proxy-engine`, as the supervisor read it (absent from an older build's setup: the default). */
  proxyEngine?: ProxyEngine;
}

export type ToWorker =
  /** The first message: the worker starts listening only once it has its state. */
  | { type: "init"; id: number; setup: WorkerSetup; state?: StateData }
  /** Declarative mode: the whole stored state after a change (SIGHUP, POST /config). */
  | { type: "state"; seq: number; state: StateData }
  /** Database mode: the supervisor has seen a change; look at the database now rather than at the next poll. */
  | { type: "sync"; seq: number }
  /** Database mode SIGHUP: rebuild the snapshot from the database, changed or not. */
  | { type: "reload"; seq: number }
  /** The admin API's manual override of a target's health (PUT .../healthy|unhealthy). */
  | { type: "health"; seq: number; upstream: string; target: string; healthy: boolean }
  | { type: "collect"; seq: number };

/** The messages each answered with `applied` once the worker serves the result. */
export type ConfigMessage = Extract<ToWorker, { type: "state" | "sync" | "reload" | "health" }>;

/** What a worker tells about itself: the supervisor keeps the latest, and sums the counters. */
export interface WorkerReport {
  metrics: MetricsSnapshot;
  configVersion: number;
  configDigest: string;
  inFlight: number;
  rssBytes: number;
  /** Each target's health as this worker sees it (absent from a worker of an older build). */
  targets?: TargetHealthRow[];
}

export type FromWorker =
  | { type: "ready"; port: number }
  | { type: "failed"; reason: string }
  | { type: "log"; text: string }
  | { type: "applied"; seq: number }
  /** `seq` answers a collect; 0 is the worker's own once-a-second report. */
  | { type: "report"; seq: number; report: WorkerReport };

/**
 * How this executable starts itself again. The compiled binary is its own entry point (its
 * modules live under Bun's virtual /$bunfs root, B:/~BUN on Windows); run from source,
 * process.execPath is bun and the entry point is main.ts beside this folder.
 */
export function selfInvocation(main: string = Bun.main): string[] {
  const compiled = main.startsWith("/$bunfs/") || /^[A-Za-z]:[\\/]~BUN[\\/]/.test(main);
  return compiled ? [process.execPath] : [process.execPath, join(import.meta.dir, "../main.ts")];
}

/**
 * The file to start a worker from: on Linux /proc/self/exe, the executable this process runs,
 * so that a worker restarted after the file was replaced in place (an upgrade) is the same build
 * as its supervisor, speaking the same IPC, where process.execPath would name the new file, or
 * a "(deleted)" path that cannot be started.
 */
export function runningExecutable(): string {
  return process.platform === "linux" && existsSync("/proc/self/exe") ? "/proc/self/exe" : process.execPath;
}

const digests = new WeakMap<Snapshot, string>();

/**
 * A short fingerprint of the configuration a snapshot was built from: equal in every process
 * that serves the same entities, whatever each one's own config_version counter says.
 */
export function configDigest(snapshot: Snapshot): string {
  let digest = digests.get(snapshot);
  if (digest === undefined) {
    digest = Bun.hash(JSON.stringify(snapshot.data)).toString(16).padStart(16, "0");
    digests.set(snapshot, digest);
  }
  return digest;
}
