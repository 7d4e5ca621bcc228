// The jwt plugin (SPEC §5.1, §5.2): Kong-compatible JWT authentication, priority 1450.
import { definePlugin } from "../../src/pipeline/contract.ts";
import { jwtCredentialEntity } from "./credential.ts";
import type { JwtCredential } from "./credential.ts";
import type { StateLookups } from "../../src/pipeline/contract.ts";
import { createJwtInstance } from "./handler.ts";
import { sharedJwksCache } from "./jwks.ts";
import { type JwtConfig, JwtConfigSchema, checkJwtConfig } from "./schema.ts";

export const jwtPlugin = definePlugin<JwtConfig>({
  name: "jwt",
  priority: 1450,
  configSchema: JwtConfigSchema,
  noConsumerScope: true,
  entities: [jwtCredentialEntity],
  check: checkJwtConfig,
  ownedHeaders: (config) => Object.values(config.claims_to_headers ?? {}).map((name) => name.toLowerCase()),
  create: (config, state) => {
    retainJwksOf(state);
    return createJwtInstance(config, state);
  },
});

/** Configuration versions whose JWKS URIs the shared cache was already told to keep. */
const retainedFor = new WeakSet<StateLookups>();

/** Once per version, however many jwt instances it builds: drop the sets it no longer names. */
function retainJwksOf(state: StateLookups): void {
  if (retainedFor.has(state)) return;
  retainedFor.add(state);
  const uris = new Set<string>();
  for (const credential of state.rows<JwtCredential>("jwt_secrets")) if (credential.jwks_uri !== null) uris.add(credential.jwks_uri);
  sharedJwksCache.retain(uris);
}
