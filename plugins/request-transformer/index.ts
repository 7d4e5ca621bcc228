// The request-transformer plugin, priority 801 (Kong's): changes the request's headers (and
// drops query parameters) before it goes upstream.
import { definePlugin } from "../../src/pipeline/contract.ts";
import { createRequestTransformerInstance } from "./handler.ts";
import { type RequestTransformerConfig, RequestTransformerConfigSchema, checkRequestTransformerConfig } from "./schema.ts";

export const requestTransformerPlugin = definePlugin<RequestTransformerConfig>({
  name: "request-transformer",
  priority: 801,
  configSchema: RequestTransformerConfigSchema,
  check: checkRequestTransformerConfig,
  create: (config) => createRequestTransformerInstance(config),
});
