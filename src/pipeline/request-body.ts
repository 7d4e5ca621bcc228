// A request body as plugins see it: read once, within a bound, and what the upstream gets after
// the access phase (the bytes read or a plugin's replacement, or, past the bound, the bytes read
// so far followed by the rest of the client's stream). Only a route whose plugins ask for the
// body gets one of these; every other request streams its body as it came.
import { messageOf } from "../errors.ts";
import { ClientGone } from "../proxy/upstream/errors.ts";

/** The most of a body (request or response) a plugin buffers; a larger one streams through untouched. */
export const MAX_BUFFERED_BODY_BYTES = 1024 * 1024;

/**
 * The most all requests together may hold in bodies still arriving, so slow clients each
 * trickling a body near the bound cannot make the gateway hold a mebibyte per connection. Past
 * it, the body that has been arriving the longest is given up (BodyCrowdedOut: its request is
 * answered 408), as Envoy's overload manager resets streams: a client trickling bodies to hold
 * the memory only ever crowds out its own oldest ones, while a body that arrives at once is read.
 * Never does a read give up as a body past the bound does: other clients' uploads must not make
 * a plugin skip its work on this request (request-transformer sending a field it was to remove).
 */
export const MAX_ARRIVING_BODY_BYTES = 64 * 1024 * 1024;
/** Bodies a plugin is reading while they still arrive, the longest arriving first (Set order). */
const arriving = new Set<BufferedRequestBody>();
let arrivingBytes = 0;

/** The body was given up: it had been arriving the longest when bodies still arriving passed MAX_ARRIVING_BODY_BYTES. */
export class BodyCrowdedOut extends Error {
  constructor() {
    super(messageOf("request_body_too_slow"));
  }
}

/** Gives up the bodies arriving the longest until the rest fit in MAX_ARRIVING_BODY_BYTES. */
function makeRoom(): void {
  for (const body of arriving) {
    if (arrivingBytes <= MAX_ARRIVING_BODY_BYTES) return;
    body.crowdOut();
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
  /** What this body's read counts in `arrivingBytes`. */
  private held = 0;
  private crowdedOut = false;

  constructor(private readonly request: Request) {
    this.whole = request.body === null ? EMPTY : null;
  }

  /**
   * The body if it has at most `maxBytes` (empty when the request has none), else null. A
   * declared Content-Length above the bound is not read at all; a chunked body is read until
   * it passes the bound, and what was read is kept for the upstream. Throws BodyCrowdedOut.
   */
  async read(maxBytes: number): Promise<Uint8Array | null> {
    if (this.crowdedOut) throw new BodyCrowdedOut();
    if (this.whole !== null) return this.whole.byteLength <= maxBytes ? this.whole : null;
    if (this.size > maxBytes || Number(this.request.headers.get("content-length") ?? 0) > maxBytes) return null;
    const reader = (this.reader ??= this.request.body!.getReader() as ReadableStreamDefaultReader<Uint8Array>);
    arriving.add(this);
    try {
      while (this.size <= maxBytes) {
        const { done, value } = await reader.read();
        if (this.crowdedOut) break;
        if (done) {
          this.whole = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
          this.chunks = [];
          this.reader = null;
          return this.whole;
        }
        this.chunks.push(value);
        this.size += value.byteLength;
        this.held += value.byteLength;
        arrivingBytes += value.byteLength;
        if (arrivingBytes > MAX_ARRIVING_BODY_BYTES) makeRoom();
      }
    } catch (error) {
      if (!this.crowdedOut) throw this.request.signal.aborted ? new ClientGone() : error;
    } finally {
      this.stopCounting();
    }
    if (this.crowdedOut) throw new BodyCrowdedOut();
    return null;
  }

  /** Frees what this body holds and stops its client's stream; its read throws BodyCrowdedOut. */
  crowdOut(): void {
    this.crowdedOut = true;
    this.stopCounting();
    this.chunks = [];
    void this.reader?.cancel(new BodyCrowdedOut()).catch(() => {});
  }

  private stopCounting(): void {
    arriving.delete(this);
    arrivingBytes -= this.held;
    this.held = 0;
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
