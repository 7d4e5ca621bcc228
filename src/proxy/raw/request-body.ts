// A request body read from the client's connection into a ReadableStream, Content-Length or
// chunked, with backpressure: the connection stops reading while the stream is full, and reads
// again when its consumer (fetch, a plugin) pulls. The first read sends `100 Continue` to a
// client that waits for one: only a request that is going somewhere is asked for its body.
import { ChunkedRequestBody } from "./chunked-request-body.ts";

/** What the body needs of its connection. */
export interface BodySource {
  /** The stream wants more: feed what is buffered and read the socket again. */
  bodyWanted(): void;
  /** The client waits for `100 Continue` before sending the body. */
  sendContinue(): void;
}

const HIGH_WATER_MARK = 64 * 1024;

/** Chunk data under this size is joined with its neighbours of the same read before it is queued. */
const SMALL_PIECE = 4096;

export class RequestBody {
  readonly stream: ReadableStream<Uint8Array>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private remaining: number;
  private readonly chunked: ChunkedRequestBody | null;
  /** Small pieces of chunk data of the current read, not yet queued (`takeChunkData`). */
  private small: Uint8Array[] | null = null;
  private continueSent: boolean;
  /** Body bytes read from the connection and queued so far (the framing's own not counted). */
  received = 0;
  /** Every byte of the body has been read from the connection. */
  done = false;
  /** The body could not be read (broken chunked framing, the client gone): the connection cannot be reused. */
  failed: string | null = null;
  /** Why the body's chunked framing is broken, or null: a client error, answered 400. */
  malformed: string | null = null;

  constructor(
    framing: { kind: "length"; length: number } | { kind: "chunked" },
    private readonly source: BodySource,
    expectContinue: boolean,
  ) {
    this.remaining = framing.kind === "length" ? framing.length : 0;
    this.chunked = framing.kind === "chunked" ? new ChunkedRequestBody() : null;
    this.continueSent = !expectContinue;
    const own = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        pull: () => this.source.bodyWanted(),
        cancel: () => {
          this.failed ??= "the body's reader cancelled it";
        },
      },
      { highWaterMark: HIGH_WATER_MARK, size: (chunk) => chunk?.byteLength ?? 0 },
    );
    this.stream = expectContinue ? this.continuedOnRead(own) : own;
    if (this.remaining === 0 && !this.chunked) this.finish();
  }

  /**
   * `body` behind a stream that reads nothing ahead: a stream with room pulls as soon as it is
   * made, before anyone reads it, so only this one's first pull is a reader's (a plugin's or
   * fetch's). Then the client is told to send its body, and not before.
   */
  private continuedOnRead(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
    const reader = body.getReader();
    return new ReadableStream<Uint8Array>(
      {
        pull: async (out) => {
          if (!this.continueSent) {
            this.continueSent = true;
            this.source.sendContinue();
          }
          const { done, value } = await reader.read();
          if (done) out.close();
          else out.enqueue(value);
        },
        cancel: (reason) => reader.cancel(reason),
      },
      { highWaterMark: 0 },
    );
  }

  /** Whether the stream takes more now (false: stop reading the socket). */
  get wanted(): boolean {
    return !this.done && this.failed === null && (this.controller.desiredSize ?? 0) > 0;
  }

  /** Whether `100 Continue` went out, or was never asked for. */
  get continued(): boolean {
    return this.continueSent;
  }

  /** Takes body bytes from `bytes[start, end)`; returns how many belonged to the body. */
  push(bytes: Uint8Array, start: number, end: number): number {
    if (this.done || this.failed !== null) return 0;
    if (this.chunked) {
      const consumed = this.chunked.push(bytes, start, end, this.takeChunkData);
      this.flushSmall();
      if (this.chunked.error !== null) {
        this.malformed = `invalid chunked body: ${this.chunked.error}`;
        this.fail(this.malformed);
      }
      else if (this.chunked.done) this.finish();
      return consumed;
    }
    const take = Math.min(this.remaining, end - start);
    if (take > 0) this.enqueue(bytes.subarray(start, start + take));
    this.remaining -= take;
    if (this.remaining === 0) this.finish();
    return take;
  }

  /** Reads and drops the rest of the body from `bytes` (the answer did not need it); returns how many bytes it took. */
  discard(bytes: Uint8Array, start: number, end: number): number {
    if (this.done || this.failed !== null) return 0;
    if (this.chunked) {
      const consumed = this.chunked.push(bytes, start, end, () => {});
      if (this.chunked.error !== null) this.failed = this.malformed = `invalid chunked body: ${this.chunked.error}`;
      else if (this.chunked.done) this.done = true;
      return consumed;
    }
    const take = Math.min(this.remaining, end - start);
    this.remaining -= take;
    if (this.remaining === 0) this.done = true;
    return take;
  }

  clientGone(): void {
    if (!this.done) this.fail("the client closed the connection mid-body");
  }

  /**
   * Chunk data as the chunked reader finds it. Small pieces in a row are queued as one: a body of
   * 1-byte chunks must not queue an array object per byte (the queue's bound counts bytes).
   * Larger ones go as they are: joining those made a streamed upload's garbage peak twice as high.
   */
  private readonly takeChunkData = (slice: Uint8Array): void => {
    if (slice.byteLength < SMALL_PIECE) {
      (this.small ??= []).push(slice);
      return;
    }
    this.flushSmall();
    this.enqueue(slice);
  };

  private flushSmall(): void {
    const small = this.small;
    if (small === null) return;
    this.small = null;
    if (small.length === 1) return this.enqueue(small[0]!);
    let size = 0;
    for (const piece of small) size += piece.byteLength;
    this.received += size;
    const joined = new Uint8Array(size);
    let at = 0;
    for (const piece of small) {
      joined.set(piece, at);
      at += piece.byteLength;
    }
    this.controller.enqueue(joined);
  }

  private enqueue(slice: Uint8Array): void {
    if (slice.byteLength === 0) return;
    this.received += slice.byteLength;
    // A copy: the connection's buffer is reused once this returns.
    this.controller.enqueue(slice.slice());
  }

  private finish(): void {
    this.done = true;
    this.controller.close();
  }

  private fail(why: string): void {
    this.failed = why;
    try {
      this.controller.error(new Error(why));
    } catch {
      // Already closed or errored by its reader.
    }
  }
}

