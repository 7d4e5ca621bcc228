// Generated upstream response heads for the differential tests of the head parser and of the
// raw engine's relay of its lines: mostly well-formed, with the spellings real upstreams use,
// and the edits that tell two readings apart (case, whitespace around the colon and the value,
// VT/FF/NBSP, NUL/CR/LF inside a line, folds, repeated and conflicting framing headers,
// Connection options naming other fields, beyond-ASCII latin1 bytes).

import { type Random, seededRandom } from "../../plugins/jwt/fuzz-corpus.ts";
import { type ResponseHead, lineEndIn, parseResponseHead, statusOf } from "../../src/proxy/upstream/response-head.ts";

/** The jwt fuzz corpus's seeded generator (mulberry32), so a failing head can be made again from its seed. */
export { seededRandom };

/** A head written as latin1 text (up to the blank line), parsed as the upstream client parses its bytes. */
export function parseResponseText(text: string, requestMethod: string): ResponseHead {
  const bytes = Buffer.from(text, "latin1");
  return parseResponseHead(bytes, 0, bytes.length, requestMethod);
}

/** The status of a head written as latin1 text, read from its first line as the upstream client reads it. */
export function statusOfText(text: string): number {
  const bytes = Buffer.from(text, "latin1");
  return statusOf(bytes, 0, lineEndIn(bytes, 0, bytes.length));
}

const STATUS_LINES = [
  "HTTP/1.1 200 OK", "HTTP/1.1 200", "HTTP/1.1 200 ", "HTTP/1.0 200 OK", "HTTP/1.1 204 No Content", "HTTP/1.1 304 Not Modified",
  "HTTP/1.1 404 Not Found", "HTTP/1.1 502 Bad Gateway", "HTTP/1.1 600 Odd", "HTTP/1.1 99 Low", "HTTP/2 200 OK", "HTTP/1.1 2OO OK",
];
const NAMES = [
  "Server", "Date", "DATE", "date", "Content-Type", "Content-Length", "content-length", "CONTENT-LENGTH", "Transfer-Encoding",
  "transfer-encoding", "Connection", "connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Upgrade", "Set-Cookie",
  "X-Request-Id", "x-request-id", "X-Gateway-Upstream-Latency", "x-gateway-proxy-latency", "X-A", "x-a", "X-Hop", "ETag",
  "X-\xe9", "Bad Name", "X@Y", "X:Y",
];
const SEPARATORS = [": ", ": ", ": ", ":", ":  ", ":\t", ": \xa0", ":\x0b", " :", "\t:", "::"];
const VALUES = [
  "1", "29", "007", "0", "1x", "", "nginx/1.22.1", "application/json", "chunked", "gzip, chunked", "chunked, gzip", "Chunked",
  "keep-alive", "Keep-Alive", "close", "close, X-A", "x-a, date", "X-Hop", "content-length", "upgrade", "  v  ", "v\x0b", "\x0cv",
  "v\xa0", "a\0b", "a\rb", "a\nb", "\xe9t\xe9", "a, b", "timeout=5",
];

const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

/** One head's text, up to (not including) the blank line that ends it. */
export function randomResponseHead(random: Random): string {
  let text = random() < 0.9 ? pick(random, STATUS_LINES.slice(0, 8)) : pick(random, STATUS_LINES);
  const count = Math.floor(random() * 9);
  for (let i = 0; i < count; i++) {
    const shape = random();
    if (shape < 0.02) text += "\r\n folded continuation";
    else if (shape < 0.04) text += "\r\nNoColon";
    else if (shape < 0.05) text += "\r\n: empty name";
    else {
      const name = pick(random, NAMES);
      const separator = random() < 0.75 ? ": " : pick(random, SEPARATORS);
      const value = pick(random, VALUES);
      text += `\r\n${name}${separator}${value}${random() < 0.1 ? pick(random, [" ", "\t", "\xa0", "\x0c"]) : ""}`;
    }
  }
  return text;
}
