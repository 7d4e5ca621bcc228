// Holds the current snapshot and replaces it when the configuration changes. In database mode
// a timer polls SQLite's `data_version` (which moves when another connection commits) and then
// the configuration's own version (src/db/config-version.ts, which only entity writes move), so
// writes by the CLI or a second gateway show up within the poll interval, other processes'
// rate-limiting counters cost no rebuild, and no request ever reads the database.
import type { Database } from "bun:sqlite";
import { HealthBook } from "../balancer/health.ts";
import { configVersionReader } from "../db/config-version.ts";
import type { PluginRegistry } from "../pipeline/registry.ts";
import type { StateData } from "./data.ts";
import { type Snapshot, buildSnapshot } from "./snapshot.ts";

export type SnapshotListener = (snapshot: Snapshot) => void;

export class GatewayState {
  private snapshot: Snapshot;
  private readonly listeners: SnapshotListener[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  /** Targets' health, carried from each snapshot to the next. */
  readonly health = new HealthBook();

  constructor(
    private readonly load: () => StateData,
    private readonly registry: PluginRegistry,
    private readonly database?: Database,
  ) {
    this.snapshot = buildSnapshot(load(), registry, 1, database, this.health);
  }

  get current(): Snapshot {
    return this.snapshot;
  }

  onChange(listener: SnapshotListener): void {
    this.listeners.push(listener);
  }

  /** Rebuilds from the source. A failed rebuild keeps the previous snapshot. */
  reload(): Snapshot {
    const next = buildSnapshot(this.load(), this.registry, this.snapshot.version + 1, this.database, this.health);
    this.snapshot = next;
    for (const listener of this.listeners) listener(next);
    return next;
  }

  /** Polls the database for commits by other connections. */
  watch(sqlite: Database, intervalMs = 250, onError: (error: unknown) => void = () => {}): void {
    const dataVersion = sqlite.query<{ data_version: number }, []>("PRAGMA data_version");
    const readVersion = () => dataVersion.get()?.data_version;
    const readConfigVersion = configVersionReader(sqlite);
    let seen = readVersion();
    let seenConfig = readConfigVersion();
    this.timer = setInterval(() => {
      try {
        const version = readVersion();
        if (version === seen) return;
        seen = version;
        const configVersion = readConfigVersion();
        if (configVersion === seenConfig) return;
        seenConfig = configVersion;
        this.reload();
      } catch (error) {
        onError(error);
      }
    }, intervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
