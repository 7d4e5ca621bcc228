// Counters the proxy updates per request and the admin API renders as Prometheus text.
// Plain maps and arrays: recording is a few increments, rendering happens only on scrape.
// With `--workers N` each worker counts its own requests; the supervisor adds the workers'
// snapshots together (`snapshot`/`add`) and renders the sum, or one labelled set per worker.

const LATENCY_BUCKETS_MS = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000];

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** Every counter of one Metrics as plain data, for IPC between worker and supervisor. */
export interface MetricsSnapshot {
  requests: [route: string, status: number, count: number][];
  authFailures: [reason: string, count: number][];
  latency: { buckets: number[]; count: number; sum: number };
}

export class Metrics {
  private readonly requests = new Map<string, Map<number, number>>();
  private readonly authFailures = new Map<string, number>();
  private readonly latencyBuckets = new Array<number>(LATENCY_BUCKETS_MS.length).fill(0);
  private latencyCount = 0;
  private latencySum = 0;

  static from(snapshot: MetricsSnapshot): Metrics {
    const metrics = new Metrics();
    metrics.add(snapshot);
    return metrics;
  }

  recordRequest(route: string, status: number): void {
    let byStatus = this.requests.get(route);
    if (!byStatus) this.requests.set(route, (byStatus = new Map()));
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  }

  recordAuthFailure(reason: string): void {
    this.authFailures.set(reason, (this.authFailures.get(reason) ?? 0) + 1);
  }

  observeUpstreamLatency(ms: number): void {
    this.latencyCount++;
    this.latencySum += ms;
    for (let i = 0; i < LATENCY_BUCKETS_MS.length; i++) {
      if (ms <= LATENCY_BUCKETS_MS[i]!) {
        this.latencyBuckets[i]!++;
        break;
      }
    }
  }

  requestCount(route: string, status: number): number {
    return this.requests.get(route)?.get(status) ?? 0;
  }

  authFailureCount(reason: string): number {
    return this.authFailures.get(reason) ?? 0;
  }

  snapshot(): MetricsSnapshot {
    const requests: MetricsSnapshot["requests"] = [];
    for (const [route, byStatus] of this.requests) for (const [status, count] of byStatus) requests.push([route, status, count]);
    return {
      requests,
      authFailures: [...this.authFailures],
      latency: { buckets: [...this.latencyBuckets], count: this.latencyCount, sum: this.latencySum },
    };
  }

  /** Adds another set of counters (a worker's) to these. */
  add(snapshot: MetricsSnapshot): void {
    for (const [route, status, count] of snapshot.requests) {
      let byStatus = this.requests.get(route);
      if (!byStatus) this.requests.set(route, (byStatus = new Map()));
      byStatus.set(status, (byStatus.get(status) ?? 0) + count);
    }
    for (const [reason, count] of snapshot.authFailures) this.authFailures.set(reason, (this.authFailures.get(reason) ?? 0) + count);
    snapshot.latency.buckets.forEach((count, i) => {
      if (i < this.latencyBuckets.length) this.latencyBuckets[i]! += count;
    });
    this.latencyCount += snapshot.latency.count;
    this.latencySum += snapshot.latency.sum;
  }

  render(configVersion: number): string {
    return renderMetrics([{ metrics: this }], configVersion);
  }

  /** The series lines of these counters, each carrying `label` (`worker="2"`) when given. */
  seriesLines(label: string | undefined): { requests: string[]; authFailures: string[]; latency: string[] } {
    const prefix = label ? `${label},` : "";
    const requests: string[] = [];
    for (const [route, byStatus] of this.requests) {
      for (const [status, count] of byStatus) requests.push(`gateway_http_requests_total{${prefix}route="${escapeLabel(route)}",status="${status}"} ${count}`);
    }
    const authFailures: string[] = [];
    for (const [reason, count] of this.authFailures) authFailures.push(`gateway_auth_failures_total{${prefix}reason="${escapeLabel(reason)}"} ${count}`);
    const latency: string[] = [];
    let cumulative = 0;
    LATENCY_BUCKETS_MS.forEach((bound, i) => {
      cumulative += this.latencyBuckets[i]!;
      latency.push(`gateway_upstream_latency_ms_bucket{${prefix}le="${bound}"} ${cumulative}`);
    });
    const own = label ? `{${label}}` : "";
    latency.push(`gateway_upstream_latency_ms_bucket{${prefix}le="+Inf"} ${this.latencyCount}`);
    latency.push(`gateway_upstream_latency_ms_sum${own} ${this.latencySum}`);
    latency.push(`gateway_upstream_latency_ms_count${own} ${this.latencyCount}`);
    return { requests, authFailures, latency };
  }
}

/**
 * Prometheus text of one set of counters, or of several that differ by a label (one per worker:
 * `[{ label: 'worker="1"', metrics }, ...]`), each metric's series under its one TYPE line.
 */
export function renderMetrics(sets: { label?: string; metrics: Metrics }[], configVersion: number): string {
  const series = sets.map(({ label, metrics }) => metrics.seriesLines(label));
  const lines: string[] = [];
  lines.push("# HELP gateway_http_requests_total Proxied requests by route and response status.");
  lines.push("# TYPE gateway_http_requests_total counter");
  for (const set of series) lines.push(...set.requests);
  lines.push("# HELP gateway_auth_failures_total Requests refused by an authentication or authorization plugin, by reason.");
  lines.push("# TYPE gateway_auth_failures_total counter");
  for (const set of series) lines.push(...set.authFailures);
  lines.push("# HELP gateway_upstream_latency_ms Time from sending a request upstream to its response headers.");
  lines.push("# TYPE gateway_upstream_latency_ms histogram");
  for (const set of series) lines.push(...set.latency);
  lines.push("# HELP gateway_config_version Version of the configuration snapshot in use; increases on every change.");
  lines.push("# TYPE gateway_config_version gauge");
  lines.push(`gateway_config_version ${configVersion}`);
  return `${lines.join("\n")}\n`;
}
