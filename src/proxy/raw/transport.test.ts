// BunTransport.writeTransient: the caller reuses its buffer as soon as the call returns, so
// whatever the socket did not take must wait as a copy, and go out as it was.
import { describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { BunTransport } from "./transport.ts";

/** A socket that takes at most `take` bytes a write (0: none), recording what it took. */
function socketTaking(take: number): { socket: Socket<unknown>; sent: number[]; setTake(n: number): void } {
  const sent: number[] = [];
  let limit = take;
  const socket = {
    write(data: Uint8Array, offset = 0, length = data.byteLength - offset) {
      const n = Math.min(limit, length);
      for (let i = 0; i < n; i++) sent.push(data[offset + i]!);
      return n;
    },
  } as unknown as Socket<unknown>;
  return { socket, sent, setTake: (n) => (limit = n) };
}

describe("BunTransport.writeTransient", () => {
  test("all taken: true, and only bytes[0, length) went out", () => {
    const { socket, sent } = socketTaking(100);
    const transport = new BunTransport(socket);
    expect(transport.writeTransient(Buffer.from("hello, world"), 5)).toBe(true);
    expect(Buffer.from(sent).toString()).toBe("hello");
    expect(transport.queued).toBe(false);
  });

  test("a partial write queues a copy: the reused buffer does not change what goes out", () => {
    const { socket, sent, setTake } = socketTaking(3);
    const transport = new BunTransport(socket);
    const scratch = Buffer.from("abcdefgh");
    expect(transport.writeTransient(scratch, 6)).toBe(false);
    expect(transport.queued).toBe(true);
    scratch.fill("z");
    // Queued behind the first: copied too.
    expect(transport.writeTransient(Buffer.from("XY"), 2)).toBe(false);
    setTake(100);
    expect(transport.flush()).toBe(true);
    expect(Buffer.from(sent).toString()).toBe("abcdefXY");
  });

  test("a write the socket refuses whole (closed: -1) queues all of it", () => {
    const { socket, sent, setTake } = socketTaking(0);
    const transport = new BunTransport(socket);
    (socket as unknown as { write: () => number }).write = () => -1;
    const scratch = Buffer.from("abc");
    expect(transport.writeTransient(scratch, 3)).toBe(false);
    scratch.fill("z");
    (socket as unknown as { write: (d: Uint8Array) => number }).write = (data) => {
      sent.push(...data);
      return data.byteLength;
    };
    setTake(100);
    expect(transport.flush()).toBe(true);
    expect(Buffer.from(sent).toString()).toBe("abc");
  });
});
