// Counters the proxy updates per request and the admin API renders as Prometheus text.
// Plain maps and arrays: recording is a few increments, rendering happens only on scrape.
// With `--workers N` each worker counts its own requests; the supervisor adds the workers'
// snapshots together (`snapshot`/`add`) and renders the sum, or one labelled set per worker.
// Plugins that export series of their own (prometheus: Kong's `kong_*` names) record into
// `pluginSeries`, the process's one registry; the proxy's Metrics reports it beside its own.

const LATENCY_BUCKETS_MS = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000];

export function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** A series recorded by a plugin: its metric's type, help text and histogram buckets. */
export interface PluginMetric {
  readonly type: "counter" | "histogram";
  readonly help: string;
  readonly buckets?: readonly number[];
}

const KONG_LATENCY_BUCKETS = [1, 2, 5, 7, 10, 15, 20, 30, 50, 75, 100, 200, 500, 750, 1000];
const KONG_UPSTREAM_BUCKETS = [25, 50, 80, 100, 250, 400, 700, 1000, 2000, 5000, 10000, 30000, 60000];
const KONG_DEFAULT_BUCKETS = [1, 2, 5, 7, 10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 90, 100, 200, 300, 400, 500, 1000, 2000, 5000, 10000, 30000, 60000];

/** The plugin series the gateway knows (Kong 3.x prometheus names and buckets), in render order. */
export const PLUGIN_METRICS = {
  kong_http_requests_total: { type: "counter", help: "HTTP status codes per consumer/service/route in Kong" },
  kong_kong_latency_ms: { type: "histogram", help: "Latency added by Kong and enabled plugins for each service/route in Kong", buckets: KONG_LATENCY_BUCKETS },
  kong_upstream_latency_ms: { type: "histogram", help: "Latency added by upstream response for each service/route in Kong", buckets: KONG_UPSTREAM_BUCKETS },
  kong_request_latency_ms: { type: "histogram", help: "Total latency incurred during requests for each service/route in Kong", buckets: KONG_DEFAULT_BUCKETS },
  kong_bandwidth_bytes: { type: "counter", help: "Total bandwidth (ingress/egress) throughput in bytes" },
} as const satisfies Record<string, PluginMetric>;
export type PluginMetricName = keyof typeof PLUGIN_METRICS;
const bucketsOf = (metric: PluginMetricName): readonly number[] => (PLUGIN_METRICS[metric] as PluginMetric).buckets ?? [];
const PLUGIN_METRIC_NAMES = Object.keys(PLUGIN_METRICS) as PluginMetricName[];

interface Histogram {
  buckets: number[];
  count: number;
  sum: number;
}

/** A plugin registry's series as plain data: labels are pre-rendered (`service="a",route="b"`). */
export interface PluginSeriesSnapshot {
  counters: [metric: string, labels: string, value: number][];
  histograms: [metric: string, labels: string, buckets: number[], count: number, sum: number][];
}

/**
 * Series plugins record per request, keyed by metric and by the label text the recording
 * plugin renders once per route: a record is one map lookup and an increment.
 */
export class PluginSeries {
  private readonly counters = new Map<PluginMetricName, Map<string, number>>();
  private readonly histograms = new Map<PluginMetricName, Map<string, Histogram>>();

  count(metric: PluginMetricName, labels: string, by = 1): void {
    let series = this.counters.get(metric);
    if (!series) this.counters.set(metric, (series = new Map()));
    series.set(labels, (series.get(labels) ?? 0) + by);
  }

  observe(metric: PluginMetricName, labels: string, value: number): void {
    const histogram = this.histogram(metric, labels);
    histogram.count++;
    histogram.sum += value;
    const bounds = bucketsOf(metric);
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        histogram.buckets[i]!++;
        break;
      }
    }
  }

  private histogram(metric: PluginMetricName, labels: string): Histogram {
    let series = this.histograms.get(metric);
    if (!series) this.histograms.set(metric, (series = new Map()));
    let histogram = series.get(labels);
    if (!histogram) series.set(labels, (histogram = { buckets: new Array<number>(bucketsOf(metric).length).fill(0), count: 0, sum: 0 }));
    return histogram;
  }

  /** A counter's value, or a histogram's count, for one label set (tests, diagnostics). */
  value(metric: PluginMetricName, labels: string): number {
    return this.counters.get(metric)?.get(labels) ?? this.histograms.get(metric)?.get(labels)?.count ?? 0;
  }

  snapshot(): PluginSeriesSnapshot {
    const counters: PluginSeriesSnapshot["counters"] = [];
    for (const [metric, series] of this.counters) for (const [labels, value] of series) counters.push([metric, labels, value]);
    const histograms: PluginSeriesSnapshot["histograms"] = [];
    for (const [metric, series] of this.histograms) for (const [labels, h] of series) histograms.push([metric, labels, [...h.buckets], h.count, h.sum]);
    return { counters, histograms };
  }

  add(snapshot: PluginSeriesSnapshot): void {
    for (const [metric, labels, value] of snapshot.counters) if (metric in PLUGIN_METRICS) this.count(metric as PluginMetricName, labels, value);
    for (const [metric, labels, buckets, count, sum] of snapshot.histograms) {
      if (!(metric in PLUGIN_METRICS)) continue;
      const histogram = this.histogram(metric as PluginMetricName, labels);
      buckets.forEach((n, i) => {
        if (i < histogram.buckets.length) histogram.buckets[i]! += n;
      });
      histogram.count += count;
      histogram.sum += sum;
    }
  }

  /** Series lines by metric, each label set prefixed with `label` (`worker="2"`) when given. */
  lines(label: string | undefined): Map<PluginMetricName, string[]> {
    const out = new Map<PluginMetricName, string[]>();
    const join = (labels: string) => (label ? (labels ? `${label},${labels}` : label) : labels);
    for (const [metric, series] of this.counters) {
      const lines: string[] = [];
      for (const [labels, value] of series) lines.push(`${metric}{${join(labels)}} ${value}`);
      out.set(metric, lines);
    }
    for (const [metric, series] of this.histograms) {
      const bounds = bucketsOf(metric);
      const lines: string[] = [];
      for (const [labels, h] of series) {
        const all = join(labels);
        const prefix = all ? `${all},` : "";
        let cumulative = 0;
        bounds.forEach((bound, i) => {
          cumulative += h.buckets[i]!;
          lines.push(`${metric}_bucket{${prefix}le="${bound}"} ${cumulative}`);
        });
        lines.push(`${metric}_bucket{${prefix}le="+Inf"} ${h.count}`);
        lines.push(`${metric}_sum{${all}} ${h.sum}`);
        lines.push(`${metric}_count{${all}} ${h.count}`);
      }
      out.set(metric, lines);
    }
    return out;
  }
}

/**
 * The process's plugin series. Per process: under `--workers N` each worker records its own and
 * the supervisor sums the workers' snapshots; gateways started in one process (tests) share it.
 */
export const pluginSeries = new PluginSeries();

/** Every counter of one Metrics as plain data, for IPC between worker and supervisor. */
export interface MetricsSnapshot {
  requests: [route: string, status: number, count: number][];
  authFailures: [reason: string, count: number][];
  latency: { buckets: number[]; count: number; sum: number };
  /** Plugin series (absent from a worker of an older build). */
  plugins?: PluginSeriesSnapshot;
}

export class Metrics {
  private readonly requests = new Map<string, Map<number, number>>();
  private readonly authFailures = new Map<string, number>();
  private readonly latencyBuckets = new Array<number>(LATENCY_BUCKETS_MS.length).fill(0);
  private latencyCount = 0;
  private latencySum = 0;

  /**
   * `plugins`: where plugin series are read from. The proxy's Metrics (the default) reports the
   * process's `pluginSeries`; a sum or a copy (`empty`, `from`) holds its own.
   */
  constructor(readonly plugins: PluginSeries = pluginSeries) {}

  static empty(): Metrics {
    return new Metrics(new PluginSeries());
  }

  static from(snapshot: MetricsSnapshot): Metrics {
    const metrics = Metrics.empty();
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
      plugins: this.plugins.snapshot(),
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
    if (snapshot.plugins) this.plugins.add(snapshot.plugins);
  }

  render(configVersion: number): string {
    return renderMetrics([{ metrics: this }], configVersion);
  }

  /** The series lines of these counters, each carrying `label` (`worker="2"`) when given. */
  seriesLines(label: string | undefined): { requests: string[]; authFailures: string[]; latency: string[]; plugins: Map<PluginMetricName, string[]> } {
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
    return { requests, authFailures, latency, plugins: this.plugins.lines(label) };
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
  // Plugin series (Kong's names) only when some plugin recorded them: nothing changes otherwise.
  for (const metric of PLUGIN_METRIC_NAMES) {
    const recorded = series.flatMap((set) => set.plugins.get(metric) ?? []);
    if (recorded.length === 0) continue;
    lines.push(`# HELP ${metric} ${PLUGIN_METRICS[metric].help}`);
    lines.push(`# TYPE ${metric} ${PLUGIN_METRICS[metric].type}`);
    lines.push(...recorded);
  }
  return `${lines.join("\n")}\n`;
}
