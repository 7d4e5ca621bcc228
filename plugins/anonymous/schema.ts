// The anonymous plugin's config: who an unauthenticated request becomes, and when.
import type { Static } from "@sinclair/typebox";
import { t } from "../../src/entities/t.ts";

export const AnonymousConfigSchema = t.Object(
  {
    consumer: t.String({ minLength: 1, description: "id or username of the consumer unauthenticated requests run as" }),
    on: t.Optional(
      t.Union([t.Literal("missing"), t.Literal("failure")], {
        default: "missing",
        description: "`missing`: only requests without any token become anonymous (a bad token still gets its 401); `failure`: any failed authentication does (Kong)",
      }),
    ),
  },
  { additionalProperties: false, examples: [{ consumer: "guest" }, { consumer: "guest", on: "failure" }] },
);

export type AnonymousConfig = Required<Static<typeof AnonymousConfigSchema>>;

/** Whether an authentication failure is covered by the anonymous fallback of this config. */
export function anonymousCovers(config: AnonymousConfig, tokenMissing: boolean): boolean {
  return config.on === "failure" || tokenMissing;
}
