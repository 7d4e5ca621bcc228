// The key-auth plugin's config: Kong 3.x's fields and defaults.
import type { Static } from "@sinclair/typebox";
import { t } from "../../src/entities/t.ts";
import type { FieldErrors } from "../../src/errors.ts";
import type { EntityLookup } from "../../src/pipeline/contract.ts";
import { isIdentityHeader } from "../../src/pipeline/request-context.ts";

/** An HTTP field name (RFC 9110 token), also usable as a query parameter name. */
const HeaderName = t.String({ minLength: 1, maxLength: 256, pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" });

export const KeyAuthConfigSchema = t.Object(
  {
    key_names: t.Optional(t.Array(HeaderName, { minItems: 1, default: ["apikey"], description: "header and query parameter names that may carry the key, tried in order" })),
    key_in_header: t.Optional(t.Boolean({ default: true })),
    key_in_query: t.Optional(t.Boolean({ default: true })),
    key_in_body: t.Optional(t.Boolean({ default: false, description: "also look for the key in a JSON, urlencoded or multipart body field (bodies up to 1 MiB)" })),
    hide_credentials: t.Optional(t.Boolean({ default: false, description: "remove the key from the request before proxying" })),
    anonymous: t.Optional(t.Union([t.String({ minLength: 1 }), t.Null()], { default: null, description: "consumer id or username to use when authentication fails" })),
    run_on_preflight: t.Optional(t.Boolean({ default: true, description: "false: every OPTIONS request skips authentication" })),
    realm: t.Optional(t.Union([t.String({ minLength: 1, maxLength: 256, pattern: '^[^"\\\\\\x00-\\x1f\\x7f]+$' }), t.Null()], { default: null, description: "realm of the WWW-Authenticate challenge (default `kong`)" })),
  },
  { additionalProperties: false, examples: [{}, { key_names: ["x-api-key"], hide_credentials: true }] },
);

export type KeyAuthConfig = Required<Static<typeof KeyAuthConfigSchema>>;

export function checkKeyAuthConfig(config: KeyAuthConfig, lookup: EntityLookup): FieldErrors | undefined {
  const fields: FieldErrors = {};
  if (config.anonymous !== null && !lookup.findConsumer(config.anonymous)) fields.anonymous = `no consumer with id or username '${config.anonymous}'`;
  const identity = config.key_names.find((name) => isIdentityHeader(name.toLowerCase()));
  if (identity) fields.key_names = `'${identity}' is an identity header the gateway removes from requests`;
  return Object.keys(fields).length ? fields : undefined;
}
