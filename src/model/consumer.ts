// Consumer: a client identity that credentials, ACL groups and consumer-scoped plugins hang off.
import type { Static } from "elysia";
import { t } from "./t.ts";
import { ValidationError } from "../errors.ts";
import { Generated, InputMeta, assertSchema, now } from "./common.ts";

const Username = t.String({ minLength: 1, maxLength: 256 });

export const ConsumerInput = t.Object(
  {
    ...InputMeta,
    username: t.Optional(Username),
    custom_id: t.Optional(t.String({ minLength: 1, maxLength: 256 })),
  },
  { additionalProperties: false, examples: [{ username: "reporting-app", custom_id: "app-42" }] },
);
export type ConsumerInput = Static<typeof ConsumerInput>;

export const Consumer = t.Object({
  ...Generated,
  username: t.Union([t.String(), t.Null()]),
  custom_id: t.Union([t.String(), t.Null()]),
});
export type Consumer = Static<typeof Consumer>;

export function buildConsumer(input: unknown, existing?: Consumer): Consumer {
  assertSchema(ConsumerInput, input);
  const username = input.username ?? existing?.username ?? null;
  const customId = input.custom_id ?? existing?.custom_id ?? null;
  if (username === null && customId === null) {
    throw new ValidationError({ "@entity": "at least one of username or custom_id must be set" });
  }
  const time = now();
  return {
    id: existing?.id ?? input.id ?? crypto.randomUUID(),
    username,
    custom_id: customId,
    tags: input.tags ?? existing?.tags ?? [],
    created_at: existing?.created_at ?? time,
    updated_at: time,
  };
}
