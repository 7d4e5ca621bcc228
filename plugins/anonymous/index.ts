// The anonymous plugin (SPEC §5.3), priority 1000: who a request runs as when no
// authentication plugin identified a consumer. Consumer scope is refused: it only acts when no
// consumer is known.
import { definePlugin } from "../../src/pipeline/contract.ts";
import { createAnonymousInstance } from "./handler.ts";
import { type AnonymousConfig, AnonymousConfigSchema, anonymousCovers } from "./schema.ts";

export const anonymousPlugin = definePlugin<AnonymousConfig>({
  name: "anonymous",
  priority: 1000,
  configSchema: AnonymousConfigSchema,
  noConsumerScope: true,
  check: (config, lookup) =>
    lookup.findConsumer(config.consumer) ? undefined : { consumer: `no consumer with id or username '${config.consumer}'` },
  create: (config, state) => createAnonymousInstance(config, state),
  authFallback: (config) => ({ covers: (tokenMissing) => anonymousCovers(config, tokenMissing) }),
});
