// A request body as plugins see it: read once, within a bound, and what the upstream gets after
// the access phase (the bytes read or a plugin's replacement, or, past the bound, the bytes read
// so far followed by the rest of the client's stream). Only a route whose plugins ask for the
// body gets one of these; every other request streams its body as it came.
import { messageOf } from "../errors.ts";
import { addressGroup } from "../proxy/client-address.ts";
import { ClientGone } from "../proxy/upstream/errors.ts";

/** The most of a body (request or response) a plugin buffers; a larger one streams through untouched. */
export const MAX_BUFFERED_BODY_BYTES = 1024 * 1024;

/**
 * The most all requests together may hold in bodies still arriving, so slow clients each
 * trickling a body near the bound cannot make the gateway hold a mebibyte per connection. Past
 * it, bodies are given up (BodyCrowdedOut: the request is answered 408) from the client holding
 * the most (an address, an IPv6 /64), its longest arriving first, much as Envoy's overload
 * manager resets the streams holding the most memory: a client holding bodies open to take the
 * memory crowds out its own, never another's smaller share. Never does a read give up as a body
 * past the bound does: other clients' uploads must not make a plugin skip its work on this
 * request (request-transformer sending a field it was to remove).
 */
export const MAX_ARRIVING_BODY_BYTES = 64 * 1024 * 1024;
let arrivingBytes = 0;

/** One client's bodies still arriving, the longest arriving first (Set order), and what they hold. */
interface ClientShare {
  readonly group: string;
  readonly bodies: Set<BufferedRequestBody>;
  bytes: number;
}
const shares = new Map<string, ClientShare>();

/** The body was given up: bodies still arriving passed MAX_ARRIVING_BODY_BYTES and its client held the most. */
export class BodyCrowdedOut extends Error {
  constructor() {
    super(messageOf("request_body_too_slow"));
  }
}

/** Gives up bodies, the largest share's longest arriving first, until the rest fit in MAX_ARRIVING_BODY_BYTES. */
function makeRoom(): void {
  while (arrivingBytes > MAX_ARRIVING_BODY_BYTES) {
    let largest: ClientShare | null = null;
    for (const share of shares.values()) if (largest === null || share.bytes > largest.bytes) largest = share;
    if (largest === null) return;
    largest.bodies.values().next().value!.crowdOut();
  }
}

// Chunks under this size are copied together: a body of tiny chunks (chunked framing of 1-byte
// chunks) must hold about its bytes, not an array object each, which is what the budget counts.
const SMALL_CHUNK = 4096;
const SLAB_BYTES = 16 * 1024;

/**
 * Counts the bytes of the client's body the gateway read (prometheus's ingress), where the
 * engine's body stream does not count them itself (Bun.serve's).
 */
export interface BodyMeter {
  bytes: number;
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
  private share: ClientShare | null = null;
  private crowdedOut = false;
  /** Where small chunks are gathered (`keep`), and how much of it they fill. */
  private slab: Uint8Array | null = null;
  private slabUsed = 0;

  /** `client`: the client's address (its share of MAX_ARRIVING_BODY_BYTES is by addressGroup). */
  constructor(
    private readonly request: Request,
    private readonly client: string,
    private readonly meter: BodyMeter | null = null,
  ) {
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
    return this.fill(maxBytes);
  }

  /**
   * The body's first bytes: all of it when it has fewer than `bytes`, else at least `bytes`
   * (read, and kept for the upstream, whatever its Content-Length says). Throws as `read`.
   */
  async start(bytes: number): Promise<Uint8Array> {
    if (this.crowdedOut) throw new BodyCrowdedOut();
    if (this.whole !== null) return this.whole;
    if (this.size < bytes) {
      const whole = await this.fill(bytes - 1);
      if (whole !== null) return whole;
    }
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
  }

  /** Reads until the body ends (giving it whole) or holds more than `maxBytes` (null). */
  private async fill(maxBytes: number): Promise<Uint8Array | null> {
    const reader = (this.reader ??= this.request.body!.getReader() as ReadableStreamDefaultReader<Uint8Array>);
    const group = addressGroup(this.client);
    const share = shares.get(group) ?? { group, bodies: new Set<BufferedRequestBody>(), bytes: 0 };
    shares.set(group, share);
    share.bodies.add(this);
    this.share = share;
    try {
      while (this.size <= maxBytes) {
        const { done, value } = await reader.read();
        if (this.crowdedOut) break;
        if (done) {
          this.seal();
          this.whole = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
          this.chunks = [];
          this.reader = null;
          return this.whole;
        }
        this.keep(value);
        if (this.meter !== null) this.meter.bytes += value.byteLength;
        this.held += value.byteLength;
        share.bytes += value.byteLength;
        arrivingBytes += value.byteLength;
        if (arrivingBytes > MAX_ARRIVING_BODY_BYTES) makeRoom();
      }
    } catch (error) {
      if (!this.crowdedOut) throw this.request.signal.aborted ? new ClientGone() : error;
    } finally {
      this.stopCounting();
    }
    if (this.crowdedOut) throw new BodyCrowdedOut();
    this.seal();
    return null;
  }

  /** Frees what this body holds and stops its client's stream; its read throws BodyCrowdedOut. */
  crowdOut(): void {
    this.crowdedOut = true;
    this.stopCounting();
    this.chunks = [];
    this.slab = null;
    void this.reader?.cancel(new BodyCrowdedOut()).catch(() => {});
  }

  private stopCounting(): void {
    const share = this.share;
    if (share === null) return;
    this.share = null;
    share.bodies.delete(this);
    share.bytes -= this.held;
    if (share.bodies.size === 0) shares.delete(share.group);
    arrivingBytes -= this.held;
    this.held = 0;
  }

  /** Keeps a chunk read; small ones are copied into a slab (SMALL_CHUNK). */
  private keep(value: Uint8Array): void {
    this.size += value.byteLength;
    if (value.byteLength >= SMALL_CHUNK) {
      this.seal();
      this.chunks.push(value);
      return;
    }
    if (this.slab === null || this.slabUsed + value.byteLength > this.slab.byteLength) {
      this.seal();
      this.slab = new Uint8Array(SLAB_BYTES);
    }
    this.slab.set(value, this.slabUsed);
    this.slabUsed += value.byteLength;
  }

  /** The slab's bytes become a chunk like the others. */
  private seal(): void {
    if (this.slab === null) return;
    this.chunks.push(this.slab.subarray(0, this.slabUsed));
    this.slab = null;
    this.slabUsed = 0;
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
    const meter = this.meter;
    // The bytes read first, in order, then the rest as the client sends it.
    return new ReadableStream<Uint8Array>({
      pull: async (out) => {
        const next = read.shift();
        if (next !== undefined) return out.enqueue(next);
        const { done, value } = await reader.read();
        if (done) return out.close();
        if (meter !== null) meter.bytes += value.byteLength;
        out.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    });
  }
}
