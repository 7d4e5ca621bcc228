// The jwt plugin (SPEC §5.1, §5.2): Kong-compatible JWT authentication, priority 1450.
import { definePlugin } from "../../src/pipeline/contract.ts";
import { createJwtInstance } from "./handler.ts";
import { type JwtConfig, JwtConfigSchema, checkJwtConfig } from "./schema.ts";

export const jwtPlugin = definePlugin<JwtConfig>({
  name: "jwt",
  priority: 1450,
  configSchema: JwtConfigSchema,
  noConsumerScope: true,
  check: checkJwtConfig,
  create: (config) => createJwtInstance(config),
});
