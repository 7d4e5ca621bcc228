// The jwt plugin's entity, `jwt_secrets` (Kong's daos.lua): one trusted signer of a consumer.
// Key material is checked on write, so a credential that is stored can always be used to verify.
import { ALGORITHMS, type Algorithm, isHmac, keyFamily } from "../../src/jose/algorithms.ts";
import { KeyMaterialError, publicKeyFor } from "../../src/jose/keys.ts";
import { type RecordOf, defineEntity, nullable, reference } from "../../src/entities/definition.ts";
import { randomAlphanumeric } from "../../src/entities/common.ts";
import { t } from "../../src/entities/t.ts";
import type { FieldErrors } from "../../src/errors.ts";

export const AlgorithmSchema = t.Union(ALGORITHMS.map((alg) => t.Literal(alg)));

// Kong generates 32 random alphanumeric characters for a missing key or secret.
export { randomAlphanumeric };

function checkKeyMaterial(credential: JwtCredential, input: Record<string, unknown>, fields: FieldErrors): void {
  const algs: Algorithm[] = credential.algorithms ?? [credential.algorithm];
  const families = new Set(algs.map(keyFamily));
  if (families.size > 1) {
    fields.algorithms = "must all use one kind of key (mixing them would allow algorithm confusion)";
    return;
  }
  if (!algs.includes(credential.algorithm)) {
    // The wrong field is the one the request gave: `algorithm` against a stored list, else the list.
    if (input.algorithm !== undefined && input.algorithms === undefined) fields.algorithm = `must be one of algorithms (${algs.join(", ")})`;
    else fields.algorithms = `must include algorithm (${credential.algorithm})`;
    return;
  }
  if (isHmac(credential.algorithm)) {
    if (credential.rsa_public_key) fields.rsa_public_key = "HMAC credentials use a secret (or a JWKS of oct keys), not a public key";
    if (credential.jwks_uri) {
      // Secret keys travel only over TLS or from the local disk.
      if (!/^(https|file):/i.test(credential.jwks_uri)) fields.jwks_uri = "HMAC keys are secrets: an HS* jwks_uri must be https: or file:, never plain http";
      if (input.secret !== undefined) fields.secret = "give either secret or jwks_uri, not both";
      credential.secret = input.secret === undefined ? null : credential.secret;
    }
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

/**
 * `algorithms` without `algorithm`: the credential's algorithm is the list's first (its family
 * is the list's), unless a stored algorithm is still in the list.
 */
function algorithmFromList(body: Record<string, any>, existing: { algorithm: Algorithm } | undefined): Record<string, any> {
  if (body.algorithm !== undefined || !Array.isArray(body.algorithms) || body.algorithms.length === 0) return body;
  if (existing && body.algorithms.includes(existing.algorithm)) return body;
  return { ...body, algorithm: body.algorithms[0] };
}

const EXAMPLE_CONSUMER_ID = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b";

export const jwtCredentialEntity = defineEntity({
  name: "jwt_secrets",
  label: "jwt credential",
  schemaName: "JwtCredential",
  fields: {
    consumer: reference("consumers", { onDelete: "cascade", index: true }),
    key: {
      storage: "text",
      input: t.String({ minLength: 1, maxLength: 1024, description: "matched against the token's key claim (`iss` by default)" }),
      output: t.String(),
      unique: true,
      endpointKey: true,
      default: () => randomAlphanumeric(),
      vault: "value",
    },
    algorithm: { storage: "text", input: AlgorithmSchema, output: AlgorithmSchema, default: "HS256" },
    secret: {
      storage: "text",
      input: t.String({ minLength: 1, maxLength: 4096 }),
      output: nullable(t.String()),
      default: (credential: { algorithm: Algorithm }) => (isHmac(credential.algorithm) ? randomAlphanumeric() : null),
      vault: "value",
    },
    rsa_public_key: {
      storage: "text",
      input: t.String({ minLength: 1, maxLength: 65536, description: "PEM public key, X.509 certificate or JWK, for every asymmetric algorithm" }),
      output: nullable(t.String()),
      vault: "value",
    },
    jwks_uri: {
      storage: "text",
      input: t.String({ pattern: "^(https?|file):", maxLength: 2048, description: "JWKS to take keys from, by the token's `kid` (for HS*: `oct` keys, https: or file: only)" }),
      output: nullable(t.String()),
      vault: "value",
    },
    jwks_cache_ttl: { storage: "integer", input: t.Integer({ minimum: 0, maximum: 86400 }), output: t.Integer(), default: 300 },
    algorithms: {
      storage: "json",
      input: t.Array(AlgorithmSchema, { minItems: 1, uniqueItems: true, description: "allow-list; defaults to [algorithm]" }),
      output: nullable(t.Array(AlgorithmSchema)),
    },
  },
  inputExamples: [{ key: "https://issuer.example", algorithm: "HS256", secret: "a-very-long-shared-secret-value-1234" }],
  example: {
    id: "4b3f7a2e-6f3a-4f38-9d7e-2a9c1d0e5b11", consumer: { id: EXAMPLE_CONSUMER_ID }, key: "reporting-app-hs256", algorithm: "HS256", secret: "6bUzAaHc9hR5qvUiFfWJm3yXkLrT2nVd",
    rsa_public_key: null, jwks_uri: null, jwks_cache_ttl: 300, algorithms: null, tags: [], created_at: 1795000000, updated_at: 1795000000,
  },
  shape: (body, existing) => algorithmFromList(body, existing),
  complete: (credential, { input, fields }) => checkKeyMaterial(credential, input, fields),
  declarative: {
    label: "jwt_secret",
    nestedUnder: ["consumers"],
    // A key and an HMAC secret the file leaves out are derived from it: the same on every load.
    fill(entry, derive) {
      const seed = `jwt_secrets:${derive.refs.consumer}:${derive.position}`;
      entry.key ??= derive.text(seed);
      const list = Array.isArray(entry.algorithms) ? entry.algorithms : [];
      const algorithm = typeof entry.algorithm === "string" ? entry.algorithm : typeof list[0] === "string" ? list[0] : "HS256";
      if (entry.secret === undefined && entry.jwks_uri === undefined && isHmac(algorithm)) entry.secret = derive.secret(seed);
    },
    idSeed: (entry) => `jwt_secrets:${String(entry.key)}`,
  },
  admin: {
    tag: "jwt",
    tagDescription: "JWT credentials of consumers (`jwt_secrets`)",
    noun: "JWT credential",
    nouns: "JWT credentials",
    param: { name: "jwt", description: "id or key of the JWT credential", example: "reporting-app-hs256" },
    collections: [
      {
        under: "consumers",
        path: "jwt",
        stem: "ConsumerJwt",
        stems: "ConsumerJwts",
        itemParam: "jwt",
        methods: ["list", "create", "get", "update", "upsert", "delete"],
        examples: {
          create: [
            { summary: "an HS256 credential (omit `key` and `secret` to have them generated)", value: { key: "reporting-app-hs256", algorithm: "HS256", secret: "a-very-long-shared-secret-value-1234" } },
          ],
          upsert: [{ summary: "replace the credential (the key comes from the URL)", value: { algorithm: "HS384", secret: "another-very-long-shared-secret-5678" } }],
          update: [{ summary: "accept tokens signed with HS384 or HS512", value: { algorithm: "HS384", algorithms: ["HS384", "HS512"] } }],
        },
      },
      {
        path: "/jwts",
        stem: "Jwt",
        stems: "Jwts",
        itemParam: "jwt",
        methods: ["list", "create", "get", "update", "upsert", "delete"],
        examples: {
          create: [
            {
              summary: "an ES256 credential of a consumer named in the body",
              value: {
                consumer: { username: "reporting-app" },
                key: "reporting-app-es256",
                algorithm: "ES256",
                rsa_public_key:
                  "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8Gd6e+5zo2qX1nMK9PyRkU5B3bqF\nsCfuL3wDG+YOG8BRql0Ozlpt6VCPcNgPT6WqMZB+pcrIbjDrdGJxL9REJw==\n-----END PUBLIC KEY-----\n",
              },
            },
          ],
          upsert: [{ summary: "replace a credential", value: { consumer: { username: "reporting-app" }, algorithm: "HS256", secret: "a-third-very-long-shared-secret-9012" } }],
          update: [{ summary: "new tags", value: { tags: ["rotated-2026-11"] } }],
        },
      },
    ],
    referenceLinks: [{ field: "consumer", collection: "/jwts", summary: "Get the consumer of a JWT credential", description: "the credential's consumer" }],
  },
  cli: {
    nouns: "jwt credentials",
    columns: [
      { header: "KEY", value: (c) => c.key },
      { header: "ALGORITHM", value: (c) => c.algorithm },
      { header: "VERIFIES WITH", value: (c) => (c.jwks_uri ? `jwks ${c.jwks_uri}` : c.rsa_public_key ? "public key" : "secret") },
      { header: "CONSUMER_ID", value: (c) => c.consumer.id },
      { header: "ID", value: (c) => c.id },
    ],
  },
});

export type JwtCredential = RecordOf<typeof jwtCredentialEntity.fields>;

declare module "../../src/entities/index.ts" {
  interface EntityRecords {
    jwt_secrets: JwtCredential;
  }
}
