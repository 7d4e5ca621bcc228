// The second kind of upstream exchange: instead of a Response, the response head and then each
// run of body bytes go to a handler as they arrive (the raw engine writes them to its client
// with no Response, no stream and no promise in between). Chunked bodies are decoded here, so
// the end is known and the handler can frame the bytes honestly for its client.
import { ChunkedDecoder } from "./chunked.ts";
import type { ResponseHead } from "./response-head.ts";

/** How the handler holds back the upstream while its client lags. */
export interface BodyControl {
  /** The client took what it was given: read the upstream again. */
  resume(): void;
  /** The client went away: the upstream connection is closed, and `end` hears `error`. */
  abort(error: Error): void;
}

export interface ResponseHandler {
  /** The head arrived; body bytes follow through `data` and `end`. Its framing is the one to relay with: a Content-Length line among its headers may be missing or repeated. */
  head(head: ResponseHead, control: BodyControl): void;
  /** Body bytes (chunked framing removed), valid only during the call; false pauses the upstream until `control.resume()`. */
  data(bytes: Buffer): boolean;
  /** The body is complete (`error` null) or broke off. */
  end(error: Error | null): void;
  /** No response came: the errors sendBodiless rejects with (UpstreamTimeout, UpstreamUnreachable, ClientGone…). */
  failed(error: Error): void;
}

/** What the relay needs of the connection it reads from (UpstreamConnection). */
export interface RelayedConnection {
  watchBody(readTimeoutMs: number): void;
  pauseReading(): void;
  resumeReading(): void;
  finish(reusable: boolean): void;
}

export class BodyRelay implements BodyControl {
  private remaining: number;
  private readonly decoder: ChunkedDecoder | null;
  private ended = false;

  constructor(
    private readonly connection: RelayedConnection,
    private readonly handler: ResponseHandler,
    private readonly head: ResponseHead,
    private readonly readTimeoutMs: number,
  ) {
    this.remaining = head.framing === "length" ? head.length : 0;
    this.decoder = head.framing === "chunked" ? new ChunkedDecoder() : null;
  }

  /**
   * Hands the head over, then the body bytes that came with it. A chunked body wholly in the
   * first packet is handed over as one of known length (as a Response made of it would be; the
   * head then has framing "length" and no Content-Length line: the handler writes its own), and
   * broken chunked framing there throws (MalformedResponse) before the head is handed over, so
   * the client can still be answered 502.
   */
  start(rest: Buffer): void {
    const { framing } = this.head;
    if (this.decoder) {
      const pieces: Buffer[] = [];
      const stop = this.decoder.decode(rest, 0, (piece) => pieces.push(piece));
      if (this.decoder.done) {
        const whole = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
        this.handler.head(this.head.withLength(whole.length), this);
        if (whole.length > 0) this.handler.data(whole);
        this.complete(stop === rest.length);
        return;
      }
      this.handler.head(this.head, this);
      this.connection.watchBody(this.readTimeoutMs);
      let wantsMore = true;
      for (const piece of pieces) if (piece.length > 0 && !this.handler.data(piece)) wantsMore = false;
      if (!wantsMore) this.connection.pauseReading();
      return;
    }
    this.handler.head(this.head, this);
    if (framing === "none" || (framing === "length" && this.remaining === 0)) {
      this.complete(rest.length === 0);
      return;
    }
    // A body wholly in the first packet ends here without its deadline ever being watched.
    if (rest.length > 0) this.push(rest);
    else this.connection.watchBody(this.readTimeoutMs);
  }

  resume(): void {
    if (!this.ended) this.connection.resumeReading();
  }

  renewDeadline(): void {
    this.connection.watchBody(this.readTimeoutMs);
  }

  push(bytes: Buffer): void {
    if (this.ended) return;
    let wantsMore = true;
    try {
      if (this.decoder) {
        const stop = this.decoder.decode(bytes, 0, (piece) => {
          if (piece.length > 0 && !this.handler.data(piece)) wantsMore = false;
        });
        if (this.decoder.done) return this.complete(stop === bytes.length);
      } else if (this.head.framing === "length") {
        const take = Math.min(this.remaining, bytes.length);
        this.remaining -= take;
        wantsMore = this.handler.data(take === bytes.length ? bytes : bytes.subarray(0, take));
        if (this.remaining === 0) return this.complete(take === bytes.length);
      } else wantsMore = this.handler.data(bytes);
    } catch (error) {
      return this.abort(error as Error);
    }
    // The handler may have ended the exchange (its client went away); else the read deadline starts again.
    if (this.ended) return;
    this.connection.watchBody(this.readTimeoutMs);
    if (!wantsMore) this.connection.pauseReading();
  }

  /** The upstream closed its side. */
  closed(): void {
    if (this.ended) return;
    if (this.head.framing === "close") this.complete(false);
    else this.abort(new Error("upstream closed the connection mid-response"));
  }

  abort(error: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.connection.finish(false);
    this.handler.end(error);
  }

  private complete(noLeftover: boolean): void {
    this.ended = true;
    this.connection.finish(this.head.reusable && noLeftover);
    this.handler.end(null);
  }
}
