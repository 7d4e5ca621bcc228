// The request-transformer plugin's config: Kong 3.x's shape. Headers, query string and body
// fields: all five operations; `replace.uri` and `http_method`. What Kong would evaluate or send
// that the gateway cannot (`$(...)` templates, HEAD and TRACE) is refused on write, naming the
// field, rather than accepted and ignored.
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
        body: names ? Names("fields of a JSON, urlencoded or multipart body (up to 1 MiB)") : Pairs("`name:value` items for a JSON, urlencoded or multipart body (up to 1 MiB); values are strings"),
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

/** The methods Kong's `kong.service.request.set_method` accepts (any other fails each request), without the two in UNSENDABLE_METHODS. */
const SETTABLE_METHODS: ReadonlySet<string> = new Set(["GET", "PUT", "POST", "DELETE", "OPTIONS", "MKCOL", "COPY", "MOVE", "PROPFIND", "PROPPATCH", "LOCK", "UNLOCK", "PATCH"]);
const UNSENDABLE_METHODS: ReadonlySet<string> = new Set(["HEAD", "TRACE"]);
const TEMPLATE = "$(";
/** A name written into a multipart part's header must not end it or its quoted string. */
const NOT_A_FIELD_NAME = /["\x00-\x1f\x7f]/;

/** Refuses body items whose field name (the new one too, for rename) could not go into a multipart part's header. */
function checkBodyItems(operation: (typeof OPERATIONS)[number], items: string[], fields: FieldErrors): void {
  items.forEach((item, i) => {
    const names = operation === "remove" ? [item] : operation === "rename" ? splitPair(item) : [splitPair(item)[0]];
    const bad = names.find((name) => NOT_A_FIELD_NAME.test(name));
    if (bad !== undefined) fields[`${operation}.body[${i}]`] = `'${bad}' cannot be a body field name: it holds a quote or a control character`;
  });
}

export function checkRequestTransformerConfig(config: RequestTransformerConfig): FieldErrors | undefined {
  const fields: FieldErrors = {};
  checkHeaderItems(config, reservedRequestHeader, fields);
  for (const operation of OPERATIONS) {
    const section = config[operation] as { querystring?: string[]; body?: string[]; uri?: string | null } | undefined;
    checkBodyItems(operation, section?.body ?? [], fields);
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
