// The request-termination plugin, priority 2 (Kong's): it runs after authentication and every
// other access-phase plugin, so a terminated route still refuses unauthenticated clients first.
import { definePlugin } from "../../src/pipeline/contract.ts";
import { createRequestTerminationInstance } from "./handler.ts";
import { type RequestTerminationConfig, RequestTerminationConfigSchema, checkRequestTerminationConfig } from "./schema.ts";

export const requestTerminationPlugin = definePlugin<RequestTerminationConfig>({
  name: "request-termination",
  priority: 2,
  configSchema: RequestTerminationConfigSchema,
  check: checkRequestTerminationConfig,
  create: (config) => createRequestTerminationInstance(config),
});
