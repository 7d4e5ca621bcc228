// The cors plugin, priority 2000 (Kong's): preflights are answered before any authentication
// plugin runs; other responses get the Access-Control-* headers.
import { definePlugin } from "../../src/pipeline/contract.ts";
import { createCorsInstance } from "./handler.ts";
import { type CorsConfig, CorsConfigSchema } from "./schema.ts";

export const corsPlugin = definePlugin<CorsConfig>({
  name: "cors",
  priority: 2000,
  configSchema: CorsConfigSchema,
  create: (config) => createCorsInstance(config),
});
