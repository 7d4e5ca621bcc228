// Upstream (Kong's `upstreams`): a virtual host name a service's `host` can name, balanced over
// the upstream's targets. Every Kong 3.x field with its default; the nested `healthchecks`
// record is filled with Kong's defaults wherever a write leaves a part out.
import { isIP } from "node:net";
import type { FieldErrors } from "../errors.ts";
import { type RecordOf, defineEntity, nullable } from "./definition.ts";
import { quote } from "./quote.ts";
import { t } from "./t.ts";

export const ALGORITHMS = ["round-robin", "consistent-hashing", "least-connections", "latency"] as const;
export const HASH_INPUTS = ["none", "consumer", "ip", "header", "cookie", "path", "query_arg", "uri_capture"] as const;
const CHECK_TYPES = ["http", "https", "tcp"] as const;

/** A string limited to `values`: listed in OpenAPI, checked with a message naming them (see `oneOf`). */
const choice = (values: readonly string[], description: string) => t.String({ enum: [...values], description });
const HeaderName = t.String({ minLength: 1, maxLength: 256, pattern: "^[A-Za-z0-9!#$%&'*+.^_|~-]+$", description: "an HTTP header name" });
const Seconds = t.Number({ minimum: 0, maximum: 65535, description: "seconds (0: off)" });
const Count = t.Integer({ minimum: 0, maximum: 2147483648 });
const Statuses = t.Array(t.Integer({ minimum: 100, maximum: 999 }), { maxItems: 32 });
const UpstreamHostName = t.String({ minLength: 1, maxLength: 256, pattern: "^[A-Za-z0-9_.-]+$", description: "a host name (no IP address, no port)" });

const closed = <P extends Record<string, any>>(properties: P) => t.Object(properties, { additionalProperties: false });

const HealthchecksInput = closed({
  active: t.Optional(
    closed({
      type: t.Optional(choice(CHECK_TYPES, "http, https or tcp")),
      timeout: t.Optional(Seconds),
      concurrency: t.Optional(t.Integer({ minimum: 1, maximum: 2147483648 })),
      http_path: t.Optional(t.String({ pattern: "^/", maxLength: 1024 })),
      https_sni: t.Optional(nullable(t.String({ minLength: 1, maxLength: 256 }))),
      https_verify_certificate: t.Optional(t.Boolean()),
      headers: t.Optional(nullable(t.Record(t.String(), t.Array(t.String())))),
      healthy: t.Optional(closed({ interval: t.Optional(Seconds), http_statuses: t.Optional(Statuses), successes: t.Optional(Count) })),
      unhealthy: t.Optional(
        closed({ interval: t.Optional(Seconds), http_statuses: t.Optional(Statuses), tcp_failures: t.Optional(Count), timeouts: t.Optional(Count), http_failures: t.Optional(Count) }),
      ),
    }),
  ),
  passive: t.Optional(
    closed({
      type: t.Optional(choice(CHECK_TYPES, "http, https or tcp")),
      healthy: t.Optional(closed({ http_statuses: t.Optional(Statuses), successes: t.Optional(Count) })),
      unhealthy: t.Optional(closed({ http_statuses: t.Optional(Statuses), tcp_failures: t.Optional(Count), timeouts: t.Optional(Count), http_failures: t.Optional(Count) })),
    }),
  ),
  threshold: t.Optional(t.Number({ minimum: 0, maximum: 100, description: "percent of the total weight that must be healthy" })),
});

export interface Healthchecks {
  active: {
    type: (typeof CHECK_TYPES)[number];
    timeout: number;
    concurrency: number;
    http_path: string;
    https_sni: string | null;
    https_verify_certificate: boolean;
    headers: Record<string, string[]> | null;
    healthy: { interval: number; http_statuses: number[]; successes: number };
    unhealthy: { interval: number; http_statuses: number[]; tcp_failures: number; timeouts: number; http_failures: number };
  };
  passive: {
    type: (typeof CHECK_TYPES)[number];
    healthy: { http_statuses: number[]; successes: number };
    unhealthy: { http_statuses: number[]; tcp_failures: number; timeouts: number; http_failures: number };
  };
  threshold: number;
}

/** Kong 3.x's defaults: every check off (intervals and thresholds 0). */
export const HEALTHCHECK_DEFAULTS: Healthchecks = {
  active: {
    type: "http",
    timeout: 1,
    concurrency: 10,
    http_path: "/",
    https_sni: null,
    https_verify_certificate: true,
    headers: null,
    healthy: { interval: 0, http_statuses: [200, 302], successes: 0 },
    unhealthy: { interval: 0, http_statuses: [429, 404, 500, 501, 502, 503, 504, 505], tcp_failures: 0, timeouts: 0, http_failures: 0 },
  },
  passive: {
    type: "http",
    healthy: { http_statuses: [200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308], successes: 0 },
    unhealthy: { http_statuses: [429, 500, 503], tcp_failures: 0, timeouts: 0, http_failures: 0 },
  },
  threshold: 0,
};

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** `given` over `defaults`, record by record (a list or a scalar replaces the default whole). */
function merged(defaults: unknown, given: unknown): unknown {
  if (!isRecord(defaults) || !isRecord(given)) return given === undefined ? structuredClone(defaults) : given;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(defaults)) out[key] = merged(defaults[key], given[key]);
  return out;
}

export const withHealthcheckDefaults = (given: unknown): Healthchecks => merged(HEALTHCHECK_DEFAULTS, given ?? {}) as Healthchecks;

/** Active probing is on when either interval is; passive when any unhealthy threshold is. */
export function activeEnabled(checks: Healthchecks): boolean {
  return checks.active.healthy.interval > 0 || checks.active.unhealthy.interval > 0;
}

export function passiveEnabled(checks: Healthchecks): boolean {
  const { unhealthy } = checks.passive;
  return unhealthy.tcp_failures > 0 || unhealthy.timeouts > 0 || unhealthy.http_failures > 0;
}

function oneOf(fields: FieldErrors, name: string, value: unknown, values: readonly string[]): void {
  if (typeof value === "string" && !values.includes(value)) fields[name] = `expected one of: ${values.join(", ")} (got ${quote(value)})`;
}

/** Kong's rules between hash_on, hash_fallback and the fields each needs. */
function hashingRules(upstream: Upstream, fields: FieldErrors): void {
  const on = upstream.hash_on;
  const fallback = upstream.hash_fallback;
  const needs: [string, string, string | null][] = [
    ["hash_on", "header", upstream.hash_on_header],
    ["hash_fallback", "header", upstream.hash_fallback_header],
    ["hash_on", "cookie", upstream.hash_on_cookie],
    ["hash_fallback", "cookie", upstream.hash_on_cookie],
    ["hash_on", "query_arg", upstream.hash_on_query_arg],
    ["hash_fallback", "query_arg", upstream.hash_fallback_query_arg],
    ["hash_on", "uri_capture", upstream.hash_on_uri_capture],
    ["hash_fallback", "uri_capture", upstream.hash_fallback_uri_capture],
  ];
  for (const [field, input, value] of needs) {
    if (upstream[field as "hash_on" | "hash_fallback"] !== input || value) continue;
    const needed = input === "cookie" ? "hash_on_cookie" : `${field}_${input}`;
    fields[needed] = `required when ${field} is ${quote(input)}`;
  }
  if (fallback !== "none") {
    if (on === "none" || on === "cookie") fields.hash_fallback = `must be 'none' when hash_on is ${quote(on)}`;
    else if (fallback === on && on !== "header" && on !== "query_arg" && on !== "uri_capture") fields.hash_fallback = `must differ from hash_on (${quote(on)})`;
    else if (upstream.algorithm !== "consistent-hashing") fields.hash_fallback = "only used with algorithm 'consistent-hashing'";
  }
  const distinct: [string, string | null, string | null][] = [
    ["hash_fallback_header", upstream.hash_on_header, upstream.hash_fallback_header],
    ["hash_fallback_query_arg", upstream.hash_on_query_arg, upstream.hash_fallback_query_arg],
    ["hash_fallback_uri_capture", upstream.hash_on_uri_capture, upstream.hash_fallback_uri_capture],
  ];
  for (const [field, first, second] of distinct) {
    if (on === fallback && first && second && first.toLowerCase() === second.toLowerCase()) fields[field] = `must differ from ${field.replace("fallback", "on")}`;
  }
}

export const upstreamEntity = defineEntity({
  name: "upstreams",
  label: "upstream",
  schemaName: "Upstream",
  fields: {
    name: { storage: "text", input: UpstreamHostName, output: t.String(), required: true, unique: true, endpointKey: true },
    algorithm: { storage: "text", input: choice(ALGORITHMS, ALGORITHMS.join(", ")), output: t.String(), default: "round-robin" },
    hash_on: { storage: "text", input: choice(HASH_INPUTS, "what to hash with consistent-hashing"), output: t.String(), default: "none" },
    hash_fallback: { storage: "text", input: choice(HASH_INPUTS, "what to hash when hash_on gives nothing"), output: t.String(), default: "none" },
    hash_on_header: { storage: "text", input: nullable(HeaderName), output: nullable(t.String()) },
    hash_fallback_header: { storage: "text", input: nullable(HeaderName), output: nullable(t.String()) },
    hash_on_cookie: { storage: "text", input: nullable(t.String({ minLength: 1, maxLength: 256, pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$" })), output: nullable(t.String()) },
    hash_on_cookie_path: { storage: "text", input: t.String({ pattern: "^/", maxLength: 1024 }), output: t.String(), default: "/" },
    hash_on_query_arg: { storage: "text", input: nullable(t.String({ minLength: 1, maxLength: 256 })), output: nullable(t.String()) },
    hash_fallback_query_arg: { storage: "text", input: nullable(t.String({ minLength: 1, maxLength: 256 })), output: nullable(t.String()) },
    hash_on_uri_capture: { storage: "text", input: nullable(t.String({ minLength: 1, maxLength: 256 })), output: nullable(t.String()) },
    hash_fallback_uri_capture: { storage: "text", input: nullable(t.String({ minLength: 1, maxLength: 256 })), output: nullable(t.String()) },
    slots: { storage: "integer", input: t.Integer({ minimum: 10, maximum: 65536 }), output: t.Integer(), default: 10000 },
    healthchecks: {
      storage: "json",
      input: HealthchecksInput,
      output: t.Unsafe<Healthchecks>({ type: "object", description: "Kong's healthchecks record, every default filled in" }),
      normalize: withHealthcheckDefaults,
      default: () => withHealthcheckDefaults({}),
    },
    host_header: { storage: "text", input: nullable(t.String({ minLength: 1, maxLength: 256, pattern: "^[A-Za-z0-9_.-]+$|^\\[[0-9A-Fa-f:.]+\\]$" })), output: nullable(t.String()) },
    client_certificate: { storage: "json", input: nullable(t.Object({ id: t.String() })), output: nullable(t.Object({ id: t.String() })) },
    use_srv_name: { storage: "boolean", input: t.Boolean(), output: t.Boolean(), default: false },
  },
  inputExamples: [{ name: "orders.upstream", algorithm: "round-robin" }],
  example: {
    id: "5a1c9e0b-8d7f-4e6a-9b3c-2d1e0f9a8b7c", name: "orders.upstream", algorithm: "round-robin", hash_on: "none", hash_fallback: "none",
    hash_on_header: null, hash_fallback_header: null, hash_on_cookie: null, hash_on_cookie_path: "/", hash_on_query_arg: null, hash_fallback_query_arg: null,
    hash_on_uri_capture: null, hash_fallback_uri_capture: null, slots: 10000, healthchecks: HEALTHCHECK_DEFAULTS, host_header: null, client_certificate: null,
    use_srv_name: false, tags: [], created_at: 1795000000, updated_at: 1795000000,
  },
  complete(upstream, { fields, input, existing }) {
    // Kong merges a PATCH's partial record into the stored one; a create or PUT starts from the defaults.
    if (existing && input.healthchecks !== undefined) upstream.healthchecks = merged(existing.healthchecks, input.healthchecks) as Healthchecks;
    if (isIP(upstream.name)) fields.name = "Invalid name; no ip addresses allowed";
    oneOf(fields, "algorithm", upstream.algorithm, ALGORITHMS);
    oneOf(fields, "hash_on", upstream.hash_on, HASH_INPUTS);
    oneOf(fields, "hash_fallback", upstream.hash_fallback, HASH_INPUTS);
    const checks = upstream.healthchecks as Healthchecks;
    oneOf(fields, "healthchecks.active.type", checks.active.type, CHECK_TYPES);
    oneOf(fields, "healthchecks.passive.type", checks.passive.type, CHECK_TYPES);
    if (Object.keys(fields).length === 0) hashingRules(upstream as Upstream, fields);
    // Mutual TLS towards targets needs a certificate entity this gateway does not have.
    if (upstream.client_certificate) fields.client_certificate = "client certificates for upstreams are not supported by this gateway";
  },
  declarative: { idSeed: (entry, _refs, position) => `upstreams:${entry.name ?? position}` },
  admin: {
    tag: "upstreams",
    tagDescription: "Upstreams: host names a service can name, balanced over their targets",
    noun: "upstream",
    nouns: "upstreams",
    param: { name: "upstream", description: "id or name of the upstream", example: "orders.upstream" },
    collections: [
      {
        path: "/upstreams",
        stem: "Upstream",
        stems: "Upstreams",
        itemParam: "upstream",
        methods: ["list", "create", "get", "update", "upsert", "delete"],
        examples: {
          create: [{ summary: "a round-robin upstream", value: { name: "orders.upstream" } }],
          upsert: [{ summary: "consistent hashing on a header", value: { algorithm: "consistent-hashing", hash_on: "header", hash_on_header: "x-session-id" } }],
          update: [{ summary: "passive health checks", value: { healthchecks: { passive: { unhealthy: { http_failures: 3, tcp_failures: 2 } } } } }],
        },
      },
    ],
    delete: { description: "Deletes the upstream and its targets. Deleting an upstream that does not exist is a 404 (Kong answers 204)." },
  },
  cli: {
    columns: [
      { header: "NAME", value: (u) => u.name },
      { header: "ALGORITHM", value: (u) => u.algorithm },
      { header: "ID", value: (u) => u.id },
    ],
  },
});

export type Upstream = RecordOf<typeof upstreamEntity.fields>;
