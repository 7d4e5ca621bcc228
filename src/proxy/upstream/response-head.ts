// Parses the head of an HTTP/1.1 response from an upstream and decides how its body is framed
// (RFC 9112 §6.3). Strict wherever leniency would let one response be read two ways: a broken
// or hostile upstream gets its client a 502, never a crash and never a desynchronised
// connection that a later request could reuse.
import { isNamed, nameAmong, namesByLength } from "../ascii-case.ts";
import { HOP_BY_HOP } from "../hop-by-hop.ts";

export class MalformedResponse extends Error {}

/** The most a response head may take before the upstream is considered broken. */
export const MAX_HEAD_BYTES = 64 * 1024;

export type BodyFraming = "none" | "length" | "chunked" | "close";

/** Numbers a header line takes in `ResponseHead.lines`. */
export const LINE_FIELDS = 5;

/**
 * A parsed head. Its end-to-end header lines are kept as offsets into its text, not as strings:
 * the raw engine's direct path writes most of them on as the upstream sent them, and only the
 * Response path needs every name and value as a string of its own (`headers`).
 */
export class ResponseHead {
  private pairs: [string, string][] | null = null;

  constructor(
    readonly status: number,
    readonly framing: BodyFraming,
    /** Body length in bytes when `framing` is "length". */
    readonly length: number,
    /** Whether the connection may carry another request once this body has been read. */
    readonly reusable: boolean,
    /** The head as latin1 text, up to the blank line that ends it. */
    readonly text: string,
    /**
     * Per end-to-end header line, in the upstream's order (hop-by-hop ones are gone),
     * LINE_FIELDS numbers: where the line starts, its colon, where its trimmed value starts and
     * ends, and where the line ends.
     */
    readonly lines: readonly number[],
  ) {}

  /** End-to-end headers in the upstream's order, names as sent, values trimmed. */
  get headers(): [string, string][] {
    if (this.pairs !== null) return this.pairs;
    const { text, lines } = this;
    const pairs: [string, string][] = [];
    for (let i = 0; i < lines.length; i += LINE_FIELDS) pairs.push([text.slice(lines[i]!, lines[i + 1]!), text.slice(lines[i + 2]!, lines[i + 3]!)]);
    this.pairs = pairs;
    return pairs;
  }

  /** The same head with a body of known length: a chunked body read whole, which the receiver frames itself. */
  withLength(length: number): ResponseHead {
    return new ResponseHead(this.status, "length", length, this.reusable, this.text, this.lines);
  }
}

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

/** The names the framing and hop-by-hop rules look at: Content-Length and HOP_BY_HOP. */
const SPECIAL_NAMES = namesByLength(["content-length", ...HOP_BY_HOP]);

/** text[from, to) as a number when it is 1 to 15 decimal digits, else -1. */
function decimalOf(text: string, from: number, to: number): number {
  if (to <= from || to - from > 15) return -1;
  let value = 0;
  for (let i = from; i < to; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const UNSENDABLE_VALUE = /[\0\r\n]/;
/** From the end of the status line: header lines of a token, a colon and a value without NUL, CR or LF, to the end. */
const RELAYABLE_LINES = /(?:\r\n[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[^\0\r\n]*)*$/y;

/**
 * Why a head cannot be passed to a client as it is, or null: what the Fetch API refuses when a
 * Response is made of it (a status outside 200-599, a name that is not a token, a value with
 * NUL, CR or LF). The relayed exchange, which makes no Response, checks the same.
 */
export function unrelayable(head: ResponseHead): string | null {
  if (head.status > 599) return `status ${head.status} outside 200-599`;
  const text = head.text;
  // One pass over every header line, hop-by-hop ones too: when all of them pass, the end-to-end ones do.
  const firstLineEnd = text.indexOf("\r\n");
  RELAYABLE_LINES.lastIndex = firstLineEnd < 0 ? text.length : firstLineEnd;
  if (RELAYABLE_LINES.test(text)) return null;
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

/** The lines of `lines` whose lower-cased name is not in `names`. */
function withoutNames(text: string, lines: number[], names: readonly string[]): number[] {
  const kept: number[] = [];
  for (let i = 0; i < lines.length; i += LINE_FIELDS) {
    if (!names.includes(text.slice(lines[i]!, lines[i + 1]!).toLowerCase())) kept.push(...lines.slice(i, i + LINE_FIELDS));
  }
  return kept;
}

/** `text` is the head up to, not including, the blank line that ends it. */
export function parseResponseHead(text: string, requestMethod: string): ResponseHead {
  let lineEnd = text.indexOf("\r\n");
  const status = statusOf(lineEnd < 0 ? text : text.slice(0, lineEnd));
  let reusable = text.charCodeAt(7) === 49; // HTTP/1.0 closes unless it says otherwise; we do not ask it to
  let length = -1;
  let transferEncoding: string | null = null;
  let connectionOptions: string[] | null = null;
  const lines: number[] = [];
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
    // The value trimmed as String.prototype.trim would trim it.
    let valueStart = colon + 1;
    let valueEnd = stop;
    while (valueStart < valueEnd && isTrimmed(text.charCodeAt(valueStart))) valueStart++;
    while (valueEnd > valueStart && isTrimmed(text.charCodeAt(valueEnd - 1))) valueEnd--;
    const special = nameAmong(text, start, colon, SPECIAL_NAMES);
    if (special === null) {
      lines.push(start, colon, valueStart, valueEnd, stop);
      continue;
    }
    if (special === "content-length") {
      const parsed = decimalOf(text, valueStart, valueEnd);
      if (parsed < 0) throw new MalformedResponse("invalid Content-Length");
      if (length >= 0 && parsed !== length) throw new MalformedResponse("conflicting Content-Length headers");
      length = parsed;
      lines.push(start, colon, valueStart, valueEnd, stop);
    } else if (special === "transfer-encoding") {
      const value = text.slice(valueStart, valueEnd);
      transferEncoding = transferEncoding === null ? value : `${transferEncoding}, ${value}`;
    } else if (special === "connection") {
      // "keep-alive", sent with nearly every response, names nothing else to remove.
      if (!isNamed(text, valueStart, valueEnd, "keep-alive")) {
        for (const option of text.slice(valueStart, valueEnd).toLowerCase().split(",")) {
          const trimmed = option.trim();
          if (trimmed === "close") reusable = false;
          // The framing is this hop's to read and the next hop's to get: a Connection option never removes it.
          else if (trimmed && trimmed !== "keep-alive" && trimmed !== "content-length") (connectionOptions ??= []).push(trimmed);
        }
      }
    }
  }
  const endToEnd = connectionOptions ? withoutNames(text, lines, connectionOptions) : lines;

  if (requestMethod === "HEAD" || status === 204 || status === 304) return new ResponseHead(status, "none", 0, reusable, text, endToEnd);
  if (transferEncoding !== null) {
    // Transfer-Encoding overrides Content-Length, and a message carrying both may be an attempt
    // at smuggling: use the encoding, drop the length, and never reuse the connection.
    const withoutLength = length >= 0 ? withoutNames(text, endToEnd, ["content-length"]) : endToEnd;
    const codings = transferEncoding.toLowerCase().split(",");
    const chunked = codings[codings.length - 1]!.trim() === "chunked";
    if (chunked && codings.length > 1) throw new MalformedResponse(`unsupported Transfer-Encoding "${transferEncoding}"`);
    return new ResponseHead(status, chunked ? "chunked" : "close", 0, chunked && length < 0 && reusable, text, withoutLength);
  }
  if (length >= 0) return new ResponseHead(status, "length", length, reusable, text, endToEnd);
  return new ResponseHead(status, "close", 0, false, text, endToEnd);
}
