// The cors plugin's config: Kong 3.x's fields and defaults.
import type { Static } from "@sinclair/typebox";
import { t } from "../../src/entities/t.ts";

/** An HTTP field name (RFC 9110 token). */
const HeaderName = t.String({ minLength: 1, maxLength: 256, pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" });

export const KONG_METHODS = ["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT"];

const names = (description: string) => t.Optional(t.Union([t.Array(HeaderName), t.Null()], { default: null, description }));

export const CorsConfigSchema = t.Object(
  {
    origins: t.Optional(
      t.Union([t.Array(t.String({ minLength: 1 })), t.Null()], {
        default: null,
        description: "allowed origins: `*`, exact origins (`https://a.example`, default ports ignored), or regexes (any entry with a character outside A-Za-z0-9.:/-, matched against the whole origin)",
      }),
    ),
    headers: names("Access-Control-Allow-Headers; default: the preflight's Access-Control-Request-Headers"),
    exposed_headers: names("Access-Control-Expose-Headers"),
    methods: t.Optional(t.Array(t.Union(KONG_METHODS.map((method) => t.Literal(method))), { default: KONG_METHODS, description: "Access-Control-Allow-Methods" })),
    max_age: t.Optional(t.Union([t.Number(), t.Null()], { default: null, description: "Access-Control-Max-Age, seconds" })),
    credentials: t.Optional(t.Boolean({ default: false, description: "send Access-Control-Allow-Credentials: true" })),
    private_network: t.Optional(t.Boolean({ default: false, description: "answer Access-Control-Request-Private-Network: true with Access-Control-Allow-Private-Network: true" })),
    preflight_continue: t.Optional(t.Boolean({ default: false, description: "proxy preflights to the upstream instead of answering them" })),
  },
  { additionalProperties: false, examples: [{ origins: ["https://app.example"], credentials: true, max_age: 3600 }] },
);

export type CorsConfig = Required<Static<typeof CorsConfigSchema>>;
