// The connection pool on its own, with a clock the test moves: the per-upstream cap and its
// queue, idle expiry, connect deadlines, and waiters whose client left. Real loopback sockets.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { TCPSocketListener } from "bun";
import type { Exchange, UpstreamConnection } from "./connection.ts";
import { ClientGone } from "./errors.ts";
import { ConnectTimedOut, ConnectionPool } from "./pool.ts";

let listener: TCPSocketListener<undefined>;
let open = 0;
let key: string;
const SWEEP_WAIT_MS = 40;

beforeAll(() => {
  listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open: () => void open++, close: () => void open--, data() {} } });
  key = `127.0.0.1:${listener.port}`;
});
afterAll(() => listener.stop(true));

/** A pool whose clock only moves when the test says so. */
function pool(max: number): { pool: ConnectionPool; advance(ms: number): void } {
  let now = 1_000_000;
  return { pool: new ConnectionPool(max, () => now), advance: (ms) => void (now += ms) };
}

/** An exchange that is never written; `gone` says whether its client left. */
function exchange(gone = false): Exchange {
  return { method: "GET", head: { maxBytes: 0, writeHead: () => 0 }, readTimeoutMs: 60_000, handler: null, resolve() {}, failed() {}, abandoned: () => gone };
}

const connect = (p: ConnectionPool, ex = exchange()) => p.connect(key, "127.0.0.1", listener.port, 5_000, ex);

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await Bun.sleep(5);
  expect(condition()).toBe(true);
}

describe("cap per upstream", () => {
  test("a request beyond the cap waits, and takes the connection the next release hands back", async () => {
    const { pool: p } = pool(1);
    const first = await connect(p);
    let second: UpstreamConnection | null = null;
    void connect(p).then((c) => (second = c));
    await Bun.sleep(SWEEP_WAIT_MS);
    expect(second).toBeNull();
    expect(p.openCount(key)).toBe(1);
    p.release(first);
    await until(() => second !== null);
    expect(second!).toBe(first);
    expect(p.openCount(key)).toBe(1);
    second!.destroy();
    expect(p.openCount(key)).toBe(0);
  });

  test("a waiter whose client left is answered ClientGone and never gets a connection", async () => {
    const { pool: p } = pool(1);
    const first = await connect(p);
    const left = connect(p, exchange(true)).then(
      () => "connected",
      (error) => (error instanceof ClientGone ? "gone" : String(error)),
    );
    await Bun.sleep(SWEEP_WAIT_MS);
    expect(await left).toBe("gone");
    first.destroy();
  });

  test("a queued waiter past its connect deadline is answered ConnectTimedOut", async () => {
    const { pool: p, advance } = pool(1);
    const first = await connect(p);
    const waiting = connect(p).then(
      () => "connected",
      (error) => (error instanceof ConnectTimedOut ? "timed out" : String(error)),
    );
    advance(5_001);
    expect(await waiting).toBe("timed out");
    first.destroy();
  });
});

describe("idle connections", () => {
  test("are reused, and closed once idle for 4 s by the pool's clock", async () => {
    const { pool: p, advance } = pool(4);
    const connection = await connect(p);
    await until(() => open === 1);
    p.release(connection);
    expect(p.take(key)).toBe(connection);
    p.release(connection);
    advance(3_999);
    await Bun.sleep(SWEEP_WAIT_MS);
    expect(open).toBe(1);
    advance(2);
    await until(() => open === 0);
    expect(p.take(key)).toBeNull();
    expect(p.openCount(key)).toBe(0);
  });

  test("closeAll closes idle ones and answers waiters", async () => {
    const { pool: p } = pool(1);
    const connection = await connect(p);
    const waiting = connect(p).then(
      () => "connected",
      (error) => (error instanceof ClientGone ? "cut" : String(error)),
    );
    p.release(connection);
    const reused = await waiting;
    expect(reused).toBe("connected");
    p.release(connection);
    p.closeAll();
    await until(() => open === 0);
    expect(p.openCount(key)).toBe(0);
  });
});
