// The response-transformer plugin, priority 800 (Kong's): changes the upstream's answer
// (headers; JSON object bodies up to 1 MiB) before the client gets it.
import { definePlugin } from "../../src/pipeline/contract.ts";
import { createResponseTransformerInstance } from "./handler.ts";
import { type ResponseTransformerConfig, ResponseTransformerConfigSchema, checkResponseTransformerConfig } from "./schema.ts";

export const responseTransformerPlugin = definePlugin<ResponseTransformerConfig>({
  name: "response-transformer",
  priority: 800,
  configSchema: ResponseTransformerConfigSchema,
  check: checkResponseTransformerConfig,
  create: (config) => createResponseTransformerInstance(config),
});
