// What the admin API is given by whoever starts it (serve, demo, tests).
import type { TargetHealthRow } from "../balancer/metrics.ts";
import type { Store } from "../db/store.ts";
import type { Metrics } from "../metrics.ts";
import type { PluginRegistry } from "../pipeline/registry.ts";
import type { GatewayState } from "../state/gateway-state.ts";

export interface AdminDeps {
  store: Store;
  state: GatewayState;
  metrics: Metrics;
  /** "declarative": the state comes from a file; entity writes are refused, POST /config replaces it. */
  mode: "database" | "declarative";
  /** When set, every request but the documentation needs `Authorization: Bearer <adminToken>`. */
  adminToken?: string;
  version: string;
  registry: PluginRegistry;
  /** Epoch milliseconds the process started at. */
  startedAt: number;
  /** `serve --workers N`: the proxy runs in these worker processes, and /metrics and /status ask them. */
  workers?: WorkerPool;
}

/** The proxy workers of `serve --workers N`, as the admin API of their supervisor sees them. */
export interface WorkerPool {
  /** Each worker's counters, fresh from it; what workers that have exited had counted is under "exited". */
  metrics(): Promise<{ worker: string; metrics: Metrics }[]>;
  /** Each worker's process and configuration, fresh from it. */
  status(): Promise<WorkerStatus[]>;
  /** Resolves once every worker serves the configuration changes made so far. */
  settled(): Promise<void>;
  /** Each running worker's view of every target's health, fresh from it. */
  targetHealth(): Promise<{ worker: string; rows: TargetHealthRow[] }[]>;
  /** The manual healthy/unhealthy override, sent to every worker (answered once they applied it: `settled`). */
  setTargetHealth(upstreamId: string, targetId: string, healthy: boolean): void;
}

export interface WorkerStatus {
  id: number;
  pid: number | null;
  state: "starting" | "running" | "restarting" | "stopping" | "stopped";
  /** Epoch seconds the current process of this worker became ready. */
  started_at: number | null;
  restarts: number;
  /** How the previous process of this worker ended, e.g. "killed by SIGKILL". */
  last_exit: string | null;
  config_version: number | null;
  /** Equal across processes serving the same configuration (README "Workers"). */
  config_digest: string | null;
  in_flight: number | null;
  rss_bytes: number | null;
}
