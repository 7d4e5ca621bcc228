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
  create: (config, snapshot) => {
    sharedJwksCache.retain(jwksUrisOf(snapshot));
    return createJwtInstance(config);
  },
});

function jwksUrisOf(snapshot: Snapshot): Set<string> {
  const uris = new Set<string>();
  for (const credential of snapshot.credentialsByKey.values()) if (credential.jwks_uri !== null) uris.add(credential.jwks_uri);
  return uris;
}
