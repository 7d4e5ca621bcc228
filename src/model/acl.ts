// ACL row: a consumer's membership of a group, which the acl plugin allows or denies.
import type { Static } from "elysia";
import { t } from "./t.ts";
import { ValidationError } from "../errors.ts";
import { Generated, IdRef, InputMeta, Ref, assertSchema, now } from "./common.ts";

export const AclInput = t.Object(
  {
    ...InputMeta,
    consumer: t.Optional(Ref),
    group: t.String({ minLength: 1, maxLength: 256, pattern: "^[^,]+$", description: "group name (no commas: groups are sent comma-joined)" }),
  },
  { additionalProperties: false, examples: [{ group: "finance" }] },
);
export type AclInput = Static<typeof AclInput>;

export const Acl = t.Object({ ...Generated, consumer: IdRef, group: t.String() });
export type Acl = Static<typeof Acl>;

export function buildAcl(input: unknown, consumerId: string | undefined, existing?: Acl): Acl {
  const merged = existing && typeof input === "object" && input !== null && !("group" in input) ? { ...input, group: existing.group } : input;
  assertSchema(AclInput, merged);
  const consumer = consumerId ?? existing?.consumer.id;
  if (!consumer) throw new ValidationError({ consumer: "required field missing" });
  const time = now();
  return {
    id: existing?.id ?? merged.id ?? crypto.randomUUID(),
    consumer: { id: consumer },
    group: merged.group,
    tags: merged.tags ?? existing?.tags ?? [],
    created_at: existing?.created_at ?? time,
    updated_at: time,
  };
}
