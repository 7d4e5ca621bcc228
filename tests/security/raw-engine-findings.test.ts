// The raw engine's red-team findings (tests/security/raw-engine-findings.md), each as the
// defence its fix gives; every test failed before the fix (the repro the red team left).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createConnection } from "node:net";
import { join } from "node:path";
import { type TestGateway, startTestGateway } from "../support/gateway.ts";
import { startByteRecorder, talk } from "../support/raw-socket.ts";
import { rssBytes } from "../support/rss.ts";

const statuses = (raw: string) => [...raw.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
const bodyOf = (raw: string) => raw.slice(raw.indexOf("\r\n\r\n") + 4);

let upstream: ReturnType<typeof startByteRecorder>;
let gateway: TestGateway;
let port: number;

beforeAll(() => {
  upstream = startByteRecorder((_method, path) =>
    path === "/open/listed-length" ? "HTTP/1.1 200 OK\r\nConnection: content-length\r\nContent-Length: 2\r\n\r\nok" : "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nnormal",
  );
  gateway = startTestGateway({ proxyEngine: "raw" });
  gateway.store.create("services", { name: "up", url: upstream.url });
  gateway.store.create("routes", { name: "open", service: { name: "up" }, paths: ["/open"], strip_path: false });
  port = gateway.proxy.port;
});

afterAll(async () => {
  await gateway.close();
  upstream.stop();
});

/** Runs `steps`; returns the answer and what reached the upstream meanwhile. */
async function attempt(steps: (string | number)[]): Promise<{ raw: string; closed: boolean; upstream: string }> {
  const before = upstream.received.length;
  const answer = await talk(port, steps);
  await Bun.sleep(50);
  return { ...answer, upstream: upstream.received.slice(before) };
}

/** 400 with a JSON message matching `message`, the connection closed, nothing upstream. */
function expectRefused(result: { raw: string; closed: boolean; upstream: string }, status: number, message: RegExp): void {
  expect(statuses(result.raw)).toEqual([status]);
  expect(JSON.parse(bodyOf(result.raw)).message).toMatch(message);
  expect(result.closed).toBe(true);
  expect(result.upstream).toBe("");
}

describe("F1 (high): a client that never reads gets no more answers queued than the socket holds", () => {
  // Before the fix the connection read the next request as soon as an answer was queued, and
  // the queue grew with the client's sending rate. The serve engine closes at +2-24 MB.
  test.each([
    ["requests the gateway refuses itself (400 invalid Host)", "GET /a HTTP/1.1\r\nHost: a@b\r\n\r\n"],
    ["requests forwarded on the direct path", "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"],
  ])("%s, pipelined for 4 s: RSS grows < 64 MB or the connection is closed", async (_name, request) => {
    const echo = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("x".repeat(100)) });
    const child = Bun.spawn(["bun", join(import.meta.dir, "../support/proxy-process.ts"), `http://127.0.0.1:${echo.port}`], { env: { ...process.env, GATEWAY_PROXY_ENGINE: "raw" }, stdout: "pipe", stderr: "inherit" });
    try {
      const reader = (child.stdout as ReadableStream<Uint8Array>).getReader();
      let text = "";
      while (!/PORT \d+\n/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
      const gatewayPort = Number(/PORT (\d+)/.exec(text)![1]);
      await Bun.sleep(300);
      const base = rssBytes(child.pid);
      const socket = createConnection({ host: "127.0.0.1", port: gatewayPort });
      socket.on("error", () => {});
      let closed = false;
      socket.on("close", () => (closed = true));
      await new Promise((resolve) => socket.once("connect", resolve));
      socket.pause();
      const batch = Buffer.from(request.repeat(2000));
      const until = Date.now() + 4000;
      while (Date.now() < until && !closed) {
        if (!socket.write(batch)) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const growth = rssBytes(child.pid) - base;
      socket.destroy();
      // Before the fix, at 8 s: +594 MB (refused) and +282 MB (forwarded), the connection still open.
      expect(closed || growth < 64 * 1024 * 1024).toBe(true);
    } finally {
      child.kill("SIGTERM");
      await child.exited;
      echo.stop(true);
    }
  }, 30_000);
});

test("F2 (medium): an upstream's `Connection: content-length` does not take the framing off the relayed answer", async () => {
  const result = await attempt(["GET /open/listed-length HTTP/1.1\r\nHost: gw.test\r\n\r\n", 200, "GET /open/next HTTP/1.1\r\nHost: gw.test\r\n\r\n"]);
  // Before the fix: neither Content-Length nor Transfer-Encoding, and the next answer on the
  // connection read as the first one's body (response queue poisoning behind a front proxy).
  expect(result.raw).toMatch(/^HTTP\/1\.1 200 OK\r\n(?:[^\r\n]+\r\n)*content-length: 2\r\n/i);
});

test("F3 (medium): CONNECT with an absolute-form target is refused, its Content-Length body never read as a request", async () => {
  const hidden = "GET /open/FROM-CONNECT-BODY HTTP/1.1\r\nHost: gw.test\r\n\r\n";
  const result = await attempt([`CONNECT http://gw.test/open HTTP/1.1\r\nHost: gw.test\r\nContent-Length: ${hidden.length}\r\n\r\n${hidden}`]);
  // Before the fix: 200 twice; the upstream got `CONNECT /open`, then /open/FROM-CONNECT-BODY.
  expectRefused(result, 400, /CONNECT/);
});

test("F4 (low): an HTTP/1.1 request without Host is a 400 (RFC 9112 §3.2), as on the serve engine", async () => {
  expectRefused(await attempt(["GET /open HTTP/1.1\r\n\r\n"]), 400, /Host/);
});

test("F5 (low): several spaces between the parts of the request line are a 400, as on the serve engine", async () => {
  expectRefused(await attempt(["GET  /open  HTTP/1.1\r\nHost: gw.test\r\n\r\n"]), 400, /^invalid HTTP request: /);
});

test.each([
  ["a lone CR", "\r"],
  ["a lone LF", "\n"],
])("F6 (low): %s before the request line is a 400, as on the serve engine", async (_name, prefix) => {
  expectRefused(await attempt([`${prefix}GET /open HTTP/1.1\r\nHost: gw.test\r\n\r\n`]), 400, /^invalid HTTP request: /);
});

test("F7 (low): a WebSocket upgrade on HTTP/1.0 is a 400 and never reaches the upstream", async () => {
  const result = await attempt(["GET /open HTTP/1.0\r\nHost: gw.test\r\nConnection: upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"]);
  expectRefused(result, 400, /^invalid HTTP request: Upgrade in an HTTP\/1\.0 request$/);
});

test("F8 (low): HTTP/1.0 `Connection: close, keep-alive` closes after the answer (close wins, as on the serve engine)", async () => {
  const result = await attempt(["GET /open HTTP/1.0\r\nHost: gw.test\r\nConnection: close, keep-alive\r\n\r\nGET /open/AFTER-CLOSE HTTP/1.1\r\nHost: gw.test\r\n\r\n"]);
  expect(statuses(result.raw)).toEqual([200]);
  expect(result.upstream).not.toContain("AFTER-CLOSE");
});

test("F9 (low): a Content-Length above 2^53 - 1 is a 413, as on the serve engine", async () => {
  const result = await attempt(["POST /open HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 9007199254740993\r\n\r\nx"]);
  expectRefused(result, 413, /^request body is larger than 9007199254740991 bytes$/);
});

test("F10 (low): `Content_Length`, which CGI-style readers fold into Content-Length, never reaches the upstream", async () => {
  const result = await attempt(["POST /open HTTP/1.1\r\nHost: gw.test\r\nContent_Length: 40\r\nContent-Length: 0\r\n\r\n"]);
  expect(statuses(result.raw)).toEqual([200]);
  expect(result.upstream).not.toMatch(/content_length/i);
});

test('F11 (info): a query\'s " < > reach the upstream as %22 %3C %3E, as on the serve engine', async () => {
  const result = await attempt(['GET /open?a="<> HTTP/1.1\r\nHost: gw.test\r\n\r\n']);
  expect(result.upstream).toStartWith("GET /open?a=%22%3C%3E HTTP/1.1\r\n");
});
