// The rate-limiting plugin, priority 910 (Kong's): after authentication, so counters can be
// per consumer. Counters: `local` in this process's memory, `cluster` in the gateway's database.
import { definePlugin } from "../../src/pipeline/contract.ts";
import { createRateLimitingInstance } from "./handler.ts";
import { type RateLimitingConfig, RateLimitingConfigSchema, checkRateLimitingConfig } from "./schema.ts";

export const rateLimitingPlugin = definePlugin<RateLimitingConfig>({
  name: "rate-limiting",
  priority: 910,
  configSchema: RateLimitingConfigSchema,
  check: checkRateLimitingConfig,
  unsupported: (config) => (config.policy === "redis" ? { policy: "'redis' is not supported: the gateway has no Redis client (use local or cluster)" } : undefined),
  create: createRateLimitingInstance,
});
