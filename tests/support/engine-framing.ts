// Where one HTTP/1.x message ends in bytes received so far, for the parity test's raw peers
// (client and upstream), written apart from the gateway's own parsers so that a framing bug in
// either engine cannot also hide in the tool that reads its output. Bytes are latin1 strings:
// one character per byte, so lengths and offsets are byte counts.

export interface MessageHead {
  /** The request line or status line. */
  startLine: string;
  /** Lower-case name → values in order. */
  headers: Map<string, string[]>;
  /** Offset of the first body byte. */
  bodyStart: number;
}

/** A complete message: where it ends; or not complete yet; or one whose body ends when the connection does. */
export type MessageEnd = { kind: "complete"; head: MessageHead; end: number } | { kind: "incomplete" } | { kind: "until-close"; head: MessageHead };

/** The head starting at `start`, or null while its blank line has not arrived. */
export function readHead(bytes: string, start: number): MessageHead | null {
  const blank = bytes.indexOf("\r\n\r\n", start);
  if (blank < 0) return null;
  const lines = bytes.slice(start, blank).split("\r\n");
  const headers = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const values = headers.get(name) ?? [];
    values.push(line.slice(colon + 1).trim());
    headers.set(name, values);
  }
  return { startLine: lines[0]!, headers, bodyStart: blank + 4 };
}

/** The status of a status line (NaN for anything else). */
export function statusOf(head: MessageHead): number {
  return Number(head.startLine.split(" ")[1]);
}

function isChunked(head: MessageHead): boolean {
  const codings = head.headers.get("transfer-encoding");
  if (!codings) return false;
  return codings.join(",").split(",").pop()!.trim().toLowerCase() === "chunked";
}

/** End of a chunked body starting at `start` (trailers included), or -1 while incomplete. */
function chunkedEnd(bytes: string, start: number): number {
  let at = start;
  for (;;) {
    const lineEnd = bytes.indexOf("\r\n", at);
    if (lineEnd < 0) return -1;
    const size = Number.parseInt(bytes.slice(at, lineEnd).split(";")[0]!.trim(), 16);
    if (Number.isNaN(size)) throw new Error(`bad chunk size line ${JSON.stringify(bytes.slice(at, lineEnd))}`);
    if (size === 0) {
      // Trailer fields, then the blank line.
      let trailer = lineEnd + 2;
      for (;;) {
        const end = bytes.indexOf("\r\n", trailer);
        if (end < 0) return -1;
        if (end === trailer) return end + 2;
        trailer = end + 2;
      }
    }
    at = lineEnd + 2 + size + 2;
    if (at > bytes.length) return -1;
  }
}

function bodyEnd(bytes: string, head: MessageHead, framing: "none" | "length" | "chunked" | "close"): MessageEnd {
  if (framing === "none") return { kind: "complete", head, end: head.bodyStart };
  if (framing === "close") return { kind: "until-close", head };
  if (framing === "length") {
    const end = head.bodyStart + Number(head.headers.get("content-length")![0]);
    return end <= bytes.length ? { kind: "complete", head, end } : { kind: "incomplete" };
  }
  const end = chunkedEnd(bytes, head.bodyStart);
  return end < 0 ? { kind: "incomplete" } : { kind: "complete", head, end };
}

/** A request from `start` (RFC 9112 §6.3: chunked, else Content-Length, else no body). */
export function requestEnd(bytes: string, start: number): MessageEnd {
  const head = readHead(bytes, start);
  if (!head) return { kind: "incomplete" };
  return bodyEnd(bytes, head, isChunked(head) ? "chunked" : head.headers.has("content-length") ? "length" : "none");
}

/** A response from `start` to a request with `method` (RFC 9112 §6.3). */
export function responseEnd(bytes: string, start: number, method: string): MessageEnd {
  const head = readHead(bytes, start);
  if (!head) return { kind: "incomplete" };
  const status = statusOf(head);
  if (method === "HEAD" || (status >= 100 && status < 200) || status === 204 || status === 304) return bodyEnd(bytes, head, "none");
  return bodyEnd(bytes, head, isChunked(head) ? "chunked" : head.headers.has("content-length") ? "length" : "close");
}
