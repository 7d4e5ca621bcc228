// The acl plugin's config, as Kong's: exactly one of `allow` or `deny`.
import type { Static } from "@sinclair/typebox";
import { t } from "../../src/entities/t.ts";
import type { FieldErrors } from "../../src/errors.ts";

const Groups = (description: string) =>
  t.Optional(t.Union([t.Array(t.String({ minLength: 1 }), { minItems: 1 }), t.Null()], { default: null, description }));

export const AclConfigSchema = t.Object(
  {
    allow: Groups("groups allowed in (any one is enough)"),
    deny: Groups("groups kept out (any one is enough)"),
    hide_groups_header: t.Optional(t.Boolean({ default: false, description: "do not send X-Consumer-Groups / X-Authenticated-Groups upstream" })),
    always_use_authenticated_groups: t.Optional(
      t.Boolean({ default: false, description: "decide on the authenticated groups (e.g. jwt groups_claim) even when the consumer has ACL rows" }),
    ),
  },
  { additionalProperties: false, examples: [{ allow: ["finance"] }, { deny: ["banned"], hide_groups_header: true }] },
);

export type AclConfig = Required<Static<typeof AclConfigSchema>>;

export function checkAclConfig(config: AclConfig): FieldErrors | undefined {
  if ((config.allow === null) === (config.deny === null)) return { "@entity": "exactly one of allow or deny must be set" };
  return undefined;
}
