// The raw engine's HTTP/1.1 request-head parser: request line, header block and the body
// framing decision (RFC 9112 §6.3). Its accept/reject decisions are those of Node 20's llhttp
// in strict mode (tests/raw-parser-differential.test.ts proves it), with two refusals of its
// own: versions other than HTTP/1.0 and 1.1 (llhttp takes 0.9, 2.0 and a missing version),
// and the RTSP and ICE protocols llhttp also speaks.
// Stateless: the engine calls it again with more bytes while the result is "incomplete"; a
// prefix that no continuation can make valid is refused at once, where llhttp refuses it.

import { latin1Text } from "../latin1.ts";

export interface ParseLimits {
  maxHeadBytes: number;
  maxHeaders: number;
}

export const DEFAULT_PARSE_LIMITS: ParseLimits = { maxHeadBytes: 32 * 1024, maxHeaders: 100 };

export type BodyFraming = { kind: "none" } | { kind: "length"; length: number } | { kind: "chunked" };

export interface RequestHead {
  method: string;
  target: string;
  minorVersion: 0 | 1;
  headers: string[];
  body: BodyFraming;
  keepAlive: boolean;
  expectContinue: boolean;
  upgrade: string | null;
  host: string | null;
}

export type ParseResult =
  | { kind: "incomplete" }
  | { kind: "head"; head: RequestHead; consumed: number }
  | { kind: "error"; status: 400 | 413 | 414 | 431 | 501; reason: string };

const INCOMPLETE: ParseResult = { kind: "incomplete" };
const NO_BODY: BodyFraming = { kind: "none" };
const CHUNKED: BodyFraming = { kind: "chunked" };

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;
const COLON = 58;
const COMMA = 44;

// Scanners return the next position, or one of these.
const NEED_MORE = -1;
const FAILED = -2;


/** Why the last scanner returned FAILED (set right before it does). */
let failure = "";

function fail(reason: string): number {
  failure = reason;
  return FAILED;
}

// Per-head facts gathered while scanning the header block (module state: the parser is
// synchronous and never re-entered, so one set serves every call without allocation).
let hasContentLength = false;
let contentLength = 0;
let hasTransferEncoding = false;
let chunked = false;
let sawUpgradeValue = false;
let upgradeValue: string | null = null;
let connectionClose = false;
let connectionKeepAlive = false;
let connectionUpgrade = false;
let expectContinue = false;
let host: string | null = null;

export function parseRequestHead(
  bytes: Uint8Array,
  start: number,
  end: number,
  limits: ParseLimits = DEFAULT_PARSE_LIMITS,
): ParseResult {
  const limitEnd = Math.min(end, start + limits.maxHeadBytes);
  const overLimit = end > limitEnd;
  let p = start;
  // Empty lines (CRLF) before a request are ignored (RFC 9112 §2.2); llhttp also skips a lone CR
  // or LF, which Bun.serve refuses: refused here too, one reading of the stream for every hop.
  while (p + 1 < limitEnd && bytes[p] === CR && bytes[p + 1] === LF) p += 2;
  if (p === limitEnd || (p + 1 === limitEnd && bytes[p] === CR)) return overLimit ? tooLarge(431) : INCOMPLETE;
  if (bytes[p] === CR || bytes[p] === LF) return error400(STRAY_LINE_BREAK);

  // Request line: method SP request-target SP "HTTP/" DIGIT "." DIGIT CRLF. llhttp takes several
  // spaces where one goes; Bun.serve refuses them, and so does this parser.
  let q = p;
  while (q < limitEnd && bytes[q] !== SP && q - p < 16) q++;
  if (q === limitEnd) {
    if (overLimit) return tooLarge(414);
    return isMethodPrefix(bytes, p, q) ? INCOMPLETE : error400("invalid method");
  }
  const method = matchMethod(bytes, p, q);
  if (method === null) return error400("invalid method");
  if (++q === limitEnd) return overLimit ? tooLarge(414) : INCOMPLETE;
  if (bytes[q] === SP) return error400(SEVERAL_SPACES);
  const targetStart = q;
  q = method === "CONNECT" ? scanAuthority(bytes, q, limitEnd) : scanTarget(bytes, q, limitEnd);
  if (q < 0) return q === FAILED ? error400(failure) : overLimit ? tooLarge(414) : INCOMPLETE;
  const targetEnd = q;
  if (++q === limitEnd) return overLimit ? tooLarge(414) : INCOMPLETE;
  if (bytes[q] === SP) return error400(SEVERAL_SPACES);
  q = scanVersion(bytes, q, limitEnd, method);
  if (q < 0) return q === FAILED ? error400(failure) : overLimit ? tooLarge(414) : INCOMPLETE;
  const minorVersion = bytes[q - 3] === 49 ? 1 : 0; // q is past "1.x\r\n"
  if (method === "PRI") return priPreface(bytes, q - 2, limitEnd, overLimit);

  hasContentLength = false;
  contentLength = 0;
  hasTransferEncoding = false;
  chunked = false;
  sawUpgradeValue = false;
  upgradeValue = null;
  connectionClose = false;
  connectionKeepAlive = false;
  connectionUpgrade = false;
  expectContinue = false;
  host = null;

  if (q < limitEnd && bytes[q] === SP) return error400("whitespace before the first header");
  const headers: string[] = [];
  for (;;) {
    if (q === limitEnd) return overLimit ? tooLarge(431) : INCOMPLETE;
    const b = bytes[q];
    if (b === CR) {
      if (q + 1 === limitEnd) return overLimit ? tooLarge(431) : INCOMPLETE;
      if (bytes[q + 1] !== LF) return error400("bare CR after the header block");
      q += 2;
      break;
    }
    if (headers.length === limits.maxHeaders * 2) return error(431, "too many header fields");
    q = scanHeaderLine(bytes, q, limitEnd, headers);
    if (q < 0) return q === FAILED ? error400(failure) : overLimit ? tooLarge(431) : INCOMPLETE;
  }

  const upgrades = method === "CONNECT" || (sawUpgradeValue && connectionUpgrade);
  let body: BodyFraming;
  if (upgrades && (method === "CONNECT" || !(chunked || contentLength > 0))) body = NO_BODY;
  else if (chunked) body = CHUNKED;
  else if (hasTransferEncoding) return error(501, "Transfer-Encoding other than chunked");
  else if (hasContentLength) body = { kind: "length", length: contentLength };
  else body = NO_BODY;

  const head: RequestHead = {
    method,
    target: latin1Text(bytes, targetStart, targetEnd),
    minorVersion,
    headers,
    body,
    keepAlive: minorVersion === 1 ? !connectionClose : connectionKeepAlive,
    // RFC 9110 §10.1.1: a server ignores the expectation in an HTTP/1.0 request.
    expectContinue: expectContinue && minorVersion === 1,
    upgrade: connectionUpgrade ? upgradeValue : null,
    host,
  };
  return { kind: "head", head, consumed: q - start };
}

const STRAY_LINE_BREAK = "a lone CR or LF before the request line";
const SEVERAL_SPACES = "more than one space between the parts of the request line";

function error400(reason: string): ParseResult {
  return { kind: "error", status: 400, reason };
}

function error(status: 400 | 413 | 414 | 431 | 501, reason: string): ParseResult {
  return { kind: "error", status, reason };
}

function tooLarge(status: 414 | 431): ParseResult {
  return status === 414 ? error(414, "request line too long") : error(431, "request head too large");
}

/** origin-form, absolute-form or asterisk-form, as llhttp's URL grammar reads them. */
function scanTarget(bytes: Uint8Array, p: number, end: number): number {
  if (p === end) return NEED_MORE;
  const first = bytes[p];
  if (first === 47 || first === 42) return scanTargetRest(bytes, p + 1, end); // "/" "*"
  if (ALPHA[first] === 0) return fail("invalid request target");
  let q = p + 1;
  while (q < end && ALPHA[bytes[q]] === 1) q++;
  if (q === end) return NEED_MORE;
  if (bytes[q] !== COLON) return fail("invalid request target");
  if (++q === end) return NEED_MORE;
  if (bytes[q] !== 47) return fail("invalid request target");
  if (++q === end) return NEED_MORE;
  if (bytes[q] !== 47) return fail("invalid request target");
  return scanAuthority(bytes, q + 1, end);
}

/** The authority of an absolute-form target (or CONNECT's authority-form), then its path. */
function scanAuthority(bytes: Uint8Array, p: number, end: number): number {
  let afterAt = false;
  for (; p < end; p++) {
    const b = bytes[p];
    if (URL_SERVER[b] === 1) {
      afterAt = false;
      continue;
    }
    if (b === 64) {
      // "@": llhttp refuses only two in a row
      if (afterAt) return fail("invalid request target");
      afterAt = true;
      continue;
    }
    if (b === 47 || b === 63) return scanTargetRest(bytes, p + 1, end); // "/" "?"
    return endOfTarget(b, p);
  }
  return NEED_MORE;
}

function scanTargetRest(bytes: Uint8Array, p: number, end: number): number {
  while (p < end && URL_TARGET[bytes[p]] === 1) p++;
  if (p === end) return NEED_MORE;
  return endOfTarget(bytes[p], p);
}

function endOfTarget(b: number, p: number): number {
  if (b === SP) return p;
  if (b === CR || b === LF) return fail("missing HTTP version");
  return fail("invalid request target");
}

/** `"HTTP/" DIGIT "." DIGIT CRLF` after the target; returns the position after the LF. */
function scanVersion(bytes: Uint8Array, p: number, end: number, method: string): number {
  if (end - p >= 10 && bytes[p] === 72 && bytes[p + 1] === 84 && bytes[p + 2] === 84 && bytes[p + 3] === 80) {
    if (!HTTP_PROTOCOL_METHODS.has(method)) return fail("invalid method for HTTP");
    if (bytes[p + 4] !== 47 || bytes[p + 5] !== 49 || bytes[p + 6] !== 46) return scanVersionNumber(bytes, p + 4, end);
    const minor = bytes[p + 7];
    if ((minor !== 48 && minor !== 49) || bytes[p + 8] !== CR || bytes[p + 9] !== LF) {
      return scanVersionNumber(bytes, p + 4, end);
    }
    return p + 10;
  }
  return slowVersion(bytes, p, end, method);
}

/** The version's exact failure (or lack of bytes) when the fast path did not match. */
function slowVersion(bytes: Uint8Array, p: number, end: number, method: string): number {
  const http = matchPrefix(bytes, p, end, PROTOCOL_HTTP);
  if (http >= 0) {
    if (!HTTP_PROTOCOL_METHODS.has(method)) return fail("invalid method for HTTP");
    return scanVersionNumber(bytes, http, end);
  }
  if (http === NEED_MORE) return NEED_MORE;
  const rtsp = matchPrefix(bytes, p, end, PROTOCOL_RTSP);
  const ice = matchPrefix(bytes, p, end, PROTOCOL_ICE);
  if (rtsp >= 0 || ice >= 0) return fail("unsupported protocol (only HTTP)");
  if (rtsp === NEED_MORE || ice === NEED_MORE) return NEED_MORE;
  return fail("invalid HTTP version");
}

/** After "HTTP": "/" DIGIT "." DIGIT CRLF (the exact failure), refusing 0.9 and 2.0 where llhttp accepts them. */
function scanVersionNumber(bytes: Uint8Array, p: number, end: number): number {
  if (p === end) return NEED_MORE;
  if (bytes[p] !== 47) return fail("invalid HTTP version");
  if (++p === end) return NEED_MORE;
  const major = bytes[p] - 48;
  if (major < 0 || major > 9) return fail("invalid HTTP version");
  if (++p === end) return NEED_MORE;
  if (bytes[p] !== 46) return fail("invalid HTTP version");
  if (++p === end) return NEED_MORE;
  const minor = bytes[p] - 48;
  if (minor < 0 || minor > 9) return fail("invalid HTTP version");
  if (major === 0 && minor === 9) return fail("unsupported HTTP version");
  if (major === 2 && minor === 0) return fail("unsupported HTTP version");
  if (major !== 1 || minor > 1) return fail("invalid HTTP version");
  if (++p === end) return NEED_MORE;
  if (bytes[p] !== CR) return fail("invalid HTTP version");
  if (++p === end) return NEED_MORE;
  if (bytes[p] !== LF) return fail("bare CR after the request line");
  return p + 1;
}

const PROTOCOL_HTTP = new Uint8Array([72, 84, 84, 80]);
const PROTOCOL_RTSP = new Uint8Array([82, 84, 83, 80]);
const PROTOCOL_ICE = new Uint8Array([73, 67, 69]);
const H2_PREFACE_REST = new Uint8Array([13, 10, 13, 10, 83, 77, 13, 10, 13, 10]); // "\r\n\r\nSM\r\n\r\n"

/** NEED_MORE while bytes[p, end) is a proper prefix of `word`, FAILED when they differ, else p + length. */
function matchPrefix(bytes: Uint8Array, p: number, end: number, word: Uint8Array): number {
  for (let i = 0; i < word.length; i++) {
    if (p + i === end) return NEED_MORE;
    if (bytes[p + i] !== word[i]) return FAILED;
  }
  return p + word.length;
}

/** llhttp reads a PRI request line as the start of the HTTP/2 preface and never accepts it. */
function priPreface(bytes: Uint8Array, p: number, end: number, overLimit: boolean): ParseResult {
  if (matchPrefix(bytes, p, end, H2_PREFACE_REST) === NEED_MORE) return overLimit ? tooLarge(431) : INCOMPLETE;
  return error400("HTTP/2 connection preface");
}

// Header kinds: what the value means to framing and connection handling.
const GENERAL = 0;
const CONTENT_LENGTH = 1;
const TRANSFER_ENCODING = 2;
const CONNECTION = 3;
const UPGRADE = 4;
const HOST = 5;
const EXPECT = 6;

/** One `field-name ":" OWS field-value OWS CRLF`; pushes name and value; returns the position after CRLF. */
function scanHeaderLine(bytes: Uint8Array, p: number, end: number, headers: string[]): number {
  const nameStart = p;
  while (p < end && TOKEN[bytes[p]] === 1) p++;
  if (p === end) return NEED_MORE;
  if (bytes[p] !== COLON) {
    if (bytes[p] === LF) return fail("bare LF in the header block");
    return fail(bytes[p] === SP || bytes[p] === HTAB ? "whitespace before the colon" : "invalid header name");
  }
  if (p === nameStart) return fail("empty header name");
  const entry = interned(bytes, nameStart, p);
  const kind = entry === null ? GENERAL : entry.kind;
  if (kind === TRANSFER_ENCODING && hasContentLength) return fail("Transfer-Encoding with Content-Length");
  if (kind === CONTENT_LENGTH && hasTransferEncoding) return fail("Content-Length with Transfer-Encoding");
  const name = entry === null ? latin1Text(bytes, nameStart, p).toLowerCase() : entry.name;

  p++;
  while (p < end && (bytes[p] === SP || bytes[p] === HTAB)) p++;
  if (p === end) return NEED_MORE;
  const valueStart = p;
  let b = bytes[p];
  if (b === CR || b === LF) {
    // Empty value: llhttp still refuses folding and an empty Content-Length here.
    if (b === LF) return fail("bare LF in the header block");
    if (p + 1 === end) return NEED_MORE;
    if (bytes[p + 1] !== LF) return fail("bare CR in the header block");
    if (p + 2 === end) return NEED_MORE;
    if (bytes[p + 2] === SP || bytes[p + 2] === HTAB) return fail("obsolete line folding");
    if (kind === CONTENT_LENGTH) return fail("empty Content-Length");
    headers.push(name, "");
    if (kind === HOST && host === null) host = "";
    return p + 2;
  }

  switch (kind) {
    case CONTENT_LENGTH:
      if (hasContentLength) return fail("duplicate Content-Length");
      p = scanContentLength(bytes, p, end);
      break;
    case TRANSFER_ENCODING:
      if (chunked) return fail("Transfer-Encoding after chunked");
      hasTransferEncoding = true;
      p = scanTransferEncoding(bytes, p, end);
      break;
    case CONNECTION:
      p = scanConnection(bytes, p, end);
      break;
    default:
      while (p < end && HEADER_VALUE[bytes[p]] === 1) p++;
  }
  if (p < 0) return p;
  if (p === end) return NEED_MORE;
  b = bytes[p];
  if (b !== CR) return fail(b === LF ? "bare LF in the header block" : "invalid character in a header value");
  if (p + 1 === end) return NEED_MORE;
  if (bytes[p + 1] !== LF) return fail("bare CR in the header block");
  if (p + 2 === end) return NEED_MORE;
  if (bytes[p + 2] === SP || bytes[p + 2] === HTAB) return fail("obsolete line folding");

  let valueEnd = p;
  while (bytes[valueEnd - 1] === SP || bytes[valueEnd - 1] === HTAB) valueEnd--;
  const value = latin1Text(bytes, valueStart, valueEnd);
  headers.push(name, value);
  switch (kind) {
    case CONTENT_LENGTH:
      hasContentLength = true;
      break;
    case TRANSFER_ENCODING:
      chunked = pendingChunked;
      break;
    case CONNECTION:
      connectionFlag(pendingConnection);
      break;
    case UPGRADE:
      sawUpgradeValue = true;
      if (upgradeValue === null) upgradeValue = value;
      break;
    case HOST:
      if (host === null) host = value;
      break;
    case EXPECT:
      if (value.length === 12 && value.toLowerCase() === "100-continue") expectContinue = true;
      break;
  }
  return p + 2;
}

/** DIGIT+ SP*, exactly as llhttp: no sign, no list, overflow past 2^64 - 1 refused. */
function scanContentLength(bytes: Uint8Array, p: number, end: number): number {
  const digitsStart = p;
  let value = 0;
  while (p < end) {
    const digit = bytes[p] - 48;
    if (digit < 0 || digit > 9) break;
    value = value * 10 + digit;
    p++;
  }
  if (p - digitsStart >= 20 && exceedsUint64(bytes, digitsStart, p)) {
    return fail("Content-Length overflow");
  }
  while (p < end && bytes[p] === SP) p++;
  if (p === end) return NEED_MORE;
  if (p === digitsStart || (bytes[p] !== CR && bytes[p] !== LF)) return fail("invalid Content-Length");
  contentLength = value;
  return p;
}

const UINT64_MAX_DECIMAL = new Uint8Array(Buffer.from("18446744073709551615", "latin1"));

/** Whether the decimal digits [p, end) (leading zeros allowed) exceed 2^64 - 1, llhttp's limit. */
function exceedsUint64(bytes: Uint8Array, p: number, end: number): boolean {
  while (p < end && bytes[p] === 48) p++;
  const length = end - p;
  if (length !== UINT64_MAX_DECIMAL.length) return length > UINT64_MAX_DECIMAL.length;
  for (let i = 0; i < length; i++) {
    if (bytes[p + i] !== UINT64_MAX_DECIMAL[i]) return bytes[p + i] > UINT64_MAX_DECIMAL[i];
  }
  return false;
}

/** Whether the Transfer-Encoding value being scanned ends in "chunked" as llhttp reads it. */
let pendingChunked = false;

// llhttp's Transfer-Encoding reading: a list whose last member must be exactly "chunked"
// (any case) followed only by spaces; "chunked" before another member is refused.
const CHUNKED_WORD = new Uint8Array([99, 104, 117, 110, 107, 101, 100]);

function scanTransferEncoding(bytes: Uint8Array, p: number, end: number): number {
  pendingChunked = false;
  for (;;) {
    // At the start of a list member.
    let i = 0;
    while (i < 7 && p < end && (bytes[p] | 0x20) === CHUNKED_WORD[i]) {
      i++;
      p++;
    }
    if (p === end) return NEED_MORE;
    if (i === 7) {
      while (p < end && bytes[p] === SP) p++;
      if (p === end) return NEED_MORE;
      const b = bytes[p];
      if (b === CR || b === LF) {
        pendingChunked = true;
        return p;
      }
      if (b === COMMA) return fail("chunked before another transfer coding");
    }
    // The rest of a member that is not "chunked".
    while (p < end && HEADER_VALUE[bytes[p]] === 1 && bytes[p] !== COMMA) p++;
    if (p === end) return NEED_MORE;
    if (bytes[p] !== COMMA) return p;
    p++;
    while (p < end && (bytes[p] === SP || bytes[p] === HTAB)) p++;
    if (p === end) return NEED_MORE;
  }
}

// Connection options as llhttp recognises them: a member is close, keep-alive or upgrade
// (any case) when followed by spaces and a comma or the end of the value.
const OPTION_NONE = 0;
const OPTION_CLOSE = 1;
const OPTION_KEEP_ALIVE = 2;
const OPTION_UPGRADE = 3;
const CLOSE_WORD = new Uint8Array([99, 108, 111, 115, 101]);
const KEEP_ALIVE_WORD = new Uint8Array([107, 101, 101, 112, 45, 97, 108, 105, 118, 101]);
const UPGRADE_WORD = new Uint8Array([117, 112, 103, 114, 97, 100, 101]);

/** The option that ends the value being scanned (set when the value ends). */
let pendingConnection = OPTION_NONE;

function connectionFlag(option: number): void {
  if (option === OPTION_CLOSE) connectionClose = true;
  else if (option === OPTION_KEEP_ALIVE) connectionKeepAlive = true;
  else if (option === OPTION_UPGRADE) connectionUpgrade = true;
}

function scanConnection(bytes: Uint8Array, p: number, end: number): number {
  for (;;) {
    // At the start of a member (after optional whitespace).
    while (p < end && (bytes[p] === SP || bytes[p] === HTAB)) p++;
    if (p === end) return NEED_MORE;
    let option = OPTION_NONE;
    let word: Uint8Array | null = null;
    const first = bytes[p] | 0x20;
    if (first === 99) {
      word = CLOSE_WORD;
      option = OPTION_CLOSE;
    } else if (first === 107) {
      word = KEEP_ALIVE_WORD;
      option = OPTION_KEEP_ALIVE;
    } else if (first === 117) {
      word = UPGRADE_WORD;
      option = OPTION_UPGRADE;
    }
    if (word !== null && isLetterOf(bytes[p], first)) {
      let i = 0;
      while (i < word.length && p < end && asciiLower(bytes[p]) === word[i]) {
        i++;
        p++;
      }
      if (p === end) return NEED_MORE;
      if (i === word.length) {
        while (p < end && bytes[p] === SP) p++;
        if (p === end) return NEED_MORE;
        const b = bytes[p];
        if (b === COMMA) {
          connectionFlag(option);
          p++;
          continue;
        }
        if (b === CR || b === LF) {
          pendingConnection = option;
          return p;
        }
      }
    }
    while (p < end && HEADER_VALUE[bytes[p]] === 1 && bytes[p] !== COMMA) p++;
    if (p === end) return NEED_MORE;
    if (bytes[p] !== COMMA) {
      pendingConnection = OPTION_NONE;
      return p;
    }
    p++;
  }
}

function isLetterOf(b: number, lower: number): boolean {
  return b === lower || b === lower - 32;
}

function asciiLower(b: number): number {
  return b >= 65 && b <= 90 ? b | 0x20 : b;
}

// ---- Syntax tables: the byte classes llhttp (strict mode) accepts in each part -------------

function byteClass(accepts: (b: number) => boolean): Uint8Array {
  const table = new Uint8Array(256);
  for (let b = 0; b < 256; b++) table[b] = accepts(b) ? 1 : 0;
  return table;
}

const isAlpha = (b: number): boolean => (b >= 65 && b <= 90) || (b >= 97 && b <= 122);
const isDigit = (b: number): boolean => b >= 48 && b <= 57;

/** RFC 9110 tchar: header names, chunk extension names and values. */
export const TOKEN = byteClass((b) => isAlpha(b) || isDigit(b) || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(b)));

/** HTAB, SP, VCHAR and obs-text: bytes allowed inside a header value. */
export const HEADER_VALUE = byteClass((b) => b === HTAB || (b >= 32 && b !== 127));

const ALPHA = byteClass(isAlpha);

/** After a target's first byte: path, query and fragment accept every VCHAR. */
const URL_TARGET = byteClass((b) => b > 32 && b < 127);

/** An absolute-form authority (userinfo, host, port, IP literal brackets); "@" apart. */
const URL_SERVER = byteClass((b) => isAlpha(b) || isDigit(b) || "-_.!~*'()%;:&=+$,[]".includes(String.fromCharCode(b)));

// ---- Methods: llhttp's list; those it accepts with HTTP/x.y (the rest are RTSP's) ----------

const HTTP_METHODS = [
  "DELETE", "GET", "HEAD", "POST", "PUT", "CONNECT", "OPTIONS", "TRACE", "COPY", "LOCK", "MKCOL",
  "MOVE", "PROPFIND", "PROPPATCH", "SEARCH", "UNLOCK", "BIND", "REBIND", "UNBIND", "ACL", "REPORT",
  "MKACTIVITY", "CHECKOUT", "MERGE", "M-SEARCH", "NOTIFY", "SUBSCRIBE", "UNSUBSCRIBE", "PATCH",
  "PURGE", "MKCALENDAR", "LINK", "UNLINK", "SOURCE", "PRI", "QUERY",
];
const RTSP_ONLY_METHODS = [
  "DESCRIBE", "ANNOUNCE", "SETUP", "PLAY", "PAUSE", "TEARDOWN", "GET_PARAMETER", "SET_PARAMETER",
  "REDIRECT", "RECORD", "FLUSH",
];
const HTTP_PROTOCOL_METHODS: ReadonlySet<string> = new Set(HTTP_METHODS);

interface Word<T> {
  readonly bytes: Uint8Array;
  readonly value: T;
}

/** Words bucketed by length and first byte, for a match without building a string. */
function wordTable<T>(words: Iterable<[string, T]>): Map<number, Word<T>[]> {
  const table = new Map<number, Word<T>[]>();
  for (const [text, value] of words) {
    const bytes = new Uint8Array(Buffer.from(text, "latin1"));
    const key = bytes.length * 256 + bytes[0];
    const bucket = table.get(key) ?? [];
    bucket.push({ bytes, value });
    table.set(key, bucket);
  }
  return table;
}

const METHOD_TABLE = wordTable([...HTTP_METHODS, ...RTSP_ONLY_METHODS].map((m): [string, string] => [m, m]));
const ALL_METHOD_BYTES = [...HTTP_METHODS, ...RTSP_ONLY_METHODS].map((m) => new Uint8Array(Buffer.from(m, "latin1")));

/** The method named by bytes[p, end) exactly (case-sensitive, as llhttp), or null. */
function matchMethod(bytes: Uint8Array, p: number, end: number): string | null {
  const bucket = METHOD_TABLE.get((end - p) * 256 + bytes[p]);
  if (bucket === undefined) return null;
  for (const word of bucket) {
    let i = 1;
    while (i < word.bytes.length && bytes[p + i] === word.bytes[i]) i++;
    if (i === word.bytes.length) return word.value;
  }
  return null;
}

/** Whether bytes[p, end) could still become a method: llhttp waits for more bytes then. */
function isMethodPrefix(bytes: Uint8Array, p: number, end: number): boolean {
  return ALL_METHOD_BYTES.some((word) => {
    if (end - p > word.length) return false;
    for (let i = 0; p + i < end; i++) if (bytes[p + i] !== word[i]) return false;
    return true;
  });
}

// ---- Header names: common ones interned (no string built), the framing ones marked ---------

interface NameEntry {
  readonly name: string;
  readonly kind: number;
}

const COMMON_NAMES: [string, number][] = [
  ["content-length", CONTENT_LENGTH], ["transfer-encoding", TRANSFER_ENCODING],
  ["connection", CONNECTION], ["proxy-connection", CONNECTION], ["upgrade", UPGRADE],
  ["host", HOST], ["expect", EXPECT],
  ...[
    "accept", "accept-encoding", "accept-language", "accept-charset", "authorization", "cache-control",
    "content-type", "content-encoding", "cookie", "date", "dnt", "forwarded", "if-match",
    "if-modified-since", "if-none-match", "if-unmodified-since", "keep-alive", "origin", "pragma",
    "priority", "range", "referer", "sec-ch-ua", "sec-ch-ua-mobile", "sec-ch-ua-platform",
    "sec-fetch-dest", "sec-fetch-mode", "sec-fetch-site", "sec-fetch-user", "sec-websocket-extensions",
    "sec-websocket-key", "sec-websocket-protocol", "sec-websocket-version", "te", "trailer",
    "traceparent", "tracestate", "upgrade-insecure-requests", "user-agent", "via", "x-api-key",
    "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-real-ip", "x-request-id",
  ].map((name): [string, number] => [name, GENERAL]),
];

const NAME_TABLE = wordTable(COMMON_NAMES.map(([name, kind]): [string, NameEntry] => [name, { name, kind }]));

/** The interned entry for a known header name (any case), or null. */
function interned(bytes: Uint8Array, p: number, end: number): NameEntry | null {
  const bucket = NAME_TABLE.get((end - p) * 256 + (bytes[p] | 0x20));
  if (bucket === undefined) return null;
  for (const word of bucket) {
    // Names are tokens and the words are [a-z0-9-]: "| 0x20" folds case and nothing else.
    let i = 1;
    while (i < word.bytes.length && (bytes[p + i] | 0x20) === word.bytes[i]) i++;
    if (i === word.bytes.length) return word.value;
  }
  return null;
}
