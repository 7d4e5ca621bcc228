// The basic-auth plugin's config: Kong 3.x's fields and defaults.
import type { Static } from "@sinclair/typebox";
import { t } from "../../src/entities/t.ts";
import type { FieldErrors } from "../../src/errors.ts";
import type { EntityLookup } from "../../src/pipeline/contract.ts";

export const BasicAuthConfigSchema = t.Object(
  {
    anonymous: t.Optional(t.Union([t.String({ minLength: 1 }), t.Null()], { default: null, description: "consumer id or username to use when authentication fails" })),
    hide_credentials: t.Optional(t.Boolean({ default: false, description: "remove Authorization and Proxy-Authorization before proxying" })),
    realm: t.Optional(t.String({ minLength: 1, maxLength: 256, pattern: '^[^"\\\\\\x00-\\x1f\\x7f]+$', default: "service", description: "realm of the WWW-Authenticate challenge" })),
  },
  { additionalProperties: false, examples: [{}, { hide_credentials: true, realm: "billing" }] },
);

export type BasicAuthConfig = Required<Static<typeof BasicAuthConfigSchema>>;

export function checkBasicAuthConfig(config: BasicAuthConfig, lookup: EntityLookup): FieldErrors | undefined {
  if (config.anonymous !== null && !lookup.findConsumer(config.anonymous)) return { anonymous: `no consumer with id or username '${config.anonymous}'` };
  return undefined;
}
