// The upstream request head written into the connection's buffer (RequestHead): it never writes
// past the bound it gives (a bound too small would cut the head short, and a truncated head is a
// different request), and a head larger than the connection's scratch buffer reaches the
// upstream whole.
import { afterAll, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { builtinPlugins } from "../../plugins/index.ts";
import { seededRandom } from "../../plugins/jwt/fuzz-corpus.ts";
import { parseDeclarative } from "../config/declarative.ts";
import { buildSnapshot } from "../state/snapshot.ts";
import { canonicalHost } from "./canonical-host.ts";
import { type ForwardInfo, RequestHead } from "./forward.ts";
import { RawHeaders } from "./raw/incoming.ts";
import { sendBodiless } from "./upstream/client.ts";
import { ConnectionPool } from "./upstream/pool.ts";

const snapshot = buildSnapshot(
  parseDeclarative(
    `_format_version: "3.0"
services:
  - name: a
    url: http://127.0.0.1:9/base
    routes:
      - { name: stripped, paths: [/p], strip_path: true }
      - { name: kept, paths: [/q], strip_path: false, preserve_host: true }
`,
    builtinPlugins,
  ),
  builtinPlugins,
  1,
);
const info = (clientHeadersRemoved: boolean, clientIp: string) =>
  ({ pool: null, clientIp, peerIp: "127.0.0.1", requestId: "0f0e0d0c-0b0a-4909-8807-060504030201", listenerPort: 9601, scheme: "http", query: null, method: "GET", body: null, consumerId: null, path: "/", clientHeadersRemoved }) as unknown as ForwardInfo;
const matchFor = (path: string, headers: RawHeaders) => snapshot.router.match("GET", canonicalHost("example.test")!, path, headers)!;

describe("RequestHead", () => {
  test("stays within maxBytes on 20,000 generated requests, ending in one empty line", () => {
    const random = seededRandom(20261203);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const names = ["host", "user-agent", "x-forwarded-for", "x-request-id", "connection", "te", "x-consumer-id", "content-length", "x-custom", "cookie"];
    const values = ["", "a", "close, x-custom", "1.2.3.4", "v\u00e9", "x".repeat(300)];
    const large = Buffer.alloc(1 << 20);
    for (let i = 0; i < 20_000; i++) {
      const pairs: string[] = [];
      for (let j = Math.floor(random() * 10); j > 0; j--) pairs.push(pick(names), pick(values));
      const path = pick(["/p", "/p/x", "/q/y"]);
      const headers = new RawHeaders(pairs);
      const head = new RequestHead(pick(["GET", "POST", "OPTIONS"]), pairs, headers, matchFor(path, headers), `${path}${pick(["", "?a=1"])}`, info(random() < 0.5, pick(["127.0.0.1", "203.0.113.77"])), pick(["127.0.0.1:9", "upstream.internal"]));
      const exact = Buffer.alloc(head.maxBytes);
      const length = head.writeHead(exact);
      const whole = head.writeHead(large);
      expect(length).toBe(whole);
      expect(exact.subarray(0, length).equals(large.subarray(0, whole))).toBe(true);
      expect(exact.toString("latin1", length - 4, length)).toBe("\r\n\r\n");
    }
  });

  const upstream = Bun.listen<{ received: Buffer[] }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        socket.data = { received: [] };
      },
      data(socket: Socket<{ received: Buffer[] }>, bytes) {
        socket.data.received.push(Buffer.from(bytes));
        const all = Buffer.concat(socket.data.received);
        if (all.indexOf("\r\n\r\n") < 0) return;
        heads.push(all.toString("latin1", 0, all.indexOf("\r\n\r\n") + 4));
        socket.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
      },
    },
  });
  const heads: string[] = [];
  afterAll(() => upstream.stop(true));

  test("a head larger than the connection's 64 KB buffer reaches the upstream whole", async () => {
    // A client's head is at most 32 KB; a plugin (request-transformer) can add more.
    const pairs = ["host", "example.test", "x-big-1", "a".repeat(40_000), "x-big-2", "b".repeat(40_000)];
    const headers = new RawHeaders(pairs);
    const head = new RequestHead("GET", pairs, headers, matchFor("/q/y", headers), "/q/y", info(true, "127.0.0.1"), `127.0.0.1:${upstream.port}`);
    expect(head.maxBytes).toBeGreaterThan(64 * 1024);
    const pool = new ConnectionPool();
    const response = await sendBodiless(pool, { key: `127.0.0.1:${upstream.port}`, hostname: "127.0.0.1", port: upstream.port }, new Request("http://example.test/q/y"), "GET", head, { connectTimeoutMs: 1000, readTimeoutMs: 1000, retries: 0 });
    expect(await response.text()).toBe("ok");
    pool.closeAll();
    const sent = heads.at(-1)!;
    expect(sent.startsWith("GET /q/y HTTP/1.1\r\nhost: example.test\r\n")).toBe(true);
    expect(sent).toContain(`\r\nx-big-1: ${"a".repeat(40_000)}\r\nx-big-2: ${"b".repeat(40_000)}\r\nx-forwarded-for: 127.0.0.1\r\n`);
    expect(sent.endsWith("x-request-id: 0f0e0d0c-0b0a-4909-8807-060504030201\r\n\r\n")).toBe(true);
    expect(sent.length).toBeLessThanOrEqual(head.maxBytes);
  });
});
