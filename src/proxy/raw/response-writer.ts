// Writes a Fetch Response to a raw-engine connection as Bun.serve would: the status line, the
// headers in the Headers' order, Date, then Content-Length when the body's length is known (a
// body that is already whole counts), else chunked, or close-delimited to an HTTP/1.0 client.
// The body streams with backpressure: no read from it while the client has not taken the last.
import { STATUS_CODES } from "node:http";
import { httpDate } from "../http-date.ts";

type ReadResult = { done: true; value?: undefined } | { done: false; value: Uint8Array };

/** What the writer needs of its connection. */
export interface ResponseSink {
  /** False: wait for `writable()` before writing more. */
  write(bytes: Uint8Array | string): boolean;
  writable(): Promise<void>;
  readonly clientGone: boolean;
}

/** How the request asked to be answered. */
export interface Answering {
  readonly method: string;
  readonly minorVersion: 0 | 1;
  /** The connection closes after this response: say so in the head (when the gateway decided it). */
  readonly announceClose: boolean;
}

/** `Date: …\r\n` */
export function dateHeader(): string {
  return `Date: ${httpDate()}\r\n`;
}

/** The status lines with their standard reasons, made once per status (every answer writes one). */
const STANDARD_STATUS_LINES: string[] = [];

export function statusLine(status: number, statusText: string): string {
  if (statusText !== "") return `HTTP/1.1 ${status} ${statusText}\r\n`;
  return (STANDARD_STATUS_LINES[status] ??= `HTTP/1.1 ${status} ${STATUS_CODES[status] || ""}\r\n`);
}

/** Statuses whose responses never have a body (RFC 9110 §6.4.1). */
export function bodiless(status: number, method: string): boolean {
  return method === "HEAD" || status === 204 || status === 304 || (status >= 100 && status < 200);
}

/**
 * The header lines of `headers` without the framing ones (the writer frames). Other hop-by-hop
 * fields of an upstream were removed when its response was read; the gateway's own (426's
 * Upgrade, a drain's Connection: close) are meant for the client.
 */
function headerLines(headers: Headers, keepLength: boolean): string {
  let text = "";
  for (const [name, value] of headers) {
    if (name === "transfer-encoding" || (name === "content-length" && !keepLength)) continue;
    text += `${name}: ${value}\r\n`;
  }
  return text;
}

/**
 * The next read of `reader` if it has already happened by the time the current macrotask ends;
 * a body still being produced (an upstream stream) is not waited for.
 */
function settledSoon<T>(read: Promise<T>): Promise<T | null> {
  return Promise.race([read, new Promise<null>((resolve) => setImmediate(() => resolve(null)))]);
}

/**
 * Writes `response`; resolves true once all of it is written and the connection may carry
 * another request, false when it must close (a body that failed or was cut short, or a
 * close-delimited one).
 */
export async function writeResponse(sink: ResponseSink, response: Response, answering: Answering): Promise<boolean> {
  const { status } = response;
  const headers = response.headers;
  const close = answering.announceClose && !headers.has("connection") ? "Connection: close\r\n" : "";
  const line = statusLine(status, response.statusText);
  const date = headers.has("date") ? "" : dateHeader();
  const body = response.body;
  if (bodiless(status, answering.method)) {
    // HEAD keeps the length the upstream gave; 1xx, 204 and 304 have none.
    const keepLength = answering.method === "HEAD" && status !== 204 && status !== 304;
    sink.write(`${line}${headerLines(headers, keepLength)}${date}${close}\r\n`);
    void body?.cancel().catch(() => {});
    return true;
  }
  if (body === null) {
    sink.write(`${line}${headerLines(headers, false)}${date}${close}Content-Length: 0\r\n\r\n`);
    return true;
  }
  const declared = headers.get("content-length");
  const reader = body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  try {
    if (declared !== null && /^\d+$/.test(declared)) return await writeKnownLength(sink, reader, `${line}${headerLines(headers, false)}${date}${close}Content-Length: ${declared}\r\n\r\n`, Number(declared));
    const first = await reader.read();
    if (first.done) {
      sink.write(`${line}${headerLines(headers, false)}${date}${close}Content-Length: 0\r\n\r\n`);
      return true;
    }
    const pending = reader.read();
    const second = await settledSoon(pending);
    if (second !== null && second.done) {
      sink.write(`${line}${headerLines(headers, false)}${date}${close}Content-Length: ${first.value.byteLength}\r\n\r\n`);
      sink.write(first.value);
      return true;
    }
    const chunked = answering.minorVersion === 1;
    sink.write(`${line}${headerLines(headers, false)}${date}${close}${chunked ? "Transfer-Encoding: chunked\r\n" : ""}\r\n`);
    let next: ReadResult | null = first;
    let upcoming: Promise<ReadResult> | null = pending;
    while (next !== null && !next.done) {
      const value = next.value;
      if (value.byteLength > 0 && !(chunked ? writeChunk(sink, value) : sink.write(value))) await sink.writable();
      if (sink.clientGone) {
        void reader.cancel().catch(() => {});
        return false;
      }
      next = upcoming ? await upcoming : await reader.read();
      upcoming = null;
    }
    if (!chunked) return false;
    sink.write("0\r\n\r\n");
    return true;
  } catch {
    // The body failed midway (the upstream broke off): the client sees its connection end.
    return false;
  }
}

/** One chunk of a chunked body; false when the client has not taken all of it. */
export function writeChunk(sink: { write(bytes: Uint8Array | string): boolean }, value: Uint8Array): boolean {
  const sized = sink.write(`${value.byteLength.toString(16)}\r\n`);
  const data = sink.write(value);
  return sink.write("\r\n") && sized && data;
}

async function writeKnownLength(sink: ResponseSink, reader: ReadableStreamDefaultReader<Uint8Array>, head: string, length: number): Promise<boolean> {
  sink.write(head);
  let left = length;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return left === 0;
    const piece = value.byteLength > left ? value.subarray(0, left) : value;
    left -= piece.byteLength;
    if (!sink.write(piece)) await sink.writable();
    if (sink.clientGone) {
      void reader.cancel().catch(() => {});
      return false;
    }
    if (left === 0) return true;
  }
}
