// The jwt plugin (SPEC §5.1, §5.2): Kong-compatible JWT authentication, priority 1450.
import { definePlugin } from "../../src/pipeline/contract.ts";
import type { Snapshot } from "../../src/state/snapshot.ts";
import { createJwtInstance } from "./handler.ts";
import { sharedJwksCache } from "./jwks.ts";
import { type JwtConfig, JwtConfigSchema, checkJwtConfig } from "./schema.ts";

export const jwtPlugin = definePlugin<JwtConfig>({
  name: "jwt",
  priority: 1450,
  configSchema: JwtConfigSchema,
  noConsumerScope: true,
  check: checkJwtConfig,
  ownedHeaders: (config) => Object.values(config.claims_to_headers ?? {}).map((name) => name.toLowerCase()),
  create: (config, snapshot) => {
    retainJwksOf(snapshot);
    return createJwtInstance(config);
  },
});

/** Snapshots whose JWKS URIs the shared cache was already told to keep. */
const retainedFor = new WeakSet<Snapshot>();

/** Once per snapshot, however many jwt instances it builds: drop the sets it no longer names. */
function retainJwksOf(snapshot: Snapshot): void {
  if (retainedFor.has(snapshot)) return;
  retainedFor.add(snapshot);
  const uris = new Set<string>();
  for (const credential of snapshot.credentialsByKey.values()) if (credential.jwks_uri !== null) uris.add(credential.jwks_uri);
  sharedJwksCache.retain(uris);
}
