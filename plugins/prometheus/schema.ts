// The prometheus plugin's config: Kong 3.x's fields and defaults (every high-cardinality
// metric off until asked for, as in Kong 3.0 and later).
import type { Static } from "@sinclair/typebox";
import { t } from "../../src/entities/t.ts";

const flag = (description: string) => t.Optional(t.Boolean({ default: false, description }));

export const PrometheusConfigSchema = t.Object(
  {
    per_consumer: flag("add the consumer's username as the `consumer` label of kong_http_requests_total"),
    status_code_metrics: flag("kong_http_requests_total{service,route,code,source,workspace,consumer}"),
    latency_metrics: flag("kong_request_latency_ms, kong_upstream_latency_ms and kong_kong_latency_ms histograms{service,route,workspace}"),
    bandwidth_metrics: flag("kong_bandwidth_bytes{service,route,direction,workspace} (declared body lengths)"),
    upstream_health_metrics: flag("accepted for Kong files; the gateway has no upstream health checks to report"),
    ai_metrics: flag("accepted for Kong files; the gateway has no AI plugins to report"),
    wasm_metrics: flag("accepted for Kong files; the gateway runs no Wasm filters"),
  },
  { additionalProperties: false, examples: [{ status_code_metrics: true, latency_metrics: true, per_consumer: true }] },
);

export type PrometheusConfig = Required<Static<typeof PrometheusConfigSchema>>;
