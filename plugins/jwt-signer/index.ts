// The jwt-signer plugin (SPEC §5.5, KrakenD `auth/signer`): signs objects of the upstream's
// JSON response with a keystore key, priority 800, response phase.
import { definePlugin } from "../../src/pipeline/contract.ts";
import { createSignerInstance } from "./handler.ts";
import { type SignerConfig, SignerConfigSchema, checkSignerConfig } from "./schema.ts";

export const jwtSignerPlugin = definePlugin<SignerConfig>({
  name: "jwt-signer",
  priority: 800,
  configSchema: SignerConfigSchema,
  check: checkSignerConfig,
  create: createSignerInstance,
});
