// The basic-auth plugin, priority 1100 (Kong's): usernames and argon2id-hashed passwords.
import { definePlugin } from "../../src/pipeline/contract.ts";
import { basicAuthCredentialEntity } from "./credential.ts";
import { createBasicAuthInstance } from "./handler.ts";
import { type BasicAuthConfig, BasicAuthConfigSchema, checkBasicAuthConfig } from "./schema.ts";

export const basicAuthPlugin = definePlugin<BasicAuthConfig>({
  name: "basic-auth",
  priority: 1100,
  configSchema: BasicAuthConfigSchema,
  noConsumerScope: true,
  entities: [basicAuthCredentialEntity],
  check: checkBasicAuthConfig,
  create: (config, state) => createBasicAuthInstance(config, state),
});
