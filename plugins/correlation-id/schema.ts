// The correlation-id plugin's config: Kong 3.x's fields and defaults.
import type { Static } from "@sinclair/typebox";
import { t } from "../../src/entities/t.ts";
import type { FieldErrors } from "../../src/errors.ts";
import { NO_OWNED_HEADERS, isClientOnly } from "../../src/proxy/client-headers.ts";

export const GENERATORS = ["uuid", "uuid#counter", "tracker"] as const;
export const DEFAULT_HEADER = "Kong-Request-ID";

export const CorrelationIdConfigSchema = t.Object(
  {
    header_name: t.Optional(
      t.Union([t.String({ minLength: 1, maxLength: 256, pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" }), t.Null()], {
        default: DEFAULT_HEADER,
        description: "the correlation header (null: Kong-Request-ID)",
      }),
    ),
    generator: t.Optional(t.Union(GENERATORS.map((name) => t.Literal(name)), { default: "uuid", description: "how a missing id is made: uuid (the gateway's request id), uuid#counter, tracker" })),
    echo_downstream: t.Optional(t.Boolean({ default: false, description: "send the correlation header back to the client too" })),
  },
  { additionalProperties: false, examples: [{ header_name: "X-Correlation-ID", generator: "uuid", echo_downstream: true }] },
);

export type CorrelationIdConfig = Required<Static<typeof CorrelationIdConfigSchema>>;

/** Headers the gateway owns (identity, forwarding, hop-by-hop, framing) cannot carry a correlation id. */
export function checkCorrelationIdConfig(config: CorrelationIdConfig): FieldErrors | undefined {
  const name = (config.header_name ?? DEFAULT_HEADER).toLowerCase();
  if (name === "host" || name === "content-length" || name === "content-type" || name.startsWith("x-forwarded-") || isClientOnly(name, NO_OWNED_HEADERS)) {
    return { header_name: `${config.header_name} is a header the gateway owns` };
  }
  return undefined;
}
