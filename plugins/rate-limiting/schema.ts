// The rate-limiting plugin's config: Kong 3.x's fields and defaults. `policy: redis` is not
// offered (no Redis client in the binary); `redis` and `sync_rate` are accepted so Kong files load.
import type { Static } from "@sinclair/typebox";
import { t } from "../../src/entities/t.ts";
import type { FieldErrors } from "../../src/errors.ts";

/** An HTTP field name (RFC 9110 token). */
const HeaderName = t.String({ minLength: 1, maxLength: 256, pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" });

const KongRedisField = t.Optional(t.Union([t.String(), t.Number(), t.Boolean(), t.Null()], { description: "accepted for Kong files; unused (no redis policy)" }));

export const PERIODS = ["second", "minute", "hour", "day", "month", "year"] as const;
export type Period = (typeof PERIODS)[number];

const limit = (period: string) => t.Optional(t.Union([t.Number({ exclusiveMinimum: 0 }), t.Null()], { default: null, description: `requests allowed per ${period}` }));

export const RateLimitingConfigSchema = t.Object(
  {
    second: limit("second"),
    minute: limit("minute"),
    hour: limit("hour"),
    day: limit("day"),
    month: limit("month"),
    year: limit("year"),
    limit_by: t.Optional(
      t.Union(["consumer", "credential", "ip", "service", "header", "path"].map((value) => t.Literal(value)), {
        default: "consumer",
        description: "what a counter counts; without one (no consumer, no header, another path) the client IP",
      }),
    ),
    header_name: t.Optional(t.Union([HeaderName, t.Null()], { default: null, description: "limit_by header: the header whose value is counted" })),
    path: t.Optional(t.Union([t.String({ minLength: 1, pattern: "^/" }), t.Null()], { default: null, description: "limit_by path: the request path counted (others count by IP)" })),
    policy: t.Optional(
      t.Union([t.Literal("local"), t.Literal("cluster")], {
        default: "local",
        description: "local: in memory, per worker process; cluster: in the gateway's database, shared by every process on it",
      }),
    ),
    fault_tolerant: t.Optional(t.Boolean({ default: true, description: "when the counters cannot be read or written: true lets the request through, false answers 500" })),
    hide_client_headers: t.Optional(t.Boolean({ default: false, description: "send no RateLimit-* / X-RateLimit-* / Retry-After headers" })),
    error_code: t.Optional(t.Integer({ minimum: 100, maximum: 599, default: 429 })),
    error_message: t.Optional(t.String({ default: "API rate limit exceeded" })),
    sync_rate: t.Optional(t.Number({ default: -1, description: "accepted for Kong files; counters are always written synchronously" })),
    redis: t.Optional(t.Union([t.Record(t.String(), t.Unknown()), t.Null()], { default: null, description: "accepted for Kong files; unused (no redis policy)" })),
    // Kong 3.0-3.5's flat redis fields (decK dumps of those versions write them all): accepted, unused.
    redis_host: KongRedisField,
    redis_port: KongRedisField,
    redis_username: KongRedisField,
    redis_password: KongRedisField,
    redis_database: KongRedisField,
    redis_timeout: KongRedisField,
    redis_ssl: KongRedisField,
    redis_ssl_verify: KongRedisField,
    redis_server_name: KongRedisField,
  },
  { additionalProperties: false, examples: [{ minute: 60 }, { second: 5, hour: 1000, limit_by: "ip", policy: "cluster" }] },
);

export type RateLimitingConfig = Required<Static<typeof RateLimitingConfigSchema>> & { limit_by: "consumer" | "credential" | "ip" | "service" | "header" | "path" };

/** Kong's schema checks: at least one limit, longer windows no lower than shorter ones, header/path given. */
export function checkRateLimitingConfig(config: RateLimitingConfig): FieldErrors | undefined {
  const set = PERIODS.filter((period) => config[period] !== null);
  if (set.length === 0) return { "@entity": "You need to set at least one limit: second, minute, hour, day, month, year" };
  for (let i = 1; i < set.length; i++) {
    const [shorter, longer] = [set[i - 1]!, set[i]!];
    if (config[longer]! < config[shorter]!) return { "@entity": `The limit for ${longer}(${config[longer]!.toFixed(1)}) cannot be lower than the limit for ${shorter}(${config[shorter]!.toFixed(1)})` };
  }
  // An informational status cannot end a request: 101 would tell the client (and any proxy in
  // front) that the connection switched protocols, and 1xx others do not carry the answer.
  if (config.error_code < 200) return { error_code: "an informational status (1xx) cannot end a request" };
  if (config.limit_by === "header" && config.header_name === null) return { "@entity": "No header name provided" };
  if (config.limit_by === "path" && config.path === null) return { "@entity": "No path provided" };
  return undefined;
}
