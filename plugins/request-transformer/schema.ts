// The request-transformer plugin's config: Kong 3.x's shape. Headers and query string: all five
// operations; `replace.uri` and `http_method`. Any `body` operation, and what Kong would evaluate
// or send that the gateway cannot (`$(...)` templates, HEAD and TRACE), are refused on write,
// naming the field, rather than accepted and ignored.
import type { Static } from "@sinclair/typebox";
import { t } from "../../src/entities/t.ts";
import type { FieldErrors } from "../../src/errors.ts";
import { Names, OPERATIONS, Pairs, checkHeaderItems, reservedRequestHeader, splitPair } from "../../src/pipeline/header-operations.ts";
import { canonicalPath } from "../../src/proxy/canonical-path.ts";

const section = (names: boolean, withUri = false) =>
  t.Optional(
    t.Object(
      {
        headers: names ? Names("header names") : Pairs("`name:value` items"),
        querystring: names ? Names("query parameter names") : Pairs("`name:value` items"),
        body: names ? Names("body fields (not supported)") : Pairs("body fields (not supported)"),
        ...(withUri ? { uri: t.Optional(t.Union([t.String({ maxLength: 4096 }), t.Null()], { default: null, description: "the path the upstream gets, in place of the route's and service's" })) } : {}),
      },
      { additionalProperties: false, default: {} },
    ),
  );

export const RequestTransformerConfigSchema = t.Object(
  {
    http_method: t.Optional(t.Union([t.String({ pattern: "^[A-Z]+$" }), t.Null()], { default: null, description: "the method the upstream gets, in place of the client's" })),
    remove: section(true),
    rename: section(false),
    replace: section(false, true),
    add: section(false),
    append: section(false),
  },
  { additionalProperties: false, examples: [{ add: { headers: ["X-Team:billing"] }, remove: { headers: ["X-Debug"], querystring: ["debug"] } }] },
);

export type RequestTransformerConfig = Required<Static<typeof RequestTransformerConfigSchema>>;

const UNSUPPORTED_BODY = "not supported: request bodies are streamed to the upstream, never buffered for plugins";
/** The methods Kong's `kong.service.request.set_method` accepts (any other fails each request), without the two in UNSENDABLE_METHODS. */
const SETTABLE_METHODS: ReadonlySet<string> = new Set(["GET", "PUT", "POST", "DELETE", "OPTIONS", "MKCOL", "COPY", "MOVE", "PROPFIND", "PROPPATCH", "LOCK", "UNLOCK", "PATCH"]);
const UNSENDABLE_METHODS: ReadonlySet<string> = new Set(["HEAD", "TRACE"]);
const TEMPLATE = "$(";

export function checkRequestTransformerConfig(config: RequestTransformerConfig): FieldErrors | undefined {
  const fields: FieldErrors = {};
  checkHeaderItems(config, reservedRequestHeader, fields);
  for (const operation of OPERATIONS) {
    const section = config[operation] as { querystring?: string[]; body?: string[]; uri?: string | null } | undefined;
    if (section?.body?.length) fields[`${operation}.body`] = UNSUPPORTED_BODY;
  }
  checkQueryItems(config, fields);
  const uri = config.replace.uri;
  if (uri) {
    const why = uriRefusal(uri);
    if (why !== null) fields["replace.uri"] = why;
  }
  const method = config.http_method;
  if (method && !SETTABLE_METHODS.has(method) && !UNSENDABLE_METHODS.has(method)) fields.http_method = `invalid method '${method}': expected one of ${[...SETTABLE_METHODS].join(", ")}`;
  return Object.keys(fields).length ? fields : undefined;
}

/** Kong fails every request a rename to nothing meets (a parameter named nil); the gateway refuses it. */
function checkQueryItems(config: RequestTransformerConfig, fields: FieldErrors): void {
  (config.rename.querystring ?? []).forEach((item, i) => {
    if (splitPair(item)[1].trim() === "") fields[`rename.querystring[${i}]`] = "expected '<name>:<new name>'";
  });
}

/**
 * Why `uri` cannot be the upstream's path, or null: it goes as it is into the request line, so
 * it must be a canonical path (src/proxy/canonical-path.ts), as the joined route and service
 * paths are: no `.` or `..` segment, `//`, `?`, `#`, `;`, whitespace or control character.
 */
function uriRefusal(uri: string): string | null {
  const canonical = canonicalPath(uri);
  if (canonical === null) return `'${uri}' is not a path the gateway can send: expected '/' then segments without '.' or '..', '//', '?', '#', ';', encoded '/', whitespace or control characters`;
  return canonical === uri ? null : `'${uri}' is not in canonical form: write '${canonical}'`;
}

/**
 * Config values asking for what Kong does and the gateway cannot, by field (the plugin's
 * `unsupported`): `$(...)` templates, which Kong evaluates in every value (never in a name) and
 * the gateway would send literally, and HEAD or TRACE as the upstream's method (fetch cannot
 * send a body with them, and a HEAD's answer has none for the client of another method).
 */
export function unsupportedRequestTransformerConfig(config: Record<string, unknown>): FieldErrors | undefined {
  const fields: FieldErrors = {};
  for (const operation of OPERATIONS) {
    const section = config[operation];
    if (operation === "remove" || typeof section !== "object" || section === null) continue;
    for (const [field, items] of Object.entries(section)) {
      if (field === "uri") {
        if (typeof items === "string" && items.includes(TEMPLATE)) fields[`${operation}.uri`] = TEMPLATES_NOT_EVALUATED;
        continue;
      }
      if (!Array.isArray(items)) continue;
      items.forEach((item, i) => {
        if (typeof item === "string" && splitPair(item)[1].includes(TEMPLATE)) fields[`${operation}.${field}[${i}]`] = TEMPLATES_NOT_EVALUATED;
      });
    }
  }
  const method = config.http_method;
  if (typeof method === "string" && UNSENDABLE_METHODS.has(method)) fields.http_method = `'${method}' is not supported: the gateway cannot send it in place of the client's method (a HEAD's answer has no body for the client to read, a TRACE cannot carry the client's)`;
  return Object.keys(fields).length ? fields : undefined;
}

const TEMPLATES_NOT_EVALUATED = "not supported: Kong's $(...) templates are not evaluated";
