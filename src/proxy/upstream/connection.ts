// One keep-alive HTTP/1.1 connection to an upstream, running one exchange at a time: write a
// bodiless request, parse the response head, then hand the body over either whole (when it has
// already arrived, the common small response) or as a stream with backpressure.
import type { Socket } from "bun";
import { BodyRelay, type ResponseHandler } from "./body-relay.ts";
import { ChunkedDecoder } from "./chunked.ts";
import { receiveAsEvent } from "../event-clock.ts";
import { WriteBatch, type WriteSink } from "../write-batch.ts";
import { MAX_HEAD_BYTES, MalformedResponse, lineEndIn, parseResponseHead, statusOf, type ResponseHead, unrelayable } from "./response-head.ts";

/** The connection closed before any byte of a response: a reused connection the upstream had dropped. */
export class ClosedBeforeResponse extends Error {}
export class UpstreamTimedOut extends Error {}

/** A request head that writes itself into the connection's buffer: no string per request. */
export interface HeadWriter {
  /** The most bytes `writeHead` writes. */
  readonly maxBytes: number;
  /** Writes the head from the buffer's start (room for `maxBytes`); returns its length. */
  writeHead(into: Buffer): number;
}

/** One request's side of an exchange: what to send and where its outcome goes. */
export interface Exchange {
  readonly method: string;
  /** The request line and headers. */
  readonly head: HeadWriter;
  readonly readTimeoutMs: number;
  /** Set for the exchange kind that hands the head and body bytes over as they come instead of a Response. */
  readonly handler: ResponseHandler | null;
  resolve(response: Response): void;
  /** `unanswered`: a reused connection closed before any byte of a response. */
  failed(error: Error, unanswered: boolean): void;
  /** Whether the client that asked has gone away (checked by the sweep, `now` from the owner's clock). */
  abandoned(now: number): boolean;
}

const HEAD_END = Buffer.from("\r\n\r\n", "latin1");
/**
 * Where a request head becomes bytes: heads are written synchronously, one at a time, and the
 * socket copies what it takes, so one buffer serves every request without an allocation or a
 * scan for non-ASCII text each.
 */
const HEAD_SCRATCH = Buffer.allocUnsafe(64 * 1024);
const BODY_HIGH_WATER_MARK = 256 * 1024;

export interface ConnectionOwner {
  /** Takes the connection back once its exchange has ended cleanly. */
  release(connection: UpstreamConnection): void;
  /** Forgets a connection that can no longer be used. */
  discard(connection: UpstreamConnection): void;
  /** Tracks the deadline of the exchange in flight: for its head, then between reads of its body. */
  watch(connection: UpstreamConnection): void;
  unwatch(connection: UpstreamConnection): void;
  /** The clock of every deadline, in milliseconds. */
  now(): number;
}

export const SOCKET_HANDLERS = {
  data(socket: Socket<UpstreamConnection>, bytes: Buffer) {
    receiveAsEvent(socket.data, bytes);
  },
  drain(socket: Socket<UpstreamConnection>) {
    socket.data.writeRest();
  },
  end(socket: Socket<UpstreamConnection>) {
    socket.data.ended();
  },
  close(socket: Socket<UpstreamConnection>) {
    socket.data.ended();
  },
  error(socket: Socket<UpstreamConnection>) {
    socket.data.ended();
  },
};

export class UpstreamConnection implements WriteSink {
  socket: Socket<UpstreamConnection> | null = null;
  /** The owner's clock reading after which the exchange in flight times out. */
  deadline = 0;
  idleSince = 0;
  /** Set once the owner no longer counts it. */
  discarded = false;
  private exchange: Exchange | null = null;
  private reused = false;
  private head: Buffer | null = null;
  private unwritten: Buffer | null = null;
  private body: BodyStream | null = null;
  private relay: BodyRelay | null = null;
  private closed = false;
  private paused = false;
  /** The request head waits for the turn's end (WriteBatch). */
  private readonly batch = new WriteBatch(this);

  constructor(readonly poolKey: string, private readonly owner: ConnectionOwner) {}

  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends a bodiless request; its outcome goes to the exchange. */
  request(exchange: Exchange, reused: boolean): void {
    this.exchange = exchange;
    this.reused = reused;
    this.deadline = this.owner.now() + exchange.readTimeoutMs;
    this.owner.watch(this);
    const head = exchange.head;
    const bound = head.maxBytes;
    const bytes = bound <= HEAD_SCRATCH.length ? HEAD_SCRATCH : Buffer.allocUnsafe(bound);
    const length = head.writeHead(bytes);
    if (!this.batch.hold(bytes, 0, length)) this.writeOut(bytes, 0, length);
  }

  /** Writes `bytes[start, end)`; what the socket does not take is copied (its buffer serves the next head) to wait for drain. */
  writeOut(bytes: Uint8Array, start: number, end: number): void {
    if (this.closed || !this.socket) return;
    const written = this.socket.write(bytes, start, end - start);
    if (written < end - start) this.unwritten = Buffer.from(bytes.subarray(start + Math.max(written, 0), end));
  }

  writeRest(): void {
    const rest = this.unwritten;
    if (!rest || !this.socket) return;
    const written = this.socket.write(rest);
    this.unwritten = written < rest.length ? rest.subarray(Math.max(written, 0)) : null;
  }

  timedOut(): void {
    if (this.relay) this.relay.abort(new UpstreamTimedOut("read timeout while reading the body"));
    else if (this.body) this.abortBody(new UpstreamTimedOut("read timeout while reading the body"));
    else this.fail(new UpstreamTimedOut());
  }

  isAbandoned(now: number): boolean {
    return this.exchange !== null && this.exchange.abandoned(now);
  }

  /** Ends the exchange in flight with `error` and closes the connection. */
  abandon(error: Error): void {
    if (this.relay) this.relay.abort(error);
    else if (this.body) this.abortBody(error);
    else this.fail(error);
  }

  /** Renews the body's read deadline: more of it has arrived, or the client wants more. */
  watchBody(readTimeoutMs: number): void {
    this.deadline = this.owner.now() + readTimeoutMs;
    this.owner.watch(this);
  }

  private abortBody(error: Error): void {
    const body = this.body!;
    this.body = null;
    this.owner.unwatch(this);
    body.abort(error);
    this.destroy();
  }

  received(bytes: Buffer): void {
    if (this.relay) {
      this.relay.push(bytes);
      return;
    }
    if (this.body) {
      this.body.push(bytes);
      return;
    }
    if (!this.exchange) {
      // Bytes nobody asked for: the connection's framing can no longer be trusted.
      this.destroy();
      return;
    }
    let buffer = this.head ? Buffer.concat([this.head, bytes]) : bytes;
    for (;;) {
      const end = buffer.indexOf(HEAD_END);
      if (end < 0 || end > MAX_HEAD_BYTES) {
        if (end > MAX_HEAD_BYTES || buffer.length > MAX_HEAD_BYTES) this.fail(new MalformedResponse("response head too large"));
        else this.head = buffer;
        return;
      }
      const rest = buffer.subarray(end + 4);
      try {
        const status = statusOf(buffer, 0, lineEndIn(buffer, 0, end));
        if (status < 200) {
          // 101 would switch protocols on a request that never asked to; other 1xx are interim.
          if (status === 101) throw new MalformedResponse("unexpected 101 Switching Protocols");
          buffer = rest;
          continue;
        }
        this.head = null;
        this.startBody(parseResponseHead(buffer, 0, end, this.exchange.method), rest);
      } catch (error) {
        this.fail(error instanceof MalformedResponse ? error : new MalformedResponse((error as Error).message));
      }
      return;
    }
  }

  ended(): void {
    if (this.closed) return;
    this.closed = true;
    this.owner.discard(this);
    if (this.relay) this.relay.closed();
    else if (this.body) this.body.ended();
    else if (this.exchange) {
      if (this.head) this.fail(new MalformedResponse("upstream closed the connection mid-head"));
      else this.fail(new ClosedBeforeResponse("upstream closed the connection before responding"), this.reused);
    }
  }

  destroy(): void {
    this.closed = true;
    this.batch.drop();
    this.owner.discard(this);
    this.socket?.terminate();
  }

  private fail(error: Error, unanswered = false): void {
    const exchange = this.exchange;
    this.exchange = null;
    this.owner.unwatch(this);
    this.destroy();
    exchange?.failed(error, unanswered);
  }

  private startBody(head: ResponseHead, rest: Buffer): void {
    const exchange = this.exchange!;
    this.exchange = null;
    this.owner.unwatch(this);
    if (exchange.handler !== null) {
      const refusal = unrelayable(head);
      if (refusal !== null) {
        this.destroy();
        exchange.failed(new MalformedResponse(refusal), false);
        return;
      }
      const relay = new BodyRelay(this, exchange.handler, head, exchange.readTimeoutMs);
      this.relay = relay;
      try {
        relay.start(rest);
      } catch (error) {
        // Broken framing in the first packet: nothing was sent to the client yet, so a 502.
        this.relay = null;
        this.destroy();
        exchange.failed(error as Error, false);
      }
      return;
    }
    let whole: Buffer | null | undefined;
    let leftover = 0;
    if (head.framing === "none") {
      whole = null;
      leftover = rest.length;
    } else if (head.framing === "length" && rest.length >= head.length) {
      whole = rest.subarray(0, head.length);
      leftover = rest.length - head.length;
    } else if (head.framing === "chunked") {
      const decoder = new ChunkedDecoder();
      const pieces: Buffer[] = [];
      let stop: number;
      try {
        stop = decoder.decode(rest, 0, (piece) => pieces.push(piece));
      } catch (error) {
        // Broken framing in the first packet: nothing was sent to the client yet, so a 502.
        this.destroy();
        exchange.failed(error as Error, false);
        return;
      }
      if (decoder.done) {
        whole = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
        leftover = rest.length - stop;
      } else {
        this.body = new BodyStream(this, head, decoder, pieces, exchange.readTimeoutMs);
      }
    } else {
      this.body = new BodyStream(this, head, null, rest.length ? [rest] : [], exchange.readTimeoutMs);
    }
    // A copy, so the response owns its bytes whatever the socket does with its buffer.
    const response = makeResponse(head, this.body ? this.body.stream : whole ? new Uint8Array(whole) : whole === null ? null : new Uint8Array(0));
    if (!this.body) this.finish(head.reusable && leftover === 0);
    if (response instanceof Error) {
      this.destroy();
      exchange.failed(response, false);
    } else exchange.resolve(response);
  }

  /** The body has been read to its end. */
  finish(reusable: boolean): void {
    this.body = null;
    this.relay = null;
    this.owner.unwatch(this);
    // An upstream that answered before it read all of the request head would read the rest of it
    // as the start of the next request: such a connection is never reused (nginx: request_body_sent).
    if (reusable && !this.closed && this.unwritten === null) {
      this.resumeReading();
      this.owner.release(this);
    } else this.destroy();
  }

  /** The client lags: stop reading, and stop the read deadline, which is the upstream's. */
  pauseReading(): void {
    if (this.paused || !this.socket) return;
    this.paused = true;
    this.owner.unwatch(this);
    this.socket.pause();
  }

  resumeReading(): void {
    if (!this.paused || !this.socket) return;
    this.paused = false;
    if (this.body) this.body.renewDeadline();
    else if (this.relay) this.relay.renewDeadline();
    this.socket.resume();
  }
}

/** Whether the upstream named its body's type (Bun.serve labels an untyped in-memory body application/octet-stream). */
function hasContentType(headers: readonly [string, string][]): boolean {
  for (const [name] of headers) if (name.length === 12 && name.toLowerCase() === "content-type") return true;
  return false;
}

/** A stream already holding all of `bytes`: Bun.serve still frames it with Content-Length, and adds no Content-Type. */
function untypedBody(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
}

function makeResponse(head: ResponseHead, body: ReadableStream<Uint8Array> | Uint8Array | null): Response | MalformedResponse {
  try {
    // A proxy does not make up a type its upstream did not give (RFC 9110 §8.3).
    const sent = body instanceof Uint8Array && body.byteLength > 0 && !hasContentType(head.headers) ? untypedBody(body) : body;
    return new Response(sent, { status: head.status, headers: head.headers });
  } catch (error) {
    // Header names or values Fetch refuses, or a status outside 200-599.
    return new MalformedResponse((error as Error).message);
  }
}

/** A body still arriving: bytes are queued as they come, and the socket pauses while the client lags. */
class BodyStream {
  readonly stream: ReadableStream<Uint8Array>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private remaining: number;

  constructor(
    private readonly connection: UpstreamConnection,
    private readonly head: ResponseHead,
    private readonly decoder: ChunkedDecoder | null,
    initial: Buffer[],
    private readonly readTimeoutMs: number,
  ) {
    this.remaining = head.framing === "length" ? head.length : 0;
    connection.watchBody(readTimeoutMs);
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        pull: () => {
          this.connection.resumeReading();
        },
        cancel: () => {
          this.connection.destroy();
        },
      },
      { highWaterMark: BODY_HIGH_WATER_MARK, size: (chunk) => chunk?.byteLength ?? 0 },
    );
    if (head.framing === "length") for (const piece of initial) this.push(piece);
    else for (const piece of initial) this.enqueue(piece);
  }

  renewDeadline(): void {
    this.connection.watchBody(this.readTimeoutMs);
  }

  /** The upstream failed mid-body: the client's response ends in an error, not a short body. */
  abort(error: Error): void {
    this.controller.error(error);
  }

  push(bytes: Buffer): void {
    this.renewDeadline();
    try {
      if (this.decoder) {
        const stop = this.decoder.decode(bytes, 0, (piece) => this.enqueue(piece));
        if (this.decoder.done) this.complete(stop === bytes.length);
      } else if (this.head.framing === "length") {
        const take = Math.min(this.remaining, bytes.length);
        this.enqueue(bytes.subarray(0, take));
        this.remaining -= take;
        if (this.remaining === 0) this.complete(take === bytes.length);
      } else this.enqueue(bytes);
    } catch (error) {
      this.controller.error(error);
      this.connection.finish(false);
    }
  }

  ended(): void {
    if (this.head.framing === "close") this.controller.close();
    else this.controller.error(new Error("upstream closed the connection mid-response"));
    this.connection.finish(false);
  }

  private enqueue(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.controller.enqueue(new Uint8Array(bytes));
    if ((this.controller.desiredSize ?? 1) <= 0) this.connection.pauseReading();
  }

  private complete(noLeftover: boolean): void {
    this.controller.close();
    this.connection.finish(this.head.reusable && noLeftover);
  }
}
