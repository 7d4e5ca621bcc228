// Parses the head of an HTTP/1.1 response from an upstream and decides how its body is framed
// (RFC 9112 §6.3). Strict wherever leniency would let one response be read two ways: a broken
// or hostile upstream gets its client a 502, never a crash and never a desynchronised
// connection that a later request could reuse.
import { HOP_BY_HOP } from "../hop-by-hop.ts";

export class MalformedResponse extends Error {}

/** The most a response head may take before the upstream is considered broken. */
export const MAX_HEAD_BYTES = 64 * 1024;

export type BodyFraming = "none" | "length" | "chunked" | "close";

export interface ResponseHead {
  readonly status: number;
  /** End-to-end headers in the upstream's order; hop-by-hop ones are gone. */
  readonly headers: [string, string][];
  readonly framing: BodyFraming;
  /** Body length in bytes when `framing` is "length". */
  readonly length: number;
  /** Whether the connection may carry another request once this body has been read. */
  readonly reusable: boolean;
}

const DIGITS = /^\d{1,15}$/;

/** The status of a head's first line (`HTTP/1.0` or `1.1`, a space, three digits, then the end or a space), or throws; lets the caller skip 1xx interim heads cheaply. */
export function statusOf(statusLine: string): number {
  // Compared code by code: a regular expression here cost more than the rest of a small head's parsing.
  const hundreds = statusLine.charCodeAt(9) - 48;
  const tens = statusLine.charCodeAt(10) - 48;
  const units = statusLine.charCodeAt(11) - 48;
  const minor = statusLine.charCodeAt(7);
  if (
    !statusLine.startsWith("HTTP/1.") ||
    (minor !== 48 && minor !== 49) ||
    statusLine.charCodeAt(8) !== 32 ||
    !(hundreds >= 1 && hundreds <= 9) ||
    !(tens >= 0 && tens <= 9) ||
    !(units >= 0 && units <= 9) ||
    (statusLine.length > 12 && statusLine.charCodeAt(12) !== 32)
  ) {
    throw new MalformedResponse("malformed status line");
  }
  return hundreds * 100 + tens * 10 + units;
}

/** Lengths of Content-Length and the hop-by-hop names: most others (Date, Server…) skip lower-casing. */
const SPECIAL_LENGTHS: ReadonlySet<number> = new Set(["content-length", ...HOP_BY_HOP].map((name) => name.length));

/** The lower-cased name when it is one the framing or hop-by-hop rules look at, else null. */
function specialName(name: string): string | null {
  if (!SPECIAL_LENGTHS.has(name.length)) return null;
  const lower = name.toLowerCase();
  return lower === "content-length" || HOP_BY_HOP.has(lower) ? lower : null;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const UNSENDABLE_VALUE = /[\0\r\n]/;

/**
 * Why a head cannot be passed to a client as it is, or null: what the Fetch API refuses when a
 * Response is made of it (a status outside 200-599, a name that is not a token, a value with
 * NUL, CR or LF). The relayed exchange, which makes no Response, checks the same.
 */
export function unrelayable(head: ResponseHead): string | null {
  if (head.status > 599) return `status ${head.status} outside 200-599`;
  for (const [name, value] of head.headers) {
    if (!TOKEN.test(name)) return "invalid header name";
    if (UNSENDABLE_VALUE.test(value)) return "invalid header value";
  }
  return null;
}

/** Whitespace String.prototype.trim removes, as it can occur in a latin1 head (tab to CR, space, NBSP). */
function isTrimmed(code: number): boolean {
  return (code >= 9 && code <= 13) || code === 32 || code === 160;
}

/** text[from, to) trimmed as String.prototype.trim would, with one slice in the common case. */
function trimmedValue(text: string, from: number, to: number): string {
  let start = from;
  let end = to;
  while (start < end && isTrimmed(text.charCodeAt(start))) start++;
  while (end > start && isTrimmed(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

/** `text` is the head up to, not including, the blank line that ends it. */
export function parseResponseHead(text: string, requestMethod: string): ResponseHead {
  let lineEnd = text.indexOf("\r\n");
  const status = statusOf(lineEnd < 0 ? text : text.slice(0, lineEnd));
  let reusable = text.charCodeAt(7) === 49; // HTTP/1.0 closes unless it says otherwise; we do not ask it to
  let length = -1;
  let transferEncoding: string | null = null;
  let connectionOptions: string[] | null = null;
  const headers: [string, string][] = [];
  while (lineEnd >= 0) {
    const start = lineEnd + 2;
    lineEnd = text.indexOf("\r\n", start);
    const stop = lineEnd < 0 ? text.length : lineEnd;
    const colon = text.indexOf(":", start);
    const first = text.charCodeAt(start);
    // obs-fold (a line starting with whitespace) and whitespace before the colon are refused (RFC 9112 §5.1, §5.2).
    if (colon < 0 || colon >= stop || colon === start || first === 32 || first === 9) throw new MalformedResponse("malformed header line");
    const last = text.charCodeAt(colon - 1);
    if (last === 32 || last === 9) throw new MalformedResponse("whitespace before a header colon");
    const name = text.slice(start, colon);
    const value = trimmedValue(text, colon + 1, stop);
    const special = specialName(name);
    if (special === null) {
      headers.push([name, value]);
      continue;
    }
    if (special === "content-length") {
      if (!DIGITS.test(value)) throw new MalformedResponse("invalid Content-Length");
      const parsed = Number(value);
      if (length >= 0 && parsed !== length) throw new MalformedResponse("conflicting Content-Length headers");
      length = parsed;
      headers.push([name, value]);
    } else if (special === "transfer-encoding") {
      transferEncoding = transferEncoding === null ? value : `${transferEncoding}, ${value}`;
    } else if (special === "connection") {
      const options = value.toLowerCase();
      // "keep-alive", sent with nearly every response, names nothing else to remove.
      if (options !== "keep-alive") {
        for (const option of options.split(",")) {
          const trimmed = option.trim();
          if (trimmed === "close") reusable = false;
          // The framing is this hop's to read and the next hop's to get: a Connection option never removes it.
          else if (trimmed && trimmed !== "keep-alive" && trimmed !== "content-length") (connectionOptions ??= []).push(trimmed);
        }
      }
    }
  }
  const endToEnd = connectionOptions ? headers.filter(([name]) => !connectionOptions.includes(name.toLowerCase())) : headers;

  if (requestMethod === "HEAD" || status === 204 || status === 304) {
    return { status, headers: endToEnd, framing: "none", length: 0, reusable };
  }
  if (transferEncoding !== null) {
    // Transfer-Encoding overrides Content-Length, and a message carrying both may be an attempt
    // at smuggling: use the encoding, drop the length, and never reuse the connection.
    const withoutLength = length >= 0 ? endToEnd.filter(([name]) => name.toLowerCase() !== "content-length") : endToEnd;
    const codings = transferEncoding.toLowerCase().split(",");
    const chunked = codings[codings.length - 1]!.trim() === "chunked";
    if (chunked && codings.length > 1) throw new MalformedResponse(`unsupported Transfer-Encoding "${transferEncoding}"`);
    return { status, headers: withoutLength, framing: chunked ? "chunked" : "close", length: 0, reusable: chunked && length < 0 && reusable };
  }
  if (length >= 0) return { status, headers: endToEnd, framing: "length", length, reusable };
  return { status, headers: endToEnd, framing: "close", length: 0, reusable: false };
}
