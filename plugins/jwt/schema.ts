// The jwt plugin's config: Kong's fields with Kong's defaults, then the optional extensions of
// SPEC §5.2. Optional fields default to null so a stored config shows every field, as Kong's does.
import type { Static } from "@sinclair/typebox";
import { t } from "../../src/entities/t.ts";
import type { FieldErrors } from "../../src/errors.ts";
import type { EntityLookup } from "../../src/pipeline/contract.ts";
import { isIdentityHeader } from "../../src/pipeline/request-context.ts";

/** An HTTP field name (RFC 9110 token): anything else would make header lookups throw. */
export const HeaderName = t.String({ minLength: 1, maxLength: 256, pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" });
const claimPath = (options: { default?: string } = {}) =>
  t.String({ minLength: 1, maxLength: 256, pattern: "^[^.]+(\\.[^.]+)*$", description: "claim name, or a dot path into nested objects (e.g. `realm_access.roles`)", ...options });
const NonEmptyStrings = t.Array(t.String({ minLength: 1 }), { minItems: 1 });
const nullable = <T extends Parameters<typeof t.Union>[0][number]>(schema: T, description: string) =>
  t.Optional(t.Union([schema, t.Null()], { default: null, description }));

export const JwtConfigSchema = t.Object(
  {
    uri_param_names: t.Optional(t.Array(t.String(), { default: ["jwt"], description: "query parameters that may carry the token" })),
    cookie_names: t.Optional(t.Array(t.String(), { default: [], description: "cookies that may carry the token" })),
    header_names: t.Optional(t.Array(HeaderName, { default: ["authorization"], description: "headers that may carry `Bearer <token>`" })),
    key_claim_name: t.Optional(t.String({ minLength: 1, default: "iss", description: "claim (payload first, then JOSE header) naming the credential's `key`" })),
    secret_is_base64: t.Optional(t.Boolean({ default: false })),
    claims_to_verify: nullable(t.Array(t.Union([t.Literal("exp"), t.Literal("nbf"), t.Literal("iat")])), "registered claims that must be present and valid"),
    anonymous: nullable(t.String({ minLength: 1 }), "consumer id or username to use when authentication fails (Kong's logical OR)"),
    run_on_preflight: t.Optional(t.Boolean({ default: true, description: "false: every OPTIONS request skips authentication" })),
    maximum_expiration: t.Optional(t.Number({ minimum: 0, maximum: 31536000, default: 0, description: "seconds; > 0 requires `exp` in claims_to_verify" })),
    realm: nullable(t.String({ minLength: 1, maxLength: 256, pattern: '^[^"\\\\\\x00-\\x1f\\x7f]+$' }), "realm of the WWW-Authenticate challenge"),
    max_token_bytes: t.Optional(t.Integer({ minimum: 64, maximum: 1048576, default: 8192, description: "longer tokens are refused before parsing" })),
    leeway: t.Optional(t.Integer({ minimum: 0, maximum: 86400, default: 0, description: "seconds of clock skew allowed for exp, nbf and iat" })),
    issuers: nullable(NonEmptyStrings, "allowed `iss` values"),
    audiences: nullable(NonEmptyStrings, "the token's `aud` must contain one of these"),
    required_claims: nullable(NonEmptyStrings, "claims that must be present"),
    roles_claim: nullable(claimPath(), "where the token's roles are (a string or an array of strings)"),
    roles: nullable(NonEmptyStrings, "the token needs any one of these roles (403 otherwise)"),
    scopes_claim: t.Optional(claimPath({ default: "scope" })),
    scopes: nullable(NonEmptyStrings, "scopes the token needs (403 otherwise)"),
    scopes_match: t.Optional(t.Union([t.Literal("any"), t.Literal("all")], { default: "any" })),
    groups_claim: nullable(claimPath(), "the token's groups become the request's authenticated groups (for acl)"),
    claims_to_headers: nullable(t.Record(t.String(), HeaderName), "`{ \"<claim path>\": \"<Upstream-Header>\" }`"),
    hide_credentials: t.Optional(t.Boolean({ default: false, description: "remove the token from the request before proxying" })),
    cache_size: t.Optional(t.Integer({ minimum: 0, maximum: 1000000, default: 10000, description: "verified tokens kept per plugin instance, keyed by their SHA-256 and also bounded to 2 KiB × cache_size (at least 16 MiB) of estimated memory; 0 turns the cache off" })),
  },
  {
    additionalProperties: false,
    examples: [
      { claims_to_verify: ["exp"] },
      { key_claim_name: "kid", claims_to_verify: ["exp"], maximum_expiration: 3600, realm: "api" },
      { claims_to_verify: ["exp", "nbf"], leeway: 30, audiences: ["billing"], roles_claim: "realm_access.roles", roles: ["admin"], groups_claim: "groups", claims_to_headers: { sub: "X-User-Id" }, hide_credentials: true },
    ],
  },
);

export type JwtConfig = Required<Static<typeof JwtConfigSchema>>;

const PATH_PATTERN = /^[^.]+(\.[^.]+)*$/;

/** Headers a claim must not overwrite: routing, framing and the token itself. */
const RESERVED_TARGETS: ReadonlySet<string> = new Set([
  "host", "authorization", "cookie", "content-length", "content-type", "transfer-encoding", "connection",
  "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "x-forwarded-prefix", "x-real-ip", "x-request-id",
]);

export function checkJwtConfig(config: JwtConfig, lookup: EntityLookup): FieldErrors | undefined {
  const fields: FieldErrors = {};
  if (config.maximum_expiration > 0 && !config.claims_to_verify?.includes("exp")) fields.claims_to_verify = "expected to contain: exp";
  if (config.anonymous !== null && !lookup.findConsumer(config.anonymous)) {
    fields.anonymous = `no consumer with id or username '${config.anonymous}'`;
  }
  // Client-sent identity headers are removed before the token is looked for.
  const identity = config.header_names.find((name) => isIdentityHeader(name.toLowerCase()));
  if (identity) fields.header_names = `'${identity}' is an identity header the gateway removes from requests`;
  if (config.roles !== null && config.roles_claim === null) fields.roles_claim = "required when roles is set";
  for (const [path, header] of Object.entries(config.claims_to_headers ?? {})) {
    if (!PATH_PATTERN.test(path)) fields[`claims_to_headers.${path}`] = "must be a claim name or dot path";
    else if (isIdentityHeader(header.toLowerCase()) || RESERVED_TARGETS.has(header.toLowerCase())) {
      fields[`claims_to_headers.${path}`] = `'${header}' is set by the gateway itself`;
    }
  }
  return Object.keys(fields).length ? fields : undefined;
}
