// Counters the proxy updates per request and the admin API renders as Prometheus text.
// Plain maps and arrays: recording is a few increments, rendering happens only on scrape.

const LATENCY_BUCKETS_MS = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000];

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

export class Metrics {
  private readonly requests = new Map<string, Map<number, number>>();
  private readonly authFailures = new Map<string, number>();
  private readonly latencyBuckets = new Array<number>(LATENCY_BUCKETS_MS.length).fill(0);
  private latencyCount = 0;
  private latencySum = 0;

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

  render(configVersion: number): string {
    const lines: string[] = [];
    lines.push("# HELP gateway_http_requests_total Proxied requests by route and response status.");
    lines.push("# TYPE gateway_http_requests_total counter");
    for (const [route, byStatus] of this.requests) {
      for (const [status, count] of byStatus) {
        lines.push(`gateway_http_requests_total{route="${escapeLabel(route)}",status="${status}"} ${count}`);
      }
    }
    lines.push("# HELP gateway_auth_failures_total Requests refused by an authentication or authorization plugin, by reason.");
    lines.push("# TYPE gateway_auth_failures_total counter");
    for (const [reason, count] of this.authFailures) {
      lines.push(`gateway_auth_failures_total{reason="${escapeLabel(reason)}"} ${count}`);
    }
    lines.push("# HELP gateway_upstream_latency_ms Time from sending a request upstream to its response headers.");
    lines.push("# TYPE gateway_upstream_latency_ms histogram");
    let cumulative = 0;
    LATENCY_BUCKETS_MS.forEach((bound, i) => {
      cumulative += this.latencyBuckets[i]!;
      lines.push(`gateway_upstream_latency_ms_bucket{le="${bound}"} ${cumulative}`);
    });
    lines.push(`gateway_upstream_latency_ms_bucket{le="+Inf"} ${this.latencyCount}`);
    lines.push(`gateway_upstream_latency_ms_sum ${this.latencySum}`);
    lines.push(`gateway_upstream_latency_ms_count ${this.latencyCount}`);
    lines.push("# HELP gateway_config_version Version of the configuration snapshot in use; increases on every change.");
    lines.push("# TYPE gateway_config_version gauge");
    lines.push(`gateway_config_version ${configVersion}`);
    return `${lines.join("\n")}\n`;
  }
}
