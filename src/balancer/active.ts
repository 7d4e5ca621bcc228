// Active health checks: for each upstream whose healthchecks.active has an interval, probes its
// targets (HTTP(S) GET of http_path, or a TCP connect) every `healthy.interval` seconds while a
// target is healthy and every `unhealthy.interval` seconds while it is not, at most
// `concurrency` at a time, and reports each outcome to the target's health. Runs only in
// processes that serve the proxy; follows configuration changes (timers of an upstream whose
// checks did not change keep running); `stop` clears every timer.
import type { Healthchecks } from "../entities/upstream.ts";
import type { Balancer } from "./balancer.ts";
import { isNameNotFound } from "../proxy/upstream/errors.ts";
import type { Peer } from "./peer.ts";

interface Checker {
  /** The active settings the timers were started with. */
  readonly settings: string;
  balancer: Balancer;
  readonly timers: ReturnType<typeof setInterval>[];
  /** Peers with a probe under way: a slow probe is not started again. */
  readonly probing: Set<string>;
}

export class ActiveHealthChecks {
  private readonly checkers = new Map<string, Checker>();
  private stopped = false;

  /** Starts, keeps or stops checkers to match the balancers of the current snapshot. */
  update(balancers: ReadonlyMap<string, Balancer>): void {
    if (this.stopped) return;
    const seen = new Set<string>();
    for (const balancer of balancers.values()) {
      const checks = balancer.upstream.healthchecks as Healthchecks;
      const { healthy, unhealthy } = checks.active;
      if (healthy.interval <= 0 && unhealthy.interval <= 0) continue;
      const id = balancer.upstream.id;
      seen.add(id);
      const settings = JSON.stringify(checks.active);
      const existing = this.checkers.get(id);
      if (existing && existing.settings === settings) {
        existing.balancer = balancer;
        continue;
      }
      if (existing) this.end(id, existing);
      const checker: Checker = { settings, balancer, timers: [], probing: new Set() };
      if (healthy.interval > 0) checker.timers.push(this.every(healthy.interval, () => this.round(checker, true)));
      if (unhealthy.interval > 0) checker.timers.push(this.every(unhealthy.interval, () => this.round(checker, false)));
      this.checkers.set(id, checker);
    }
    for (const [id, checker] of this.checkers) if (!seen.has(id)) this.end(id, checker);
  }

  /** For good: a configuration change after this starts nothing. */
  stop(): void {
    this.stopped = true;
    for (const [id, checker] of this.checkers) this.end(id, checker);
  }

  private every(seconds: number, run: () => void): ReturnType<typeof setInterval> {
    const timer = setInterval(run, seconds * 1000);
    timer.unref?.();
    return timer;
  }

  private end(id: string, checker: Checker): void {
    for (const timer of checker.timers) clearInterval(timer);
    this.checkers.delete(id);
  }

  /** One round over the targets that are in the given state (weight 0 targets are not probed). */
  private async round(checker: Checker, healthy: boolean): Promise<void> {
    const checks = checker.balancer.upstream.healthchecks as Healthchecks;
    const due = checker.balancer.peers.filter((peer) => peer.weight > 0 && peer.health.healthy === healthy && !checker.probing.has(peer.authority));
    const concurrency = Math.max(1, checks.active.concurrency);
    for (let i = 0; i < due.length; i += concurrency) {
      await Promise.all(due.slice(i, i + concurrency).map((peer) => this.probe(checker, peer, checks)));
    }
  }

  private async probe(checker: Checker, peer: Peer, checks: Healthchecks): Promise<void> {
    checker.probing.add(peer.authority);
    try {
      const active = checks.active;
      const timeoutMs = Math.max(1, active.timeout * 1000);
      if (active.type === "tcp") await probeTcp(peer, timeoutMs);
      else await probeHttp(peer, checks, timeoutMs);
    } finally {
      checker.probing.delete(peer.authority);
    }
  }
}

async function probeHttp(peer: Peer, checks: Healthchecks, timeoutMs: number): Promise<void> {
  const active = checks.active;
  const https = active.type === "https";
  const headers = new Headers();
  for (const [name, values] of Object.entries(active.headers ?? {})) for (const value of values) headers.append(name, value);
  if (!headers.has("host")) headers.set("host", https ? peer.httpsHost : peer.httpHost);
  try {
    const response = await fetch(`${https ? "https" : "http"}://${peer.authority}${active.http_path}`, {
      headers,
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
      tls: https ? { rejectUnauthorized: active.https_verify_certificate, ...(active.https_sni ? { serverName: active.https_sni } : {}) } : undefined,
    } as RequestInit);
    await response.body?.cancel();
    peer.health.probeStatus(response.status);
  } catch (error) {
    if ((error as Error).name === "TimeoutError") peer.health.probeTimeout();
    else if (isNameNotFound(error)) peer.health.nameNotFound();
    else peer.health.probeTcpFailure();
  }
}

async function probeTcp(peer: Peer, timeoutMs: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), timeoutMs)));
  const connected = Bun.connect({ hostname: peer.hostname, port: peer.port, socket: { data() {}, error() {} } }).then(
    (socket) => {
      socket.end();
      return "connected" as const;
    },
    (error: unknown) => (isNameNotFound(error) ? ("unresolved" as const) : ("failed" as const)),
  );
  const outcome = await Promise.race([connected, timedOut]);
  clearTimeout(timer);
  if (outcome === "connected") peer.health.probeConnected();
  else if (outcome === "timeout") peer.health.probeTimeout();
  else if (outcome === "unresolved") peer.health.nameNotFound();
  else peer.health.probeTcpFailure();
}
