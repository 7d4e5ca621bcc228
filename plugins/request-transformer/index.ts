// The request-transformer plugin, priority 801 (Kong's): changes the request's path, method,
// headers and query string before it goes upstream.
import { definePlugin } from "../../src/pipeline/contract.ts";
import { createRequestTransformerInstance } from "./handler.ts";
import { type RequestTransformerConfig, RequestTransformerConfigSchema, checkRequestTransformerConfig, unsupportedRequestTransformerConfig } from "./schema.ts";

export const requestTransformerPlugin = definePlugin<RequestTransformerConfig>({
  name: "request-transformer",
  priority: 801,
  configSchema: RequestTransformerConfigSchema,
  check: checkRequestTransformerConfig,
  unsupported: unsupportedRequestTransformerConfig,
  differences: [
    {
      what: "request-transformer re-encodes an edited query string in the client's order (new parameters last); Kong sorts it by name. With http_method GET a request body is not forwarded (Kong moves a form body into the query string)",
      readme: "`request-transformer` (priority 801) and `response-transformer` (priority 800)",
    },
  ],
  create: (config) => createRequestTransformerInstance(config),
});
