// The key-auth plugin, priority 1250 (Kong's): API keys of consumers, stored as SHA-256 digests.
import { definePlugin } from "../../src/pipeline/contract.ts";
import { keyAuthCredentialEntity } from "./credential.ts";
import { createKeyAuthInstance } from "./handler.ts";
import { type KeyAuthConfig, KeyAuthConfigSchema, checkKeyAuthConfig } from "./schema.ts";

export const keyAuthPlugin = definePlugin<KeyAuthConfig>({
  name: "key-auth",
  priority: 1250,
  configSchema: KeyAuthConfigSchema,
  differences: [
    {
      what: "key-auth keys are stored as SHA-256 digests: reads and lists never show a key, credentials are addressed by id, exports write key_digest",
      readme: "`key-auth` (priority 1250) and `keyauth_credentials`",
    },
  ],
  noConsumerScope: true,
  entities: [keyAuthCredentialEntity],
  check: checkKeyAuthConfig,
  create: createKeyAuthInstance,
});
