// BunTransport's writes: small ones wait for the event loop's turn to end (WriteBatch), and the
// caller reuses its buffer as soon as the call returns, so whatever waits, in the batch or
// because the socket did not take it, waits as a copy and goes out as it was, in order.
import { describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { BunTransport } from "./transport.ts";
import { MAX_HELD_WRITE } from "../write-batch.ts";

/** A socket that takes at most `take` bytes a write (0: none, -1: refuses as a closed one does), recording what it took. */
function socketTaking(take: number): { socket: Socket<unknown>; sent: number[]; ended: () => boolean; setTake(n: number): void } {
  const sent: number[] = [];
  let limit = take;
  let ended = false;
  const socket = {
    write(data: Uint8Array | string, offset = 0, length?: number) {
      const bytes = typeof data === "string" ? Buffer.from(data, "latin1") : data;
      const n = limit < 0 ? -1 : Math.min(limit, length ?? bytes.byteLength - offset);
      for (let i = 0; i < n; i++) sent.push(bytes[offset + i]!);
      return n;
    },
    end() {
      ended = true;
    },
    terminate() {},
  } as unknown as Socket<unknown>;
  return { socket, sent, ended: () => ended, setTake: (n) => (limit = n) };
}

const turnEnds = () => new Promise<void>((resolve) => setImmediate(resolve));
const text = (bytes: number[]) => Buffer.from(bytes).toString("latin1");

describe("BunTransport", () => {
  test("a small write waits for the turn's end; the reused buffer does not change what goes out", async () => {
    const { socket, sent } = socketTaking(100);
    const transport = new BunTransport(socket);
    const scratch = Buffer.from("hello, world");
    expect(transport.writeTransient(scratch, 5)).toBe(true);
    scratch.fill("z");
    expect(transport.write(" there")).toBe(true);
    expect(sent).toEqual([]);
    expect(transport.queued).toBe(false);
    await turnEnds();
    expect(text(sent)).toBe("hello there");
  });

  test("a partial write at the turn's end queues a copy; the next write waits behind it; flush sends it all in order", async () => {
    const { socket, sent, setTake } = socketTaking(3);
    const transport = new BunTransport(socket);
    const scratch = Buffer.from("abcdefgh");
    expect(transport.writeTransient(scratch, 6)).toBe(true);
    await turnEnds();
    scratch.fill("z");
    expect(transport.queued).toBe(true);
    expect(transport.writeTransient(Buffer.from("XY"), 2)).toBe(false);
    expect(transport.write("!")).toBe(false);
    setTake(100);
    expect(transport.flush()).toBe(true);
    expect(text(sent)).toBe("abcdefXY!");
  });

  test("a write the socket refuses whole (closed: -1) at the turn's end is queued whole", async () => {
    const { socket, sent, setTake } = socketTaking(-1);
    const transport = new BunTransport(socket);
    const scratch = Buffer.from("abc");
    expect(transport.writeTransient(scratch, 3)).toBe(true);
    await turnEnds();
    scratch.fill("z");
    expect(transport.queued).toBe(true);
    setTake(100);
    expect(transport.flush()).toBe(true);
    expect(text(sent)).toBe("abc");
  });

  test("a write too large to hold goes out at once, after what was held", () => {
    const { socket, sent } = socketTaking(1 << 20);
    const transport = new BunTransport(socket);
    expect(transport.write("head")).toBe(true);
    const large = Buffer.alloc(MAX_HELD_WRITE + 1, "b");
    expect(transport.write(large)).toBe(true);
    expect(sent.length).toBe(4 + large.length);
    expect(text(sent.slice(0, 5))).toBe("headb");
  });

  test("a large write behind held bytes the socket only partly takes is queued behind them", () => {
    const { socket, sent, setTake } = socketTaking(2);
    const transport = new BunTransport(socket);
    expect(transport.write("head")).toBe(true);
    expect(transport.write(Buffer.alloc(MAX_HELD_WRITE + 1, "b"))).toBe(false);
    setTake(1 << 20);
    expect(transport.flush()).toBe(true);
    expect(text(sent.slice(0, 5))).toBe("headb");
    expect(sent.length).toBe(4 + MAX_HELD_WRITE + 1);
  });

  test("end writes what is held before it ends the socket; destroy drops it", async () => {
    const first = socketTaking(100);
    const ending = new BunTransport(first.socket);
    ending.write("bye");
    ending.end();
    expect(text(first.sent)).toBe("bye");
    expect(first.ended()).toBe(true);
    const second = socketTaking(100);
    const destroyed = new BunTransport(second.socket);
    destroyed.write("lost");
    destroyed.destroy();
    await turnEnds();
    expect(second.sent).toEqual([]);
  });
});
