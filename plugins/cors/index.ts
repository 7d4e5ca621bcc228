// The cors plugin, priority 2000 (Kong's): preflights are answered before any authentication
// plugin runs; other responses get the Access-Control-* headers.
import { definePlugin } from "../../src/pipeline/contract.ts";
import { createCorsInstance } from "./handler.ts";
import { type CorsConfig, CorsConfigSchema } from "./schema.ts";

export const corsPlugin = definePlugin<CorsConfig>({
  name: "cors",
  priority: 2000,
  configSchema: CorsConfigSchema,
  differences: [
    {
      what: "cors headers are added to the service's responses only, not to another plugin's refusal (a jwt 401 has no Access-Control-Allow-Origin); Vary is appended to the upstream's; origin regexes are JavaScript's, not PCRE",
      readme: "`cors` (priority 2000)",
    },
  ],
  create: (config) => createCorsInstance(config),
});
