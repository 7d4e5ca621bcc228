// The prometheus plugin, priority 13 (Kong's): its response phase records Kong's series for the
// routes it applies to; a route without it records nothing beyond the gateway_* series.
import { definePlugin } from "../../src/pipeline/contract.ts";
import { createPrometheusInstance } from "./handler.ts";
import { type PrometheusConfig, PrometheusConfigSchema } from "./schema.ts";

export const prometheusPlugin = definePlugin<PrometheusConfig>({
  name: "prometheus",
  priority: 13,
  configSchema: PrometheusConfigSchema,
  create: (config) => createPrometheusInstance(config),
});
