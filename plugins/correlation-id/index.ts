// The correlation-id plugin, priority 100001 (Kong's): it runs before every other plugin, so
// their log events and the upstream request carry the id.
import { definePlugin } from "../../src/pipeline/contract.ts";
import { createCorrelationIdInstance } from "./handler.ts";
import { type CorrelationIdConfig, CorrelationIdConfigSchema, checkCorrelationIdConfig } from "./schema.ts";

export const correlationIdPlugin = definePlugin<CorrelationIdConfig>({
  name: "correlation-id",
  priority: 100001,
  configSchema: CorrelationIdConfigSchema,
  check: checkCorrelationIdConfig,
  create: (config) => createCorrelationIdInstance(config),
});
