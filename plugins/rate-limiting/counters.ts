// The two counter stores of rate-limiting. Both answer one question per request: how many
// requests each configured window had already let through, and whether this one is refused
// (then it is not counted, as in Kong). `local`: a Map in this process (per worker), no I/O.
// `cluster`: rows of rate_limiting_counters in the gateway's database, one IMMEDIATE
// transaction of conditional upserts per request, so processes on one file share a limit exactly.
import type { Database, Statement } from "bun:sqlite";
import { windowEnd, windowStart } from "./windows.ts";

/** Usage before this request, per configured period (same order as `periods`), filled in by `take`. */
export interface Usage {
  readonly used: number[];
  readonly starts: number[];
  /** Index (into the configured periods) of a window that is full, or -1: the request may go. */
  stop: number;
}

/** A Usage for `periodCount` periods, to be filled by every `take` of one plugin instance. */
export function usageFor(periodCount: number): Usage {
  return { used: new Array(periodCount).fill(0), starts: new Array(periodCount).fill(0), stop: -1 };
}

export interface CounterStore {
  /**
   * Fills `usage` for this request. `periods` are indexes into PERIODS, ascending; `limits`
   * beside them. Synchronous, so one Usage per instance serves every request. Throws if storage fails.
   */
  take(scope: string, identifier: string, periods: readonly number[], limits: readonly number[], now: number, usage: Usage): void;
}

// ---- local ------------------------------------------------------------------------------

interface LocalCounter {
  /** By PERIODS index: the window start each count belongs to. */
  starts: number[];
  counts: number[];
  /** When every window of this counter is over. */
  expires: number;
}

const SWEEP_MS = 10_000;

/**
 * The most identifiers one process counts at a time. An identifier can be the client's
 * choice (limit_by header, the IPs of an IPv6 prefix, a path), and with a `day` or longer
 * window a counter lives that long: without a bound a client that varies it grows this map
 * until the process dies. Kong's local policy has the same bound in its fixed-size shared dict.
 * About 200 bytes each, identifiers being at most IDENTIFIER_MAX_LENGTH (handler.ts).
 */
export const MAX_LOCAL_COUNTERS = 100_000;

/** In-process counters, shared by every instance (a reload keeps them; keys carry the plugin's scope). */
export class LocalCounters implements CounterStore {
  /** By scope, then identifier: no key string is built per request. */
  private readonly scopes = new Map<string, Map<string, LocalCounter>>();
  private nextSweep = 0;
  private count = 0;

  constructor(private readonly maxCounters = MAX_LOCAL_COUNTERS) {}

  take(scope: string, identifier: string, periods: readonly number[], limits: readonly number[], now: number, usage: Usage): void {
    if (now >= this.nextSweep) this.sweep(now);
    let counters = this.scopes.get(scope);
    if (!counters) this.scopes.set(scope, (counters = new Map()));
    let counter = counters.get(identifier);
    if (!counter) {
      if (this.count >= this.maxCounters) {
        this.makeRoom(scope, now);
        // The sweep drops scopes it empties, this one perhaps.
        counters = this.scopes.get(scope);
        if (!counters) this.scopes.set(scope, (counters = new Map()));
      }
      counters.set(identifier, (counter = { starts: [0, 0, 0, 0, 0, 0], counts: [0, 0, 0, 0, 0, 0], expires: 0 }));
      this.count++;
    }
    const { used, starts } = usage;
    let stop = -1;
    for (let i = 0; i < periods.length; i++) {
      const p = periods[i]!;
      const start = windowStart(p, now);
      if (counter.starts[p] !== start) {
        counter.starts[p] = start;
        counter.counts[p] = 0;
        const end = windowEnd(p, start);
        if (end > counter.expires) counter.expires = end;
      }
      starts[i] = start;
      used[i] = counter.counts[p]!;
      if (limits[i]! - used[i]! <= 0) stop = i;
    }
    if (stop < 0) for (const p of periods) counter.counts[p]!++;
    usage.stop = stop;
  }

  /**
   * Full: ended counters go first, then the oldest of the scope that needs the room (Kong's
   * shared dict evicts too), so a client flooding one route with new identifiers resets
   * counters of that route only, not every other route's.
   */
  private makeRoom(scope: string, now: number): void {
    this.sweep(now);
    if (this.count < this.maxCounters) return;
    // Each scope left after the sweep holds a counter; the first is the oldest scope.
    const own = this.scopes.get(scope);
    const [from, counters] = own ? [scope, own] : this.scopes.entries().next().value!;
    counters.delete(counters.keys().next().value!);
    if (counters.size === 0) this.scopes.delete(from);
    this.count--;
  }

  private sweep(now: number): void {
    this.nextSweep = now + SWEEP_MS;
    for (const [scope, counters] of this.scopes) {
      for (const [identifier, counter] of counters) {
        if (counter.expires <= now) {
          counters.delete(identifier);
          this.count--;
        }
      }
      if (counters.size === 0) this.scopes.delete(scope);
    }
  }

  /** For tests: how many identifiers are counted. */
  get size(): number {
    return this.count;
  }
}

export const localCounters = new LocalCounters();

// ---- cluster ----------------------------------------------------------------------------

/** How long a counter transaction waits for another process's write lock (the event loop blocks meanwhile). */
export const CLUSTER_BUSY_TIMEOUT_MS = 100;
/** Rows of past windows are deleted at most this often per process. */
export const CLUSTER_SWEEP_MS = 1000;

const STOPPED = Symbol("window full");

class ClusterCounters implements CounterStore {
  private readonly increment: Statement<{ value: number }, [string, string, number, number, number, number]>;
  private readonly read: Statement<{ value: number }, [string, string, number, number]>;
  private readonly sweepStatement: Statement<unknown, [number]>;
  private readonly shortWait: string;
  private readonly normalWait: string;
  private readonly transaction: (scope: string, identifier: string, periods: readonly number[], limits: readonly number[], now: number, usage: Usage) => void;
  private nextSweep = 0;

  constructor(private readonly db: Database) {
    // The period is stored by name, as Kong's ratelimiting_metrics does.
    this.increment = db.query(
      `INSERT INTO rate_limiting_counters (scope, identifier, period, period_start, value, expires_at)
       VALUES (?1, ?2, (SELECT CASE ?3 WHEN 0 THEN 'second' WHEN 1 THEN 'minute' WHEN 2 THEN 'hour' WHEN 3 THEN 'day' WHEN 4 THEN 'month' ELSE 'year' END), ?4, 1, ?5)
       ON CONFLICT (scope, identifier, period, period_start) DO UPDATE SET value = value + 1 WHERE value < ?6
       RETURNING value`,
    );
    this.read = db.query(
      `SELECT value FROM rate_limiting_counters WHERE scope = ?1 AND identifier = ?2
       AND period = (SELECT CASE ?3 WHEN 0 THEN 'second' WHEN 1 THEN 'minute' WHEN 2 THEN 'hour' WHEN 3 THEN 'day' WHEN 4 THEN 'month' ELSE 'year' END) AND period_start = ?4`,
    );
    this.sweepStatement = db.query("DELETE FROM rate_limiting_counters WHERE expires_at <= ?1");
    const original = db.query<{ timeout: number }, []>("PRAGMA busy_timeout").get()?.timeout ?? 5000;
    // Run as text each time: a prepared PRAGMA statement did not take effect on its first run.
    this.shortWait = `PRAGMA busy_timeout = ${CLUSTER_BUSY_TIMEOUT_MS}`;
    this.normalWait = `PRAGMA busy_timeout = ${Math.trunc(original)}`;
    this.transaction = db.transaction((scope, identifier, periods, limits, now, usage) => {
      for (let i = 0; i < periods.length; i++) {
        const p = periods[i]!;
        const start = windowStart(p, now);
        usage.starts[i] = start;
        const row = this.increment.get(scope, identifier, p, start, windowEnd(p, start), limits[i]!);
        if (row) usage.used[i] = row.value - 1;
        else {
          usage.used[i] = this.read.get(scope, identifier, p, start)?.value ?? 0;
          usage.stop = i;
        }
      }
      // A full window: nothing of this request is counted.
      if (usage.stop >= 0) throw STOPPED;
    }).immediate;
  }

  take(scope: string, identifier: string, periods: readonly number[], limits: readonly number[], now: number, usage: Usage): void {
    usage.stop = -1;
    this.db.run(this.shortWait);
    try {
      if (now >= this.nextSweep) {
        this.nextSweep = now + CLUSTER_SWEEP_MS;
        this.sweepStatement.run(now);
      }
      this.transaction(scope, identifier, periods, limits, now, usage);
    } catch (error) {
      if (error !== STOPPED) throw error;
    } finally {
      this.db.run(this.normalWait);
    }
  }
}

const clusterStores = new WeakMap<Database, ClusterCounters>();

/** The cluster counters of one database connection (statements prepared once). */
export function clusterCounters(db: Database): CounterStore {
  let store = clusterStores.get(db);
  if (!store) clusterStores.set(db, (store = new ClusterCounters(db)));
  return store;
}
