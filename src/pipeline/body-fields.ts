// The fields of a request body in the three formats Kong's plugins read (kong.request.get_body):
// a JSON object, application/x-www-form-urlencoded and multipart/form-data. Each keeps its
// fields in order and writes back, byte for byte, the fields no plugin changed. A field answers
// to every name an upstream reads it as (readerNames: PHP's `is.admin`, qs's `[is_admin]`), and,
// where the caller asks, to every name it folds to (foldedName: Go's JSON `IS_ADMIN`, ASP.NET
// Core's form fields).
import { foldedName } from "../http/json-name-fold.ts";
import { readerNames } from "../http/parameter-names.ts";

export type BodyFormat = "json" | "urlencoded" | "multipart";

/** The format a Content-Type names (its media type, case-insensitive, parameters aside), or null. */
export function bodyFormatOf(contentType: string | null): BodyFormat | null {
  if (contentType === null) return null;
  const media = contentType.toLowerCase().trimStart();
  if (media.startsWith("application/json")) return "json";
  // Flask, body-parser's `application/*+json`, FastAPI's `+json`: upstreams that read these as JSON.
  const type = media.split(";", 1)[0]!.trim();
  if (type === "text/json" || (type.startsWith("application/") && type.endsWith("+json"))) return "json";
  if (media.startsWith("application/x-www-form-urlencoded")) return "urlencoded";
  if (media.startsWith("multipart/form-data")) return "multipart";
  return null;
}

/**
 * A body's fields as Kong's Lua sees them: `get` gives a string, an array for a repeated field
 * (and a JSON array), `true` for a urlencoded name without `=`, other JSON values as parsed, and
 * undefined for an absent field.
 */
export interface BodyFields {
  get(name: string): unknown;
  delete(name: string): void;
  /** One value (an array: one per element, where the format repeats fields), in place when present, else last. */
  set(name: string, value: unknown): void;
  encode(): Uint8Array;
}

/** A body of its format that has no fields to read: JSON that is an array, a string, a number. */
export const NO_FIELDS = Symbol("no fields");

export interface ParseOptions {
  /**
   * A field answers to every name equal to its own under simple case folding, as Go's
   * encoding/json reads JSON keys and ASP.NET Core reads JSON keys and form fields.
   */
  foldNames?: boolean;
}

/** The text names are compared as: folded, or as they are. */
type NameKey = (name: string) => string;
const asSent: NameKey = (name) => name;

/** The body's fields, NO_FIELDS, or null when it is not what its Content-Type says. */
export function parseBodyFields(format: BodyFormat, contentType: string, body: Uint8Array, options: ParseOptions = {}): BodyFields | typeof NO_FIELDS | null {
  const fold = options.foldNames ?? false;
  if (format === "json") return JsonFields.parse(body, fold);
  const keyOf = fold ? foldedName : asSent;
  if (format === "urlencoded") return new UrlEncodedFields(Buffer.from(body).toString("latin1"), keyOf);
  return MultipartFields.parse(contentType, body, keyOf);
}

/** Kong's append_value: a string becomes [it, value], an array grows, anything else is replaced by [value]. */
export function appendedValue(current: unknown, value: string): unknown[] {
  if (typeof current === "string") return [current, value];
  if (Array.isArray(current)) return [...current, value];
  return [value];
}

/** Lua's truth, Kong's test of presence: absent and `false` fail it. */
export const isPresent = (value: unknown) => value !== undefined && value !== false;

const BYTE_ORDER_MARK = /^\uFEFF/;

/**
 * Where each of `keys` occurs last among the top-level keys of a JSON object's (valid) text,
 * counted in keys: the order JSON.parse loses when a key comes more than once.
 */
function lastOccurrences(text: string, keys: Set<string>): Map<string, number> {
  const last = new Map<string, number>();
  let count = 0;
  let depth = 0;
  // After the outer `{` and each of its commas, the next string is a key.
  let keyNext = false;
  for (let at = 0; at < text.length; at++) {
    const char = text.charCodeAt(at);
    if (char === 0x22 /* " */) {
      const start = at;
      let escaped = false;
      for (at++; text.charCodeAt(at) !== 0x22; at++) {
        if (text.charCodeAt(at) === 0x5c /* \ */) {
          escaped = true;
          at++;
        }
      }
      if (keyNext) {
        const key = escaped ? (JSON.parse(text.slice(start, at + 1)) as string) : text.slice(start + 1, at);
        if (keys.has(key)) last.set(key, count);
        count++;
      }
      keyNext = false;
    } else if (char === 0x7b /* { */ || char === 0x5b /* [ */) {
      keyNext = ++depth === 1;
    } else if (char === 0x7d /* } */ || char === 0x5d /* ] */) {
      depth--;
    } else if (char === 0x2c /* , */) {
      keyNext = depth === 1;
    }
  }
  return last;
}

class JsonFields implements BodyFields {
  /** The keys of each folded name, the one a folding reader ends with last; made on first use. */
  private byFold: Map<string, string[]> | null = null;

  private constructor(
    private readonly object: Record<string, unknown>,
    private readonly text: string,
    private readonly folds: boolean,
  ) {}

  /**
   * Empty text is an empty object (Kong starts from `{}`); JSON that is not an object has no fields.
   * A leading byte order mark is skipped, as Express's body-parser and Python's json.loads(bytes)
   * skip it: a body they read must not go past the plugins unread.
   */
  static parse(body: Uint8Array, folds: boolean): JsonFields | typeof NO_FIELDS | null {
    const text = Buffer.from(body).toString("utf8").replace(BYTE_ORDER_MARK, "");
    if (text.trim() === "") return new JsonFields({}, text, folds);
    try {
      const parsed: unknown = JSON.parse(text);
      return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? new JsonFields(parsed as Record<string, unknown>, text, folds) : NO_FIELDS;
    } catch {
      return null;
    }
  }

  /** The keys `name` answers to; of several, the last is the one whose value a reader ends with. */
  private keysOf(name: string): string[] {
    if (!this.folds) return Object.hasOwn(this.object, name) ? [name] : [];
    return this.foldIndex().get(foldedName(name)) ?? [];
  }

  private foldIndex(): Map<string, string[]> {
    if (this.byFold !== null) return this.byFold;
    const index = new Map<string, string[]>();
    for (const key of Object.keys(this.object)) {
      const folded = foldedName(key);
      const keys = index.get(folded);
      if (keys) keys.push(key);
      else index.set(folded, [key]);
    }
    // Go assigns the field once for each spelling, in the order of the text: the last one stays.
    // JSON.parse kept each spelling's last value, but in the order of its first occurrence.
    const spelt = [...index.values()].filter((keys) => keys.length > 1);
    if (spelt.length > 0) {
      const last = lastOccurrences(this.text, new Set(spelt.flat()));
      for (const keys of spelt) keys.sort((a, b) => last.get(a)! - last.get(b)!);
    }
    this.byFold = index;
    return index;
  }

  get(name: string): unknown {
    const keys = this.keysOf(name);
    return keys.length === 0 ? undefined : this.object[keys.at(-1)!];
  }

  delete(name: string): void {
    for (const key of this.keysOf(name)) delete this.object[key];
    this.byFold?.delete(foldedName(name));
  }

  /** Under `name` only: a folding reader must find no other spelling beside it. */
  set(name: string, value: unknown): void {
    for (const key of this.keysOf(name)) if (key !== name) delete this.object[key];
    // Defined, not assigned: a field named `__proto__` stays a field.
    Object.defineProperty(this.object, name, { value, writable: true, enumerable: true, configurable: true });
    this.byFold?.set(foldedName(name), [name]);
  }

  encode(): Uint8Array {
    return Buffer.from(JSON.stringify(this.object));
  }
}

/** Bodies are searched as latin1 text (a character per byte); fields are read as UTF-8. */
const utf8 = (latin1Text: string) => Buffer.from(latin1Text, "latin1").toString("utf8");
const latin1 = (text: string) => Buffer.from(text, "utf8").toString("latin1");

/** A urlencoded name or value: `+` is a space, `%XX` a byte, the bytes UTF-8; a broken escape stays as sent. */
function formDecode(sent: string): string {
  const bytes = sent.replace(/\+/g, " ").replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  return utf8(bytes);
}

interface FormEntry {
  /** Every name a reader could give the pair, as compared (NameKey). */
  names: string[];
  name: string;
  value: string | true;
  /** The pair as sent (latin1), while unchanged. */
  raw: string | null;
}

class UrlEncodedFields implements BodyFields {
  private entries: FormEntry[];

  constructor(
    text: string,
    private readonly keyOf: NameKey,
  ) {
    this.entries = [];
    for (const raw of text.split("&")) {
      if (raw === "") continue;
      const equals = raw.indexOf("=");
      const name = formDecode(equals < 0 ? raw : raw.slice(0, equals));
      const names = readerNames(name);
      // Python before 3.9.2 (and so Django then) split on `;` too: the pair answers to those names as well.
      if (raw.includes(";")) for (const piece of raw.split(";").slice(1)) names.push(...readerNames(formDecode(piece.split("=", 1)[0]!)));
      this.entries.push({ names: names.map(keyOf), name, value: equals < 0 ? true : formDecode(raw.slice(equals + 1)), raw });
    }
  }

  get(name: string): unknown {
    const key = this.keyOf(name);
    const values = this.entries.filter((entry) => entry.names.includes(key)).map((entry) => entry.value);
    return values.length === 0 ? undefined : values.length === 1 ? values[0] : values;
  }

  delete(name: string): void {
    const key = this.keyOf(name);
    this.entries = this.entries.filter((entry) => !entry.names.includes(key));
  }

  set(name: string, value: unknown): void {
    const key = this.keyOf(name);
    const values = Array.isArray(value) ? value : [value];
    const made = values.map((each): FormEntry => ({ names: [key], name, value: each === true ? true : String(each), raw: null }));
    const at = this.entries.findIndex((entry) => entry.names.includes(key));
    this.delete(name);
    this.entries.splice(at < 0 ? this.entries.length : at, 0, ...made);
  }

  encode(): Uint8Array {
    const pairs = this.entries.map((entry) => entry.raw ?? (entry.value === true ? encodeURIComponent(entry.name) : `${encodeURIComponent(entry.name)}=${encodeURIComponent(entry.value)}`));
    return Buffer.from(pairs.join("&"), "latin1");
  }
}

interface Part {
  /** Every name a form parser could read the part's field as, as compared (none: kept, never matched). */
  names: string[];
  /** The part's headers and body as sent (latin1). */
  raw: string;
  /** Where its body starts in `raw`. */
  bodyAt: number;
}

const BOUNDARY = /;\s*boundary=(?:"([^"]+)"|([^\s;]+))/i;
const DISPOSITION = /^content-disposition[ \t]*:(.*)$/gim;
const FIELD_NAME = /;\s*name(\*?)\s*=\s*(?:"([^"]*)"|([^\s;]+))/gi;
const NAME_CONTINUATION = /^content-disposition[ \t]*:.*;\s*name\*\d/im;

/** RFC 2231's `charset'language'percent-encoded` value of a `name*`, as UTF-8 (what Werkzeug reads). */
function extendedValue(value: string): string {
  const quote = value.indexOf("'", value.indexOf("'") + 1);
  try {
    return decodeURIComponent(value.slice(quote + 1));
  } catch {
    return value.slice(quote + 1);
  }
}

/**
 * A part's field names: each `name` and `name*` of each Content-Disposition line. Parsers differ
 * on which of several wins (Werkzeug and busboy: the last; RFC 2231 aware ones: `name*`), so the
 * part answers to all of them, and a field removed or hidden by one name is gone for every reader.
 */
function fieldNames(headers: string): string[] {
  const names: string[] = [];
  for (const line of headers.matchAll(DISPOSITION)) {
    for (const param of line[1]!.matchAll(FIELD_NAME)) {
      const sent = param[2] ?? param[3]!;
      names.push(...readerNames(param[1] ? extendedValue(sent) : utf8(sent)));
    }
  }
  return names;
}

class MultipartFields implements BodyFields {
  private constructor(
    private readonly boundary: string,
    private parts: Part[],
    private readonly keyOf: NameKey,
  ) {}

  /** Parts between `--boundary` lines; preamble and epilogue are dropped (as Kong's multipart library does). */
  static parse(contentType: string, body: Uint8Array, keyOf: NameKey): MultipartFields | null {
    const match = BOUNDARY.exec(contentType);
    if (!match) return null;
    // A second boundary (`boundary=`, `boundary*=`) is the one Werkzeug reads.
    if ((contentType.match(/;\s*boundary\*?\s*=/gi) ?? []).length > 1) return null;
    const boundary = match[1] ?? match[2]!;
    const text = Buffer.from(body).toString("latin1");
    const parts: Part[] = [];
    if (text === "") return new MultipartFields(boundary, parts, keyOf);
    const delimiter = `--${boundary}`;
    // Werkzeug ends a part at a delimiter after a bare LF or CR as well.
    for (let seen = text.indexOf(delimiter, 1); seen >= 0; seen = text.indexOf(delimiter, seen + 1)) {
      const before = text.charCodeAt(seen - 1);
      if ((before === 0x0a && text.charCodeAt(seen - 2) !== 0x0d) || before === 0x0d) return null;
    }
    let at = 0;
    if (!text.startsWith(delimiter)) {
      const first = text.indexOf(`\r\n${delimiter}`);
      if (first < 0) return null;
      at = first + 2;
    }
    for (;;) {
      at += delimiter.length;
      if (text.startsWith("--", at)) return new MultipartFields(boundary, parts, keyOf);
      if (!text.startsWith("\r\n", at)) return null;
      const start = at + 2;
      const end = text.indexOf(`\r\n${delimiter}`, start);
      if (end < 0) return null;
      const raw = text.slice(start, end);
      const headersEnd = raw.indexOf("\r\n\r\n");
      if (headersEnd < 0) return null;
      // A folded header line (Werkzeug joins it to the one before): its name is not read here.
      if (/\r\n[ \t]/.test(raw.slice(0, headersEnd))) return null;
      // RFC 2231 continuations (`name*0="is"; name*1="_admin"`): Werkzeug joins them into a name not read here.
      if (NAME_CONTINUATION.test(raw.slice(0, headersEnd))) return null;
      parts.push({ names: fieldNames(raw.slice(0, headersEnd)).map(keyOf), raw, bodyAt: headersEnd + 4 });
      at = end + 2;
    }
  }

  get(name: string): unknown {
    const key = this.keyOf(name);
    const values = this.parts.filter((part) => part.names.includes(key)).map((part) => utf8(part.raw.slice(part.bodyAt)));
    return values.length === 0 ? undefined : values.length === 1 ? values[0] : values;
  }

  delete(name: string): void {
    const key = this.keyOf(name);
    this.parts = this.parts.filter((part) => !part.names.includes(key));
  }

  /** A new part is a plain field (Kong's set_simple: no filename, no Content-Type). */
  set(name: string, value: unknown): void {
    const values = Array.isArray(value) ? value : [value];
    const head = `Content-Disposition: form-data; name="${latin1(name)}"\r\n\r\n`;
    const key = this.keyOf(name);
    const made = values.map((each): Part => ({ names: [key], raw: head + latin1(String(each)), bodyAt: head.length }));
    const at = this.parts.findIndex((part) => part.names.includes(key));
    this.delete(name);
    this.parts.splice(at < 0 ? this.parts.length : at, 0, ...made);
  }

  encode(): Uint8Array {
    const delimiter = `--${this.boundary}`;
    let text = "";
    for (const part of this.parts) text += `${delimiter}\r\n${part.raw}\r\n`;
    return Buffer.from(`${text}${delimiter}--\r\n`, "latin1");
  }
}
