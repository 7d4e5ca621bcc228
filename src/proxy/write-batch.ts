// Small socket writes are held until the event loop's turn ends, then go out together: the
// JavaScript of every request the turn serves runs back to back, then every system call, so
// neither the kernel's loopback work nor the other side's code cools the caches between two
// requests (bench/RESULTS.md, "write batching"). A turn's held bytes sit in one arena for all
// sockets, each socket holding one run of it, so a connection holds no buffer of its own.
import { writeLatin1 } from "./latin1.ts";

/** What a socket's held bytes are written to: the socket itself, which queues what it does not take. */
export interface WriteSink {
  writeOut(bytes: Uint8Array, start: number, end: number): void;
}

/** A write larger than this goes out at once, after what its socket holds: copying it would cost more than batching saves. */
export const MAX_HELD_WRITE = 16 * 1024;
const ARENA_BYTES = 256 * 1024;
const arena = Buffer.allocUnsafe(ARENA_BYTES);
let used = 0;
const holding: WriteBatch[] = [];
let scheduled = false;
/** Set while the held bytes go out: a write a socket's callback makes meanwhile goes out at once. */
let releasing = false;

/** Writes every socket's held bytes, in the order the sockets first held them this turn. */
function releaseAll(): void {
  scheduled = false;
  releasing = true;
  try {
    for (let i = 0; i < holding.length; i++) holding[i]!.release();
  } finally {
    releasing = false;
    holding.length = 0;
    used = 0;
  }
}

/** One socket's held bytes: `arena[start, end)`. */
export class WriteBatch {
  private start = 0;
  private end = 0;

  constructor(private readonly sink: WriteSink) {}

  /** Holds `bytes[from, to)` (copied) for the turn's end; false, after writing what was held, when it is too large to hold. */
  hold(bytes: Uint8Array, from: number, to: number): boolean {
    const length = to - from;
    if (length > MAX_HELD_WRITE || releasing) {
      this.release();
      return false;
    }
    this.room(length);
    arena.set(bytes.subarray(from, to), used);
    this.grow(length);
    return true;
  }

  /** As `hold`, of text written as latin1 (what the engines put on the wire for a string). */
  holdText(text: string): boolean {
    if (text.length > MAX_HELD_WRITE || releasing) {
      this.release();
      return false;
    }
    this.room(text.length);
    this.grow(writeLatin1(arena, text, used));
    return true;
  }

  /** Writes what is held now (the socket is ending, or a large write follows). */
  release(): void {
    const { start, end } = this;
    if (start === end) return;
    this.start = this.end = 0;
    this.sink.writeOut(arena, start, end);
  }

  /** Forgets what is held (the socket is destroyed). */
  drop(): void {
    this.start = this.end = 0;
  }

  /** Makes room for `length` more bytes right after this socket's run: writes its run out if another's follows it. */
  private room(length: number): void {
    if (used + length > ARENA_BYTES) releaseAll();
    if (this.start !== this.end && this.end !== used) this.release();
    if (this.start === this.end) {
      this.start = this.end = used;
      holding.push(this);
      if (!scheduled) {
        scheduled = true;
        setImmediate(releaseAll);
      }
    }
  }

  private grow(length: number): void {
    used += length;
    this.end = used;
  }
}
