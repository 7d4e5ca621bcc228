// The client side of a raw-engine connection as the connection object uses it, over either
// socket the listener can have: Bun.listen's (plain HTTP) or node:tls's (the TLS listener, whose
// SNICallback chooses a certificate per handshake, which Bun.listen cannot). Writes always take
// every byte: what the kernel did not take is queued, and the caller waits for `drained`.
import type { Socket } from "bun";
import type { TLSSocket } from "node:tls";
import { receiveAsEvent } from "../event-clock.ts";
import { WriteBatch, type WriteSink } from "../write-batch.ts";

export interface ClientEvents {
  received(bytes: Uint8Array): void;
  /** Everything queued has been written. */
  drained(): void;
  /** The connection is gone (closed by either side, or broken). */
  closed(): void;
}

export interface ClientTransport {
  readonly remoteAddress: string;
  /** False when part of `bytes` waits in the queue: write no more until `drained`. */
  write(bytes: Uint8Array | string): boolean;
  /** As `write`, of `bytes[0, length)` of a buffer the caller reuses once this returns: what does not go out now is copied to wait. */
  writeTransient(bytes: Uint8Array, length: number): boolean;
  /** Bytes wait for the client to read them (a write returned false and `drained` has not come). */
  readonly queued: boolean;
  /** Closes once the queue is written. */
  end(): void;
  /** Closes at once, dropping the queue. */
  destroy(): void;
  pause(): void;
  resume(): void;
}

/** A string head as bytes on the wire: latin1, which UTF-8 equals only while every character is ASCII. */
function asBytes(text: string): Uint8Array {
  return Buffer.from(text, "latin1");
}

/** `bytes[start, end)` in memory of its own (a Buffer's slice would share the scratch's). */
const copyOf = (bytes: Uint8Array, start: number, end: number): Uint8Array => new Uint8Array(bytes.subarray(start, end));

/** Bun.listen's socket: `write` may take less than it is given; small writes wait for the turn's end (WriteBatch). */
export class BunTransport implements ClientTransport, WriteSink {
  private queue: Uint8Array[] = [];
  private ending = false;
  private paused = false;
  private readonly batch = new WriteBatch(this);

  constructor(private readonly socket: Socket<unknown>) {}

  /** Empty when the client reset the connection before it was accepted: Bun then gives undefined, whatever its types say. */
  get remoteAddress(): string {
    return this.socket.remoteAddress ?? "";
  }

  get queued(): boolean {
    return this.queue.length > 0;
  }

  write(bytes: Uint8Array | string): boolean {
    if (this.queue.length === 0 && (typeof bytes === "string" ? this.batch.holdText(bytes) : this.batch.hold(bytes, 0, bytes.byteLength))) return true;
    if (typeof bytes === "string") bytes = asBytes(bytes);
    // Behind bytes already waiting (a batch that could not hold this one has written what it held first).
    if (this.queue.length > 0) {
      this.queue.push(bytes);
      return false;
    }
    const written = this.socket.write(bytes);
    if (written >= bytes.byteLength) return true;
    this.queue.push(bytes.subarray(Math.max(written, 0)));
    return false;
  }

  writeTransient(bytes: Uint8Array, length: number): boolean {
    if (this.queue.length === 0 && this.batch.hold(bytes, 0, length)) return true;
    if (this.queue.length > 0) {
      this.queue.push(copyOf(bytes, 0, length));
      return false;
    }
    // Bun's socket copies what it takes (into the kernel or its cork buffer) before returning.
    const written = this.socket.write(bytes, 0, length);
    if (written >= length) return true;
    this.queue.push(copyOf(bytes, Math.max(written, 0), length));
    return false;
  }

  /** The batch's held bytes, at the turn's end: what the kernel does not take waits in the queue. */
  writeOut(bytes: Uint8Array, start: number, end: number): void {
    if (this.queue.length > 0) {
      this.queue.push(copyOf(bytes, start, end));
      return;
    }
    const written = this.socket.write(bytes, start, end - start);
    if (written < end - start) this.queue.push(copyOf(bytes, start + Math.max(written, 0), end));
  }

  /** The socket's drain event: writes what waits; true once nothing does. */
  flush(): boolean {
    while (this.queue.length > 0) {
      const first = this.queue[0]!;
      const written = this.socket.write(first);
      if (written < first.byteLength) {
        this.queue[0] = first.subarray(Math.max(written, 0));
        return false;
      }
      this.queue.shift();
    }
    if (this.ending) this.socket.end();
    return true;
  }

  end(): void {
    this.ending = true;
    this.batch.release();
    if (this.queue.length === 0) this.socket.end();
  }

  destroy(): void {
    this.batch.drop();
    this.queue = [];
    this.socket.terminate();
  }

  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.socket.resume();
  }
}

/** node:tls's socket: it queues itself and says when to wait. */
export class TlsTransport implements ClientTransport {
  readonly remoteAddress: string;

  constructor(
    private readonly socket: TLSSocket,
    events: ClientEvents,
  ) {
    this.remoteAddress = socket.remoteAddress ?? "";
    socket.on("data", (bytes: Buffer) => receiveAsEvent(events, bytes));
    socket.on("drain", () => events.drained());
    socket.on("close", () => events.closed());
    // A reset or a failed write ends in "close"; without a listener "error" would throw.
    socket.on("error", () => {});
  }

  get queued(): boolean {
    return this.socket.writableNeedDrain;
  }

  write(bytes: Uint8Array | string): boolean {
    return this.socket.write(typeof bytes === "string" ? asBytes(bytes) : bytes);
  }

  writeTransient(bytes: Uint8Array, length: number): boolean {
    // node:tls holds on to what it is given until it is written: a copy of its own.
    return this.socket.write(copyOf(bytes, 0, length));
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }
}
