// What the admin API is given by whoever starts it (serve, demo, tests).
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
}
