// prometheus: records Kong's per-service and per-route series into the process's plugin
// registry (src/metrics.ts) in the log phase, for every request of the route (the upstream's
// answers and the gateway's or a plugin's own); the admin /metrics renders them. The label
// text of a route is rendered once per instance (instances are rebuilt per state).
import { type PluginSeries, escapeLabel, pluginSeries } from "../../src/metrics.ts";
import type { PluginInstance, RequestContext } from "../../src/pipeline/contract.ts";
import type { PrometheusConfig } from "./schema.ts";

const WORKSPACE = 'workspace="default"';

export function createPrometheusInstance(config: PrometheusConfig, series: PluginSeries = pluginSeries): PluginInstance {
  const { status_code_metrics: status, latency_metrics: latency, bandwidth_metrics: bandwidth, per_consumer: perConsumer } = config;
  // Kong 3.x: nothing per service is recorded unless a metric family is turned on.
  if (!status && !latency && !bandwidth) return {};

  /** `service="…",route="…"` of a route, rendered on its first request. */
  const routeLabels = new Map<string, string>();
  const labelsOf = (ctx: RequestContext): string => {
    let labels = routeLabels.get(ctx.routeId);
    if (labels === undefined) {
      const route = ctx.state.uniqueIndex<{ id: string; name: string | null; service: { id: string } | null }>("routes", "id").get(ctx.routeId);
      const serviceId = route?.service?.id;
      const service = serviceId ? ctx.state.uniqueIndex<{ id: string; name: string | null }>("services", "id").get(serviceId) : undefined;
      labels = `service="${escapeLabel(service?.name ?? serviceId ?? "")}",route="${escapeLabel(route?.name ?? ctx.routeId)}"`;
      routeLabels.set(ctx.routeId, labels);
    }
    return labels;
  };

  return {
    log(ctx, answered) {
      const labels = labelsOf(ctx);
      if (status) {
        const consumer = perConsumer && ctx.consumer?.username ? escapeLabel(ctx.consumer.username) : "";
        series.count("kong_http_requests_total", `${labels},code="${answered.status}",source="${answered.source}",${WORKSPACE},consumer="${consumer}"`);
      }
      if (latency) {
        const histogramLabels = `${labels},${WORKSPACE}`;
        // Kong observes the upstream's latency only for a proxied request.
        if (answered.upstreamMs !== null) series.observe("kong_upstream_latency_ms", histogramLabels, answered.upstreamMs);
        series.observe("kong_kong_latency_ms", histogramLabels, answered.kongMs);
        series.observe("kong_request_latency_ms", histogramLabels, (answered.upstreamMs ?? 0) + answered.kongMs);
      }
      if (bandwidth) {
        // The bytes that came, as Kong counts what it read: a declared length proves nothing.
        if (answered.requestBytes) series.count("kong_bandwidth_bytes", `${labels},direction="ingress",${WORKSPACE}`, answered.requestBytes);
        if (answered.responseBytes) series.count("kong_bandwidth_bytes", `${labels},direction="egress",${WORKSPACE}`, answered.responseBytes);
      }
    },
  };
}
