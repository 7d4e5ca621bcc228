// Parses the head of an HTTP/1.1 response from an upstream and decides how its body is framed
// (RFC 9112 §6.3). Strict wherever leniency would let one response be read two ways: a broken
// or hostile upstream gets its client a 502, never a crash and never a desynchronised
// connection that a later request could reuse.
import { isNamed, nameAmong, namesByLength } from "../ascii-case.ts";
import { latin1Text } from "../latin1.ts";
import { HOP_BY_HOP } from "../hop-by-hop.ts";
import { TOKEN } from "../raw/request-parser.ts";

export class MalformedResponse extends Error {}

/** The most a response head may take before the upstream is considered broken. */
export const MAX_HEAD_BYTES = 64 * 1024;

export type BodyFraming = "none" | "length" | "chunked" | "close";

/** Numbers a header line takes in `ResponseHead.lines`. */
export const LINE_FIELDS = 5;

/**
 * A parsed head. Its end-to-end header lines are kept as offsets into its bytes, not as
 * strings: the raw engine's direct path copies most of them on as the upstream sent them, and
 * only the Response path needs every name and value as a string of its own (`headers`).
 */
export class ResponseHead {
  private decoded: string | null = null;
  private pairs: [string, string][] | null = null;

  constructor(
    readonly status: number,
    readonly framing: BodyFraming,
    /** Body length in bytes when `framing` is "length". */
    readonly length: number,
    /** Whether the connection may carry another request once this body has been read. */
    readonly reusable: boolean,
    /** The head is bytes[start, end): up to the blank line that ends it. */
    readonly bytes: Buffer,
    readonly start: number,
    readonly end: number,
    /**
     * Per end-to-end header line, in the upstream's order (hop-by-hop ones are gone),
     * LINE_FIELDS offsets into `bytes`: where the line starts, its colon, where its trimmed
     * value starts and ends, and where the line ends.
     */
    readonly lines: readonly number[],
  ) {}

  /** The head as latin1 text (one character a byte, so text offsets are byte offsets less `start`). */
  get text(): string {
    return (this.decoded ??= latin1Text(this.bytes, this.start, this.end));
  }

  /** End-to-end headers in the upstream's order, names as sent, values trimmed. */
  get headers(): [string, string][] {
    if (this.pairs !== null) return this.pairs;
    const { text, lines, start } = this;
    const pairs: [string, string][] = [];
    for (let i = 0; i < lines.length; i += LINE_FIELDS) pairs.push([text.slice(lines[i]! - start, lines[i + 1]! - start), text.slice(lines[i + 2]! - start, lines[i + 3]! - start)]);
    this.pairs = pairs;
    return pairs;
  }

  /** The same head with a body of known length: a chunked body read whole, which the receiver frames itself. */
  withLength(length: number): ResponseHead {
    return new ResponseHead(this.status, "length", length, this.reusable, this.bytes, this.start, this.end, this.lines);
  }
}

const CR = 13;
const LF = 10;

/** Where the first CRLF in bytes[from, end) starts, or `end`. */
export function lineEndIn(bytes: Uint8Array, from: number, end: number): number {
  for (let p = from; p + 1 < end; p++) if (bytes[p] === CR && bytes[p + 1] === LF) return p;
  return end;
}

const HTTP_1 = [72, 84, 84, 80, 47, 49, 46]; // "HTTP/1."

function startsWithVersion(bytes: Uint8Array, start: number): boolean {
  for (let i = 0; i < HTTP_1.length; i++) if (bytes[start + i] !== HTTP_1[i]) return false;
  return true;
}

/** The status of a head's first line bytes[start, end) (`HTTP/1.0` or `1.1`, a space, three digits, then the end or a space), or throws; lets the caller skip 1xx interim heads cheaply. */
export function statusOf(bytes: Uint8Array, start: number, end: number): number {
  const hundreds = bytes[start + 9]! - 48;
  const tens = bytes[start + 10]! - 48;
  const units = bytes[start + 11]! - 48;
  const minor = bytes[start + 7];
  if (
    end - start < 12 ||
    !startsWithVersion(bytes, start) ||
    (minor !== 48 && minor !== 49) ||
    bytes[start + 8] !== 32 ||
    !(hundreds >= 1 && hundreds <= 9) ||
    !(tens >= 0 && tens <= 9) ||
    !(units >= 0 && units <= 9) ||
    (end - start > 12 && bytes[start + 12] !== 32)
  ) {
    throw new MalformedResponse("malformed status line");
  }
  return hundreds * 100 + tens * 10 + units;
}

/** The names the framing and hop-by-hop rules look at: Content-Length and HOP_BY_HOP. */
const SPECIAL_NAMES = namesByLength(["content-length", ...HOP_BY_HOP]);

/** bytes[from, to) as a number when it is 1 to 15 decimal digits, else -1. */
function decimalOf(bytes: Uint8Array, from: number, to: number): number {
  if (to <= from || to - from > 15) return -1;
  let value = 0;
  for (let i = from; i < to; i++) {
    const digit = bytes[i]! - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/**
 * Why a head cannot be passed to a client as it is, or null: what the Fetch API refuses when a
 * Response is made of it (a status outside 200-599, a name that is not a token, a value with
 * NUL, CR or LF). The relayed exchange, which makes no Response, checks the same.
 */
export function unrelayable(head: ResponseHead): string | null {
  if (head.status > 599) return `status ${head.status} outside 200-599`;
  const { bytes, lines } = head;
  for (let i = 0; i < lines.length; i += LINE_FIELDS) {
    const colon = lines[i + 1]!;
    for (let p = lines[i]!; p < colon; p++) if (TOKEN[bytes[p]!] !== 1) return "invalid header name";
    const valueEnd = lines[i + 3]!;
    for (let p = lines[i + 2]!; p < valueEnd; p++) {
      const code = bytes[p]!;
      if (code === 0 || code === CR || code === LF) return "invalid header value";
    }
  }
  return null;
}

/** Whitespace String.prototype.trim removes, as it can occur in a latin1 head (tab to CR, space, NBSP). */
function isTrimmed(code: number): boolean {
  return (code >= 9 && code <= 13) || code === 32 || code === 160;
}

/** The lines of `lines` whose lower-cased name is not in `names`. */
function withoutNames(bytes: Buffer, lines: number[], names: readonly string[]): number[] {
  const kept: number[] = [];
  for (let i = 0; i < lines.length; i += LINE_FIELDS) {
    if (!names.includes(latin1Text(bytes, lines[i]!, lines[i + 1]!).toLowerCase())) kept.push(...lines.slice(i, i + LINE_FIELDS));
  }
  return kept;
}

/** bytes[start, end) is the head, up to, not including, the blank line that ends it. */
export function parseResponseHead(bytes: Buffer, start: number, end: number, requestMethod: string): ResponseHead {
  let lineEnd = lineEndIn(bytes, start, end);
  const status = statusOf(bytes, start, lineEnd);
  let reusable = bytes[start + 7] === 49; // HTTP/1.0 closes unless it says otherwise; we do not ask it to
  let length = -1;
  let transferEncoding: string | null = null;
  let connectionOptions: string[] | null = null;
  const lines: number[] = [];
  while (lineEnd < end) {
    const lineStart = lineEnd + 2;
    // The line's end and its first colon, in one pass.
    let colon = -1;
    let stop = lineStart;
    for (; stop < end; stop++) {
      const code = bytes[stop];
      if (code === 58) {
        if (colon < 0) colon = stop;
      } else if (code === CR && stop + 1 < end && bytes[stop + 1] === LF) break;
    }
    lineEnd = stop;
    const first = bytes[lineStart];
    // obs-fold (a line starting with whitespace) and whitespace before the colon are refused (RFC 9112 §5.1, §5.2).
    if (colon < 0 || colon === lineStart || first === 32 || first === 9) throw new MalformedResponse("malformed header line");
    const last = bytes[colon - 1];
    if (last === 32 || last === 9) throw new MalformedResponse("whitespace before a header colon");
    // The value trimmed as String.prototype.trim would trim it.
    let valueStart = colon + 1;
    let valueEnd = stop;
    while (valueStart < valueEnd && isTrimmed(bytes[valueStart]!)) valueStart++;
    while (valueEnd > valueStart && isTrimmed(bytes[valueEnd - 1]!)) valueEnd--;
    const special = nameAmong(bytes, lineStart, colon, SPECIAL_NAMES);
    if (special === null) {
      lines.push(lineStart, colon, valueStart, valueEnd, stop);
      continue;
    }
    if (special === "content-length") {
      const parsed = decimalOf(bytes, valueStart, valueEnd);
      if (parsed < 0) throw new MalformedResponse("invalid Content-Length");
      if (length >= 0 && parsed !== length) throw new MalformedResponse("conflicting Content-Length headers");
      length = parsed;
      lines.push(lineStart, colon, valueStart, valueEnd, stop);
    } else if (special === "transfer-encoding") {
      const value = latin1Text(bytes, valueStart, valueEnd);
      transferEncoding = transferEncoding === null ? value : `${transferEncoding}, ${value}`;
    } else if (special === "connection") {
      // "keep-alive", sent with nearly every response, names nothing else to remove.
      if (!isNamed(bytes, valueStart, valueEnd, "keep-alive")) {
        for (const option of latin1Text(bytes, valueStart, valueEnd).toLowerCase().split(",")) {
          const trimmed = option.trim();
          if (trimmed === "close") reusable = false;
          // The framing is this hop's to read and the next hop's to get: a Connection option never removes it.
          else if (trimmed && trimmed !== "keep-alive" && trimmed !== "content-length") (connectionOptions ??= []).push(trimmed);
        }
      }
    }
  }
  const endToEnd = connectionOptions ? withoutNames(bytes, lines, connectionOptions) : lines;

  if (requestMethod === "HEAD" || status === 204 || status === 304) return new ResponseHead(status, "none", 0, reusable, bytes, start, end, endToEnd);
  if (transferEncoding !== null) {
    // Transfer-Encoding overrides Content-Length, and a message carrying both may be an attempt
    // at smuggling: use the encoding, drop the length, and never reuse the connection.
    const withoutLength = length >= 0 ? withoutNames(bytes, endToEnd, ["content-length"]) : endToEnd;
    const codings = transferEncoding.toLowerCase().split(",");
    const chunked = codings[codings.length - 1]!.trim() === "chunked";
    if (chunked && codings.length > 1) throw new MalformedResponse(`unsupported Transfer-Encoding "${transferEncoding}"`);
    return new ResponseHead(status, chunked ? "chunked" : "close", 0, chunked && length < 0 && reusable, bytes, start, end, withoutLength);
  }
  if (length >= 0) return new ResponseHead(status, "length", length, reusable, bytes, start, end, endToEnd);
  return new ResponseHead(status, "close", 0, false, bytes, start, end, endToEnd);
}
