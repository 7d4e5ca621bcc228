// Answers after which the gateway must not read another request on the connection, on either
// engine: CONNECT (the gateway is no forward proxy, and a front proxy and the gateway could
// disagree on where a CONNECT ends), a refused body framing, and a WebSocket upgrade that was
// not granted (the client may already be sending frames). Each is answered with
// `Connection: close` and the connection closes; bytes sent after it never reach the upstream.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sign, signingKey, type SigningKey } from "../support/auth.ts";
import { type TestGateway, startTestGateway } from "../support/gateway.ts";
import { startByteRecorder, talk } from "../support/raw-socket.ts";
import { chosenProxyEngine } from "../../src/proxy/engine.ts";

const RAW_ENGINE = chosenProxyEngine() === "raw";
const UPGRADE = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
/** A pipelined request that must never reach the upstream. */
const SMUGGLED = "GET /open/SMUGGLED HTTP/1.1\r\nHost: gw.test\r\n\r\n";

let gateway: TestGateway;
let upstream: ReturnType<typeof startByteRecorder>;
let hs: SigningKey;

beforeAll(async () => {
  upstream = startByteRecorder((_method, path) => {
    const body = path.startsWith("/refuse") ? "no upgrade here" : `seen ${path}`;
    const status = path.startsWith("/refuse") ? "403 Forbidden" : "200 OK";
    return `HTTP/1.1 ${status}\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
  });
  hs = await signingKey("HS256");
  gateway = startTestGateway();
  gateway.store.create("services", { name: "up", url: upstream.url });
  gateway.store.create("routes", { name: "open", service: { name: "up" }, paths: ["/open"] });
  gateway.store.create("routes", { name: "refuse", service: { name: "up" }, paths: ["/refuse"], strip_path: false });
  const secured = gateway.store.create("routes", { name: "secured", service: { name: "up" }, paths: ["/secured"] }) as { id: string };
  gateway.store.create("plugins", { name: "jwt", route: { id: secured.id } });
  const alice = gateway.store.create("consumers", { username: "alice" }) as { id: string };
  gateway.store.create("jwt_secrets", { key: "alice-key", ...hs.credential }, { kind: "consumers", id: alice.id });
});

afterAll(async () => {
  await gateway?.close();
  upstream?.stop();
});

/** The status line, the head's lines and the body of the first answer in `raw`. */
function firstAnswer(raw: string): { status: string; head: string[]; body: string } {
  const end = raw.indexOf("\r\n\r\n");
  const [status, ...head] = raw.slice(0, end).split("\r\n");
  const length = /\r\ncontent-length: *(\d+)/i.exec(raw.slice(0, end + 2));
  return { status: status!, head: head.map((line) => line.toLowerCase()), body: raw.slice(end + 4, end + 4 + (length ? Number(length[1]) : 0)) };
}

describe("CONNECT is refused with 400 and the connection closed", () => {
  for (const [name, request, message] of [
    ["authority-form", "CONNECT gw.test:443 HTTP/1.1\r\nHost: gw.test:443\r\n\r\n", "CONNECT is not served: the gateway is not a forward proxy"],
    ["origin-form with a body that is a request", `CONNECT /open HTTP/1.1\r\nHost: gw.test\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`, "CONNECT is not served: the gateway is not a forward proxy"],
  ] as const) {
    test(name, async () => {
      const before = upstream.received.length;
      const result = await talk(gateway.proxy.port, [request, SMUGGLED], 1500);
      const answer = firstAnswer(result.raw);
      expect(answer.status).toBe("HTTP/1.1 400 Bad Request");
      expect(JSON.parse(answer.body)).toEqual({ message: RAW_ENGINE ? `invalid HTTP request: ${message}` : message });
      expect(answer.head).toContain("connection: close");
      expect(result.closed).toBe(true);
      expect(result.raw.match(/HTTP\/1\.1 /g)).toHaveLength(1);
      expect(upstream.received.slice(before)).toBe("");
    });
  }
});

test("a GET with a body is refused with 400 and the connection closed; the body is never read as a request", async () => {
  const before = upstream.received.length;
  const result = await talk(gateway.proxy.port, [`GET /open/x HTTP/1.1\r\nHost: gw.test\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`], 1500);
  const answer = firstAnswer(result.raw);
  expect(answer.status).toBe("HTTP/1.1 400 Bad Request");
  expect(JSON.parse(answer.body)).toEqual({ message: "a GET or HEAD request must not carry a body (Content-Length or Transfer-Encoding)" });
  expect(answer.head).toContain("connection: close");
  expect(result.closed).toBe(true);
  expect(upstream.received.slice(before)).toBe("");
});

describe("a WebSocket upgrade that is not granted closes the connection", () => {
  test("refused by jwt (401): nothing the client sends after it reaches the upstream", async () => {
    const before = upstream.received.length;
    const result = await talk(gateway.proxy.port, [`GET /secured HTTP/1.1\r\nHost: gw.test\r\n${UPGRADE}\r\n`, 100, SMUGGLED], 1500);
    const answer = firstAnswer(result.raw);
    expect([answer.status, answer.body]).toEqual(["HTTP/1.1 401 Unauthorized", '{"message":"Unauthorized"}']);
    expect(answer.head).toContain("connection: close");
    expect(result.closed).toBe(true);
    expect(upstream.received.slice(before)).toBe("");
  });

  test("refused by the upstream (403): its answer is relayed, then the connection closes", async () => {
    const before = upstream.received.length;
    const result = await talk(gateway.proxy.port, [`GET /refuse HTTP/1.1\r\nHost: gw.test\r\n${UPGRADE}\r\n`, 300, SMUGGLED], 1500);
    const answer = firstAnswer(result.raw);
    expect([answer.status, answer.body]).toEqual(["HTTP/1.1 403 Forbidden", "no upgrade here"]);
    expect(answer.head).toContain("connection: close");
    expect(result.closed).toBe(true);
    const seen = upstream.received.slice(before);
    expect(seen.startsWith("GET /refuse HTTP/1.1\r\n")).toBe(true);
    expect(seen).not.toContain("SMUGGLED");
  });

  test("a plain request on the same route keeps its connection for the next one", async () => {
    const token = await sign(hs, { iss: "alice-key" });
    const request = `GET /secured HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer ${token}\r\n\r\n`;
    const result = await talk(gateway.proxy.port, [request, 200, request], 600);
    expect(result.raw.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(2);
    expect(result.closed).toBe(false);
  });
});
