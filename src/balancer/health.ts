// The health of one target as Kong's healthchecker keeps it: one set of counters (successes,
// HTTP failures, TCP failures, timeouts) fed by passive reports from proxied responses and by
// active probes, each source with its own thresholds (0: that counter is off). Reaching a
// threshold flips the state and resets the counters; a report of the opposite kind resets the
// counters it contradicts. Kept across configuration changes in a HealthBook, keyed by upstream
// and target, so a rebuilt balancer starts from what was already known.
import type { Healthchecks } from "../entities/upstream.ts";
import { activeEnabled, passiveEnabled } from "../entities/upstream.ts";

export type HealthReport = "HEALTHY" | "UNHEALTHY" | "HEALTHCHECKS_OFF" | "DNS_ERROR";

type Source = "active" | "passive";

/** How long a name that did not resolve keeps its target out (Kong's dns_not_found_ttl). */
export const DNS_NOT_FOUND_TTL_MS = 30_000;

const GOOD = 1;
const BAD = 2;
const tables = new WeakMap<object, Uint8Array>();

/** Each status (100-999) of a check's lists, GOOD or BAD: one lookup per proxied response. */
function statusTable(check: { healthy: { http_statuses: number[] }; unhealthy: { http_statuses: number[] } }): Uint8Array {
  let table = tables.get(check);
  if (!table) {
    table = new Uint8Array(1000);
    for (const status of check.unhealthy.http_statuses) table[status] = BAD;
    for (const status of check.healthy.http_statuses) table[status] = GOOD;
    tables.set(check, table);
  }
  return table;
}

export class TargetHealth {
  healthy = true;
  private successes = 0;
  private httpFailures = 0;
  private tcpFailures = 0;
  private timeouts = 0;
  /** Health checks are configured for the upstream (else it reports HEALTHCHECKS_OFF). */
  checked = false;
  /** Set by PUT .../healthy|unhealthy: reported even when no check is configured. */
  manual = false;
  /** Whether proxied responses' statuses can change anything (a passive threshold is set). */
  countsResponses = false;
  private passiveTable: Uint8Array = new Uint8Array(0);
  /** Until when (performance.now()) the target's name is known not to resolve; 0: it resolves. */
  private unresolvedUntil = 0;

  constructor(
    public checks: Healthchecks,
    /** Called when the state flips (logging). */
    private readonly onFlip: (health: TargetHealth, why: string) => void,
  ) {
    this.configure(checks);
  }

  configure(checks: Healthchecks): void {
    this.checks = checks;
    this.checked = activeEnabled(checks) || passiveEnabled(checks);
    this.countsResponses = checks.passive.unhealthy.http_failures > 0 || checks.passive.healthy.successes > 0 || passiveEnabled(checks);
    this.passiveTable = statusTable(checks.passive);
  }

  /** In the rotation as far as health goes: healthy, and its name resolves. */
  get usable(): boolean {
    return this.healthy && (this.unresolvedUntil === 0 || !this.stillUnresolved());
  }

  get report(): HealthReport {
    if (this.unresolvedUntil !== 0 && this.stillUnresolved()) return "DNS_ERROR";
    if (!this.checked && !this.manual) return "HEALTHCHECKS_OFF";
    return this.healthy ? "HEALTHY" : "UNHEALTHY";
  }

  /** The target's host name did not resolve (connecting or probing): out for Kong's dns_not_found_ttl. */
  nameNotFound(): void {
    this.unresolvedUntil = performance.now() + DNS_NOT_FOUND_TTL_MS;
  }

  private stillUnresolved(): boolean {
    if (performance.now() < this.unresolvedUntil) return true;
    this.unresolvedUntil = 0;
    return false;
  }

  /** A proxied response's status (passive). */
  passiveStatus(status: number): void {
    this.unresolvedUntil = 0;
    const kind = this.passiveTable[status];
    if (kind === GOOD) {
      // The common case: a healthy target answering well, with no failure counted yet.
      if (this.healthy && this.httpFailures === 0 && this.tcpFailures === 0 && this.timeouts === 0) return;
      this.success(this.checks.passive.healthy.successes, "passive");
    } else if (kind === BAD) this.failure("http", this.checks.passive.unhealthy.http_failures, "passive", status);
  }

  passiveTcpFailure(): void {
    this.failure("tcp", this.checks.passive.unhealthy.tcp_failures, "passive");
  }

  passiveTimeout(): void {
    this.failure("timeout", this.checks.passive.unhealthy.timeouts, "passive");
  }

  /** An active probe's status. */
  probeStatus(status: number): void {
    this.unresolvedUntil = 0;
    const { healthy, unhealthy } = this.checks.active;
    this.status(status, healthy.http_statuses, healthy.successes, unhealthy.http_statuses, unhealthy.http_failures, "active");
  }

  /** A tcp probe that connected counts as a success. */
  probeConnected(): void {
    this.unresolvedUntil = 0;
    this.success(this.checks.active.healthy.successes, "active");
  }

  probeTcpFailure(): void {
    this.failure("tcp", this.checks.active.unhealthy.tcp_failures, "active");
  }

  probeTimeout(): void {
    this.failure("timeout", this.checks.active.unhealthy.timeouts, "active");
  }

  /** Kong's manual override: the state is set and the counters start again. */
  set(healthy: boolean): void {
    this.manual = true;
    this.flip(healthy, "set through the admin API");
  }

  private status(status: number, good: readonly number[], successes: number, bad: readonly number[], failures: number, source: Source): void {
    if (good.includes(status)) this.success(successes, source);
    else if (bad.includes(status)) this.failure("http", failures, source, status);
  }

  private success(threshold: number, source: Source): void {
    this.httpFailures = this.tcpFailures = this.timeouts = 0;
    if (this.healthy || threshold === 0) return;
    if (++this.successes >= threshold) this.flip(true, `${this.successes} ${source} successes`);
  }

  private failure(kind: "http" | "tcp" | "timeout", threshold: number, source: Source, status?: number): void {
    this.successes = 0;
    if (!this.healthy || threshold === 0) return;
    const count = kind === "http" ? ++this.httpFailures : kind === "tcp" ? ++this.tcpFailures : ++this.timeouts;
    if (count >= threshold) this.flip(false, `${count} ${source} ${kind === "http" ? `HTTP failures (last status ${status})` : kind === "tcp" ? "TCP failures" : "timeouts"}`);
  }

  private flip(healthy: boolean, why: string): void {
    const changed = this.healthy !== healthy;
    this.healthy = healthy;
    this.successes = this.httpFailures = this.tcpFailures = this.timeouts = 0;
    if (changed) this.onFlip(this, why);
  }
}

export interface HealthFlip {
  upstream: string;
  target: string;
  healthy: boolean;
  why: string;
}

/** Every target's health in this process, across snapshot rebuilds. */
export class HealthBook {
  private entries = new Map<string, TargetHealth>();
  private listener: (flip: HealthFlip) => void = () => {};

  /** Where state changes are told (the access log's event stream). */
  onFlip(listener: (flip: HealthFlip) => void): void {
    this.listener = listener;
  }

  /** The health of a target of an upstream, kept from the previous build when there was one. */
  health(upstreamId: string, upstreamName: string, target: string, checks: Healthchecks, used: Map<string, TargetHealth>): TargetHealth {
    const key = `${upstreamId}\u0000${target}`;
    let health = this.entries.get(key);
    if (health) health.configure(checks);
    else health = new TargetHealth(checks, (h, why) => this.listener({ upstream: upstreamName, target, healthy: h.healthy, why }));
    used.set(key, health);
    return health;
  }

  /** After a build: only the targets it used are kept. */
  keep(used: Map<string, TargetHealth>): void {
    this.entries = used;
  }
}
