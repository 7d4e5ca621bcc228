// JWT credential (`jwt_secrets`): one trusted signer of a consumer. Key material is checked on
// write, so a credential that is stored can always be used to verify.
import type { Static } from "elysia";
import { t } from "./t.ts";
import { ALGORITHMS, type Algorithm, isHmac, keyFamily } from "../jose/algorithms.ts";
import { KeyMaterialError, publicKeyFor } from "../jose/keys.ts";
import { type FieldErrors, ValidationError } from "../errors.ts";
import { Generated, IdRef, InputMeta, Ref, assertSchema, now } from "./common.ts";

export const AlgorithmSchema = t.Union(ALGORITHMS.map((alg) => t.Literal(alg)));

export const JwtCredentialInput = t.Object(
  {
    ...InputMeta,
    consumer: t.Optional(Ref),
    key: t.Optional(t.String({ minLength: 1, maxLength: 1024, description: "matched against the token's key claim (`iss` by default)" })),
    algorithm: t.Optional(AlgorithmSchema),
    secret: t.Optional(t.String({ minLength: 1, maxLength: 4096 })),
    rsa_public_key: t.Optional(t.String({ minLength: 1, maxLength: 65536, description: "PEM public key, X.509 certificate or JWK, for every asymmetric algorithm" })),
    jwks_uri: t.Optional(t.String({ pattern: "^(https?|file):", maxLength: 2048, description: "JWKS to take keys from, by the token's `kid`" })),
    jwks_cache_ttl: t.Optional(t.Integer({ minimum: 0, maximum: 86400 })),
    algorithms: t.Optional(t.Array(AlgorithmSchema, { minItems: 1, uniqueItems: true, description: "allow-list; defaults to [algorithm]" })),
  },
  { additionalProperties: false, examples: [{ key: "https://issuer.example", algorithm: "HS256", secret: "a-very-long-shared-secret-value-1234" }] },
);
export type JwtCredentialInput = Static<typeof JwtCredentialInput>;

export const JwtCredential = t.Object({
  ...Generated,
  consumer: IdRef,
  key: t.String(),
  algorithm: AlgorithmSchema,
  secret: t.Union([t.String(), t.Null()]),
  rsa_public_key: t.Union([t.String(), t.Null()]),
  jwks_uri: t.Union([t.String(), t.Null()]),
  jwks_cache_ttl: t.Integer(),
  algorithms: t.Union([t.Array(AlgorithmSchema), t.Null()]),
});
export type JwtCredential = Static<typeof JwtCredential>;

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** 32 random alphanumeric characters, as Kong generates for a missing key or secret. */
export function randomAlphanumeric(length = 32): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length * 2));
  let out = "";
  for (const byte of bytes) {
    if (byte < 248) out += ALPHANUMERIC[byte % 62];
    if (out.length === length) return out;
  }
  return out + randomAlphanumeric(length - out.length);
}

function checkKeyMaterial(credential: JwtCredential, fields: FieldErrors): void {
  const algs: Algorithm[] = credential.algorithms ?? [credential.algorithm];
  if (!algs.includes(credential.algorithm)) fields.algorithms = "must include algorithm";
  const families = new Set(algs.map(keyFamily));
  if (families.size > 1) {
    fields.algorithms = "must all use one kind of key (mixing them would allow algorithm confusion)";
    return;
  }
  if (isHmac(credential.algorithm)) {
    if (credential.jwks_uri) fields.jwks_uri = "HMAC credentials use a secret, not a JWKS";
    if (credential.rsa_public_key) fields.rsa_public_key = "HMAC credentials use a secret, not a public key";
    return;
  }
  if (credential.jwks_uri) {
    if (credential.rsa_public_key) fields.rsa_public_key = "give either rsa_public_key or jwks_uri, not both";
    return;
  }
  if (!credential.rsa_public_key) {
    fields.rsa_public_key = `required field missing (${credential.algorithm} needs a public key or jwks_uri)`;
    return;
  }
  try {
    publicKeyFor(credential.rsa_public_key, algs);
  } catch (error) {
    fields.rsa_public_key = error instanceof KeyMaterialError ? error.message : "invalid key";
  }
}

export function buildJwtCredential(input: unknown, consumerId: string | undefined, existing?: JwtCredential): JwtCredential {
  assertSchema(JwtCredentialInput, input);
  const consumer = consumerId ?? existing?.consumer.id;
  if (!consumer) throw new ValidationError({ consumer: "required field missing" });
  const algorithm = input.algorithm ?? existing?.algorithm ?? "HS256";
  const time = now();
  const credential: JwtCredential = {
    id: existing?.id ?? input.id ?? crypto.randomUUID(),
    consumer: { id: consumer },
    key: input.key ?? existing?.key ?? randomAlphanumeric(),
    algorithm,
    secret: input.secret ?? existing?.secret ?? (isHmac(algorithm) ? randomAlphanumeric() : null),
    rsa_public_key: input.rsa_public_key ?? existing?.rsa_public_key ?? null,
    jwks_uri: input.jwks_uri ?? existing?.jwks_uri ?? null,
    jwks_cache_ttl: input.jwks_cache_ttl ?? existing?.jwks_cache_ttl ?? 300,
    algorithms: input.algorithms ?? existing?.algorithms ?? null,
    tags: input.tags ?? existing?.tags ?? [],
    created_at: existing?.created_at ?? time,
    updated_at: time,
  };
  const fields: FieldErrors = {};
  checkKeyMaterial(credential, fields);
  if (Object.keys(fields).length) throw new ValidationError(fields);
  return credential;
}
