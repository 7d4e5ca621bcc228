// request-transformer's body operations, Kong 3.x's transform_body: for a JSON object,
// urlencoded or multipart body of at most MAX_BUFFERED_BODY_BYTES, the body fields are removed,
// renamed, replaced, added and appended as Kong does it per format; values are strings, as in
// Kong. A body of another type, JSON that is not an object, and a body no operation changed go
// on as sent. Unlike Kong, a body that does not parse as its Content-Type says, or one past the
// bound, is refused when the plugin removes, renames or replaces fields: Kong sends it on
// untouched, and what a more lenient upstream parser reads there (Python's json reads NaN, Go's
// multipart LF line ends) would pass the removal; so is a JSON object sent as another type or
// none, which Go's encoding/json decodes all the same. Unlike Kong too, a field answers to every name
// it equals under simple case folding, as Go's encoding/json matches JSON keys and ASP.NET Core
// JSON keys and form fields: `IS_ADMIN` and `iſ_admin` are removed with `is_admin`, and of several
// JSON spellings the value read is the last one in the body, the one Go keeps.
import { type BodyFields, type BodyFormat, NO_FIELDS, appendedValue, bodyFormatOf, isPresent, parseBodyFields } from "../../src/pipeline/body-fields.ts";
import type { AccessResult, RequestContext } from "../../src/pipeline/contract.ts";
import { JSON_CONTENT_TYPE } from "../../src/proxy/responses.ts";
import { type OperationPlan, splitPair } from "../../src/pipeline/header-operations.ts";
import { MAX_BUFFERED_BODY_BYTES } from "../../src/pipeline/request-body.ts";
import type { RequestTransformerConfig } from "./schema.ts";

/** The config's body operations, or null when it has none (its requests never read the body). */
export function bodyPlan(config: RequestTransformerConfig): OperationPlan | null {
  const pairs = (items: string[] | undefined) => (items ?? []).map(splitPair);
  const plan: OperationPlan = {
    remove: (config.remove.body ?? []).map((name) => name.trim()),
    rename: pairs(config.rename.body).map(([from, to]) => [from, to.trim()]),
    replace: pairs(config.replace.body),
    add: pairs(config.add.body),
    append: pairs(config.append.body),
  };
  return Object.values(plan).some((items) => items.length > 0) ? plan : null;
}

/** Kong's removal, renaming and replacement touch only a body that has content; adding and appending also make one. */
function transform(fields: BodyFields, format: BodyFormat, plan: OperationPlan, hadBody: boolean): boolean {
  let changed = false;
  const remove = () => {
    for (const name of plan.remove) {
      if (fields.get(name) === undefined) continue;
      fields.delete(name);
      changed = true;
    }
  };
  const rename = () => {
    for (const [from, to] of plan.rename) {
      const value = fields.get(from);
      if (value === undefined) continue;
      fields.delete(from);
      fields.set(to, value);
      changed = true;
    }
  };
  if (hadBody) {
    // Kong's multipart transform renames before it removes.
    if (format === "multipart") {
      rename();
      remove();
    } else {
      remove();
      rename();
    }
    for (const [name, value] of plan.replace) {
      if (!isPresent(fields.get(name))) continue;
      // A multipart field is replaced by a new part at the end (Kong deletes, then sets).
      if (format === "multipart") fields.delete(name);
      fields.set(name, value);
      changed = true;
    }
  }
  for (const [name, value] of plan.add) {
    if (isPresent(fields.get(name))) continue;
    fields.set(name, value);
    changed = true;
  }
  // Kong's multipart transform has no append.
  if (format !== "multipart") {
    for (const [name, value] of plan.append) {
      fields.set(name, appendedValue(fields.get(name), value));
      changed = true;
    }
  }
  return changed;
}

const MEDIA_TYPE: Record<BodyFormat, string> = { json: "application/json", urlencoded: "application/x-www-form-urlencoded", multipart: "multipart/form-data" };

/** Every way the body operations refuse a request: status and message. */
export const BODY_REFUSALS = {
  malformed: (format: BodyFormat) => ({ status: 400, message: `the request body does not parse as ${MEDIA_TYPE[format]}, so request-transformer cannot remove, rename or replace its fields` }),
  encoded: () => ({ status: 415, message: "the request body is content-encoded, so request-transformer cannot remove, rename or replace its fields" }),
  charset: (charset: string) => ({ status: 415, message: `the request body's charset is ${charset}, so request-transformer cannot remove, rename or replace its fields` }),
  repeatedType: () => ({ status: 400, message: "the request has more than one Content-Type, so request-transformer cannot tell how the upstream reads its body" }),
  undeclaredJson: (contentType: string | null) => ({ status: 415, message: `the request body is a JSON object but ${contentType === null ? "it has no Content-Type" : `its Content-Type is ${mediaTypeOf(contentType)}`}, so request-transformer cannot remove, rename or replace its fields; send it as application/json` }),
  tooLarge: () => ({ status: 413, message: `the request body is larger than ${MAX_BUFFERED_BODY_BYTES / 1024 / 1024} MiB, so request-transformer cannot remove, rename or replace its fields` }),
} as const;

function refusal({ status, message }: { status: number; message: string }): Response {
  return new Response(JSON.stringify({ message }), { status, headers: { "content-type": JSON_CONTENT_TYPE } });
}

/** True when the plan acts on the client's own fields: what the client sent must not get past it unread. */
function guardsFields(plan: OperationPlan): boolean {
  return plan.remove.length > 0 || plan.rename.length > 0 || plan.replace.length > 0;
}

/** `guarded`: the plan removes, renames or replaces fields (`guardsFields`). */
async function transformRead(ctx: RequestContext, plan: OperationPlan, guarded: boolean, format: BodyFormat, contentType: string): Promise<AccessResult> {
  const body = await ctx.readBody(MAX_BUFFERED_BODY_BYTES);
  if (body === null) return guarded ? refusal(BODY_REFUSALS.tooLarge()) : undefined;
  // `{"is_admin":true}` is one urlencoded name to the plugin, and a JSON object to Go's encoding/json;
  // before a multipart body's first boundary it is a preamble the plugin drops, and the one
  // value Jackson's readValue and Go's json.Decoder read (they leave what follows).
  if (guarded && format !== "json" && opensObject(body) === true) return refusal(BODY_REFUSALS.undeclaredJson(contentType));
  const fields = parseBodyFields(format, contentType, body, { foldNames: true });
  if (fields === null) return guarded && body.byteLength > 0 ? refusal(BODY_REFUSALS.malformed(format)) : undefined;
  if (fields !== NO_FIELDS && transform(fields, format, plan, body.byteLength > 0)) ctx.replaceBody(fields.encode());
  return undefined;
}

/**
 * True for a Content-Type sent more than once (the fields arrive joined with a comma, which a
 * media type has only inside a quoted parameter): upstreams differ on which one they read.
 */
function isRepeated(contentType: string): boolean {
  let quoted = false;
  for (let at = 0; at < contentType.length; at++) {
    const char = contentType.charCodeAt(at);
    if (char === 0x22 /* " */) quoted = !quoted;
    else if (char === 0x5c /* \ */ && quoted) at++;
    else if (char === 0x2c /* , */ && !quoted) return true;
  }
  return false;
}

/**
 * Applies the plan to the body the client's `contentType` describes (Kong reads the client's,
 * before any header operation). GET and HEAD carry no body upstream, so theirs is left alone.
 */
export function transformBody(ctx: RequestContext, plan: OperationPlan, contentType: string | null): AccessResult | Promise<AccessResult> {
  const method = ctx.method;
  if (method === "GET" || method === "HEAD") return undefined;
  const guarded = guardsFields(plan);
  // Upstreams inflate a gzip, deflate or br body themselves, whatever its type (Express's
  // body-parser does, and its json parser reads `*/*` where told to): one the plugin cannot read
  // must not pass unread; added fields would only corrupt it.
  const encoded = isEncoded(ctx.upstreamHeaders.get("content-encoding"));
  if (contentType === null) return !guarded ? undefined : encoded ? refusal(BODY_REFUSALS.encoded()) : refuseUndeclaredJson(ctx, null);
  // `text/plain, application/json`: the upstream that reads the last one would parse fields the plugin never saw.
  if (guarded && isRepeated(contentType)) return refusal(BODY_REFUSALS.repeatedType());
  if (encoded) return guarded ? refusal(BODY_REFUSALS.encoded()) : undefined;
  const format = bodyFormatOf(contentType);
  const charset = format === "json" ? foreignCharset(contentType) : guarded ? opaqueCharset(contentType) : null;
  if (charset !== null) return guarded ? refusal(BODY_REFUSALS.charset(charset)) : undefined;
  if (format === null) return guarded ? refuseUndeclaredJson(ctx, contentType) : undefined;
  return transformRead(ctx, plan, guarded, format, contentType);
}

/** The media type of a Content-Type as a refusal names it: without parameters, and cut short. */
function mediaTypeOf(contentType: string): string {
  const type = contentType.split(";", 1)[0]!.trim();
  return type.length > 64 ? `${type.slice(0, 64)}…` : type;
}

/** Enough of a body to find where its content starts, in nearly every body. */
const FIRST_BYTES = 64;

/**
 * A body the plugin does not read by its Content-Type (none, text/plain, an octet stream) that
 * is a JSON object is refused: Go's encoding/json decodes a request body whatever its
 * Content-Type says, and FastAPI and Python's json.loads read one without a Content-Type (behind
 * a UTF-8 byte order mark, or as UTF-16), so `{"is_admin":true}` sent as text/plain would reach
 * them past `remove.body`. Any other body goes on as sent, unread beyond its start.
 */
async function refuseUndeclaredJson(ctx: RequestContext, contentType: string | null): Promise<AccessResult> {
  let start = await ctx.readBodyStart(FIRST_BYTES);
  let object = opensObject(start);
  if (object === null && start.byteLength >= FIRST_BYTES) {
    start = await ctx.readBodyStart(MAX_BUFFERED_BODY_BYTES);
    object = opensObject(start);
    // Only space, byte order marks and comments for a mebibyte: what follows cannot be seen.
    if (object === null && start.byteLength >= MAX_BUFFERED_BODY_BYTES) return refusal(BODY_REFUSALS.tooLarge());
  }
  return object === true ? refusal(BODY_REFUSALS.undeclaredJson(contentType)) : undefined;
}

/**
 * Whether a JSON reader finds an object in a body that starts with `bytes`: its first byte past
 * white space (control characters, Unicode's), the byte order marks and NULs of UTF-8, UTF-16 and UTF-32 text, and the comments
 * (`/* *\/`, `//`, `#`) and `)]}'` line Gson skips is `{`. Null when these run on past `bytes`.
 */
function opensObject(bytes: Uint8Array): boolean | null {
  const wide = wideEncoding(bytes);
  if (wide !== null) return opensWideObject(bytes, wide);
  let at = 0;
  for (;;) {
    for (let space = 1; space > 0 && at < bytes.byteLength; at += space) space = SKIPPED_BEFORE_JSON.has(bytes[at]!) ? 1 : unicodeSpaceAt(bytes, at);
    if (at === bytes.byteLength) return null;
    const byte = bytes[at]!;
    if (byte !== 0x2f /* / */ && byte !== 0x23 /* # */ && byte !== 0x29 /* ) */) return byte === 0x7b /* { */;
    if (at + 1 === bytes.byteLength) return null;
    // UTF-16 or UTF-32 text, whose other characters can hold the bytes of `*/` or a line end: not followed.
    if (bytes[at + 1] === 0x00 || (at > 0 && bytes[at - 1] === 0x00)) return true;
    const past = pastSkipped(bytes, at);
    if (past === at) return false;
    if (past === null) return null;
    at = past;
  }
}
/** UTF-16 (or UTF-32) text by its byte order mark or a NUL in its first character, or null. */
function wideEncoding(bytes: Uint8Array): "utf-16le" | "utf-16be" | null {
  if (bytes.byteLength < 2) return null;
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] !== 0 && bytes[1] === 0)) return "utf-16le";
  if ((bytes[0] === 0xfe && bytes[1] === 0xff) || bytes[0] === 0) return "utf-16be";
  return null;
}

/**
 * opensObject for UTF-16 and UTF-32 text, decoded as UTF-16 (UTF-32's extra code units are
 * NULs): past every white space character Unicode has (.NET's StreamReader with Json.NET skips
 * NBSP), a `{` or anything that could start a comment Gson skips counts as an object.
 */
function opensWideObject(bytes: Uint8Array, encoding: "utf-16le" | "utf-16be"): boolean | null {
  const text = new TextDecoder(encoding).decode(bytes.subarray(0, bytes.byteLength & ~1)).replace(/[\0\ufeff]/g, "").trimStart();
  if (text === "") return null;
  return "{/#)".includes(text[0]!);
}

// Every control character (org.json's JSONTokener passes over all up to the space), and the bytes of byte order marks.
const SKIPPED_BEFORE_JSON: ReadonlySet<number> = new Set([...Array.from({ length: 0x21 }, (_, byte) => byte), 0xef, 0xbb, 0xbf, 0xfe, 0xff]);
// Unicode's other white space in UTF-8 (Json.NET passes over what .NET's char.IsWhiteSpace is, JSON5 readers too): NEL, NBSP, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000.
const UNICODE_SPACES = ["\u0085", "\u00a0", "\u1680", ..."\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000"].map((space) => Buffer.from(space));

/** The length of the Unicode white space (UNICODE_SPACES) at `at`, or 0. */
function unicodeSpaceAt(bytes: Uint8Array, at: number): number {
  if (bytes[at]! < 0xc2) return 0;
  const space = UNICODE_SPACES.find((each) => each.every((byte, index) => bytes[at + index] === byte));
  return space?.byteLength ?? 0;
}
const NON_EXECUTE_PREFIX = Buffer.from(")]}'\n");

/** Past the comment or `)]}'` line at `at` (`at` itself when there is none there), or null when it runs on past `bytes`. */
function pastSkipped(bytes: Uint8Array, at: number): number | null {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (text[at] === 0x29 /* ) */) {
    const sent = text.subarray(at, at + NON_EXECUTE_PREFIX.byteLength);
    if (!NON_EXECUTE_PREFIX.subarray(0, sent.byteLength).equals(sent)) return at;
    return sent.byteLength === NON_EXECUTE_PREFIX.byteLength ? at + sent.byteLength : null;
  }
  if (text[at] === 0x2f /* / */ && text[at + 1] === 0x2a /* * */) {
    const end = text.indexOf("*/", at + 2, "latin1");
    return end < 0 ? null : end + 2;
  }
  if (text[at] === 0x23 /* # */ || (text[at] === 0x2f && text[at + 1] === 0x2f) /* // */) {
    for (let end = at + 1; end < text.byteLength; end++) if (text[end] === 0x0a || text[end] === 0x0d) return end;
    return null;
  }
  return at;
}

const CHARSET = /;\s*charset\*?\s*=\s*(?:"([^"]*)"|([^\s;]*))/gi;

/**
 * A JSON body's charset other than UTF-8 (or its subset US-ASCII), or null. The plugin reads
 * UTF-8; Express's body-parser decodes any `utf-*` charset with iconv-lite, so a UTF-7 body's
 * `+AGk-s_admin` would reach it as `is_admin`.
 */
function foreignCharset(contentType: string): string | null {
  for (const param of contentType.matchAll(CHARSET)) {
    const charset = (param[1] ?? param[2]!).toLowerCase();
    if (charset !== "utf-8" && charset !== "us-ascii") return charset;
  }
  return null;
}

// Charsets in which the bytes of JSON's punctuation, whitespace and comments are ASCII's (and
// UTF-16 and UTF-32, whose NULs opensObject passes over).
const ASCII_PUNCTUATION_CHARSET = /^(?:utf-?8|us-ascii|ascii|iso-?8859-\d{1,2}|latin-?1|windows-125\d|cp125\d|utf-(?:16|32)(?:le|be)?)$/;

/**
 * The charset of a body the plugin does not read as JSON in which a JSON reader that decodes it
 * could find an object opensObject does not see, or null: UTF-7's `+AHs-` is `{` to Express's
 * json parser (iconv-lite decodes any `utf-*`), EBCDIC's 0xC0 to a Java servlet's getReader.
 */
function opaqueCharset(contentType: string): string | null {
  for (const param of contentType.matchAll(CHARSET)) {
    const charset = (param[1] ?? param[2]!).toLowerCase();
    if (!ASCII_PUNCTUATION_CHARSET.test(charset)) return charset;
  }
  return null;
}

function isEncoded(contentEncoding: string | null): boolean {
  const coding = contentEncoding?.trim().toLowerCase() ?? "";
  return coding !== "" && coding !== "identity";
}
