// A request body as plugins see it: read once, within a bound, and what the upstream gets after
// the access phase (the bytes read or a plugin's replacement, or, past the bound, the bytes read
// so far followed by the rest of the client's stream). Only a route whose plugins ask for the
// body gets one of these; every other request streams its body as it came.
import { ClientGone } from "../proxy/upstream/errors.ts";

/** The most of a body (request or response) a plugin buffers; a larger one streams through untouched. */
export const MAX_BUFFERED_BODY_BYTES = 1024 * 1024;

/**
 * The most all requests together may hold in bodies still arriving, so slow clients each
 * trickling a body near the bound cannot make the gateway hold a mebibyte per connection. A read
 * that would pass it fails (BodyBudgetExhausted: the request is answered 503) rather than give
 * up as a body past the bound does: other clients' uploads must not make a plugin skip its work
 * on this request (request-transformer sending a field on that it was to remove).
 */
export const MAX_ARRIVING_BODY_BYTES = 64 * 1024 * 1024;
let arrivingBytes = 0;

/** The request's body could not be read: other bodies still arriving hold MAX_ARRIVING_BODY_BYTES. */
export class BodyBudgetExhausted extends Error {
  constructor() {
    super("too many request bodies are being read at once");
  }
}

/** What the upstream is sent instead of the client's own stream. */
export type UpstreamBody = Uint8Array | ReadableStream<Uint8Array>;

const EMPTY = new Uint8Array(0);

export class BufferedRequestBody {
  /** What was read so far, while the stream may hold more. */
  private chunks: Uint8Array[] = [];
  private size = 0;
  private reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  /** The whole body: read to its end, or replaced by a plugin. */
  private whole: Uint8Array | null;

  constructor(private readonly request: Request) {
    this.whole = request.body === null ? EMPTY : null;
  }

  /**
   * The body if it has at most `maxBytes` (empty when the request has none), else null. A
   * declared Content-Length above the bound is not read at all; a chunked body is read until
   * it passes the bound, and what was read is kept for the upstream. Throws BodyBudgetExhausted.
   */
  async read(maxBytes: number): Promise<Uint8Array | null> {
    if (this.whole !== null) return this.whole.byteLength <= maxBytes ? this.whole : null;
    if (this.size > maxBytes || Number(this.request.headers.get("content-length") ?? 0) > maxBytes) return null;
    const reader = (this.reader ??= this.request.body!.getReader() as ReadableStreamDefaultReader<Uint8Array>);
    let held = 0;
    try {
      while (this.size <= maxBytes && arrivingBytes <= MAX_ARRIVING_BODY_BYTES) {
        const { done, value } = await reader.read();
        if (done) {
          this.whole = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
          this.chunks = [];
          this.reader = null;
          return this.whole;
        }
        this.chunks.push(value);
        this.size += value.byteLength;
        held += value.byteLength;
        arrivingBytes += value.byteLength;
      }
    } catch (error) {
      throw this.request.signal.aborted ? new ClientGone() : error;
    } finally {
      arrivingBytes -= held;
    }
    if (this.size <= maxBytes) throw new BodyBudgetExhausted();
    return null;
  }

  replace(bytes: Uint8Array): void {
    this.whole = bytes;
    this.chunks = [];
  }

  /** For the forwarder: null while the client's own body goes as it is (none, or never read). */
  upstream(): UpstreamBody | null {
    if (this.whole === EMPTY) return null;
    if (this.whole !== null) return this.whole;
    const reader = this.reader;
    if (reader === null) return null;
    const read = this.chunks;
    this.chunks = [];
    // The bytes read first, in order, then the rest as the client sends it.
    return new ReadableStream<Uint8Array>({
      pull: async (out) => {
        const next = read.shift();
        if (next !== undefined) return out.enqueue(next);
        const { done, value } = await reader.read();
        if (done) out.close();
        else out.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    });
  }
}
