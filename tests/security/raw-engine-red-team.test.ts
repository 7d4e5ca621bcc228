// Red-team pass over the raw proxy engine (issue 20, `--proxy-engine raw`): bytes written by
// hand to the gateway, a raw TCP upstream that records every byte it receives, and a scripted
// upstream that answers with malformed or hostile responses. Each test is a defence that holds:
// the attack is refused with the exact answer, and nothing of it reaches the upstream. The
// attacks that worked, and their fixes, are in raw-engine-findings.md and
// raw-engine-findings.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { join } from "node:path";
import { MEMORY } from "../../src/db/connection.ts";
import { openCore } from "../../src/gateway.ts";
import { startRawProxy } from "../../src/proxy/raw/listener.ts";
import { ConnectionPool } from "../../src/proxy/upstream/pool.ts";
import { sign, signingKey } from "../support/auth.ts";
import { type TestGateway, startTestGateway } from "../support/gateway.ts";
import { type ByteRecorder, type Talk, startByteRecorder, talk } from "../support/raw-socket.ts";
import { rssBytes } from "../support/rss.ts";

const UNAUTHORIZED = '{"message":"Unauthorized"}';
const BAD_GATEWAY = '{"message":"An invalid response was received from the upstream server"}';
const INVALID_HOST = '{"message":"invalid Host header: expected host[:port]"}';
const INVALID_PATH = JSON.stringify({
  message: "invalid request path: encoded '/' or '\\', control characters, malformed percent-encoding, '..' above the root and dot segments with ';' parameters are refused",
});
const SMUGGLED = "GET /open/SMUGGLED HTTP/1.1\r\nHost: gw.test\r\n\r\n";
/** A request hidden where none may be read, named by `marker` so a test finds its own. */
const hidden = (marker: string) => `GET /open/${marker} HTTP/1.1\r\nHost: gw.test\r\n\r\n`;

/** An upstream recording every byte it receives; answers each complete request `200 ok`. */
/** The recording upstream: every byte and each request head, each request answered 200 `ok`. */
const startRecorder = () => startByteRecorder(() => "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");

/** A hostile upstream: the answer to each request head is chosen by its path (after /evil). */
type EvilReply = string | ((socket: Socket<{ buffer: string }>) => void);
const EVIL: Record<string, EvilReply> = {
  "/dup-length": "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 30\r\n\r\nok",
  "/gzip-chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
  "/length-and-chunked": "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
  "/1xx-flood": `${"HTTP/1.1 100 Continue\r\n\r\n".repeat(20_000)}HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok`,
  "/101": "HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\nConnection: upgrade\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nPOISON!",
  "/folded": "HTTP/1.1 200 OK\r\nX-A: b\r\n c\r\nContent-Length: 2\r\n\r\nok",
  "/nul": "HTTP/1.1 200 OK\r\nX-A: b\u0000c\r\nContent-Length: 2\r\n\r\nok",
  "/space-colon": "HTTP/1.1 200 OK\r\nContent-Length : 30\r\nContent-Length: 2\r\n\r\nok",
  "/negative-length": "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok",
  "/bare-lf-chunk": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\nok\r\n0\r\n\r\n",
  "/bare-lf-head": "HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
  "/cr-in-reason": "HTTP/1.1 200 OK\rX-Injected: 1\r\nContent-Length: 2\r\n\r\nok",
  "/head-with-body": "HTTP/1.1 200 OK\r\nContent-Length: 45\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nPOISON!",
  "/204-with-body": "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nPOISON!",
  "/extra-after": "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nPOISON!",
  "/cut-length": (socket) => {
    socket.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort");
    setTimeout(() => socket.end(), 50);
  },
  "/cut-chunked": (socket) => {
    socket.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nshort\r\n");
    setTimeout(() => socket.write("3\r\nabc\r\n"), 30);
    setTimeout(() => socket.end(), 80);
  },
};

function startEvil(): { url: string; stop(): void } {
  const listener = Bun.listen<{ buffer: string }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        socket.data = { buffer: "" };
      },
      data(socket, bytes) {
        socket.data.buffer += Buffer.from(bytes).toString("latin1");
        let end: number;
        while ((end = socket.data.buffer.indexOf("\r\n\r\n")) >= 0) {
          const head = socket.data.buffer.slice(0, end);
          socket.data.buffer = socket.data.buffer.slice(end + 4);
          const path = head.split(" ")[1]!.slice("/evil".length);
          const reply = EVIL[path] ?? "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nnormal";
          if (typeof reply === "string") socket.write(reply);
          else reply(socket);
        }
      },
    },
  });
  return { url: `http://127.0.0.1:${listener.port}`, stop: () => listener.stop(true) };
}

/** Status lines of every response in `raw`, in order. */
const statuses = (raw: string) => [...raw.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));

/** The raw engine's answer to bytes it refuses to read as a request: 400 with a JSON message, then the connection closes. */
function expectMalformed(answer: Talk, reason: string): void {
  expect(answer.raw).toMatch(/^HTTP\/1\.1 400 Bad Request\r\ncontent-type: application\/json; charset=utf-8\r\nDate: [^\r]+\r\nConnection: close\r\nContent-Length: \d+\r\n\r\n/);
  expect(answer.raw.slice(answer.raw.indexOf("\r\n\r\n") + 4)).toBe(JSON.stringify({ message: `invalid HTTP request: ${reason}` }));
  expect(answer.closed).toBe(true);
}

let recorder: ByteRecorder;
let evil: { url: string; stop(): void };
let gateway: TestGateway;
let port: number;
let token: string;
let aliceId: string;

beforeAll(async () => {
  recorder = startRecorder();
  evil = startEvil();
  gateway = startTestGateway({ proxyEngine: "raw" });
  const store = gateway.store;
  store.create("services", { name: "recorder", url: recorder.url });
  store.create("services", { name: "evil", url: evil.url, read_timeout: 1000 });
  store.create("routes", { name: "open", service: { name: "recorder" }, paths: ["/open"], strip_path: false });
  const jwtRoute = store.create("routes", { name: "jwt", service: { name: "recorder" }, paths: ["/jwt"], strip_path: false }) as { id: string };
  store.create("plugins", { name: "jwt", route: { id: jwtRoute.id } });
  store.create("routes", { name: "evil", service: { name: "evil" }, paths: ["/evil"], strip_path: false });
  const key = await signingKey("HS256");
  const alice = store.create("consumers", { username: "alice" }) as { id: string };
  aliceId = alice.id;
  store.create("jwt_secrets", { key: "alice-key", ...key.credential }, { kind: "consumers", id: alice.id });
  token = await sign(key, { iss: "alice-key" });
  port = gateway.proxy.port;
});

afterAll(async () => {
  await gateway.close();
  recorder.stop();
  evil.stop();
});

/** Runs `steps` and asserts that no byte of them reached the upstream. */
async function nothingUpstream(steps: (string | number)[], settleMs?: number): Promise<Talk> {
  const before = recorder.received.length;
  const answer = await talk(port, steps, settleMs);
  await Bun.sleep(50);
  expect(recorder.received.slice(before)).toBe("");
  return answer;
}

describe("llhttp leniencies refused as policy: 400 JSON, the connection closed, nothing upstream", () => {
  const post = (headers: string, body = "") => `POST /open HTTP/1.1\r\nHost: gw.test\r\n${headers}\r\n${body}`;
  test.each([
    ["empty Transfer-Encoding beside Content-Length", post("Transfer-Encoding:\r\nContent-Length: 5\r\n", "hello"), "Transfer-Encoding: only one chunked coding is accepted"],
    ["a coding before chunked", post("Transfer-Encoding: gzip, chunked\r\n", "0\r\n\r\n"), "Transfer-Encoding: only one chunked coding is accepted"],
    ["two Transfer-Encoding fields", post("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"), "Transfer-Encoding: only one chunked coding is accepted"],
    ["Transfer-Encoding after Content-Length", post("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"), "Transfer-Encoding with Content-Length"],
    ["Content-Length after Transfer-Encoding", post("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "0\r\n\r\n"), "Content-Length with Transfer-Encoding"],
    ["HTTP/1.0 with chunked", "POST /open HTTP/1.0\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "Transfer-Encoding in an HTTP/1.0 request"],
    ["two equal Content-Length fields", post("Content-Length: 5\r\nContent-Length: 5\r\n", "hello"), "duplicate Content-Length"],
    ["a Content-Length list", post("Content-Length: 5, 5\r\n", "hello"), "invalid Content-Length"],
    ["a signed Content-Length", post("Content-Length: +5\r\n", "hello"), "invalid Content-Length"],
    ["a Content-Length past 2^64", post("Content-Length: 99999999999999999999\r\n"), "Content-Length overflow"],
    ["an obs-folded value", "GET /open HTTP/1.1\r\nHost: gw.test\r\nX-A: b\r\n c\r\n\r\n", "obsolete line folding"],
    ["a NUL in a value", "GET /open HTTP/1.1\r\nHost: gw.test\r\nX-A: b\u0000c\r\n\r\n", "invalid character in a header value"],
    ["a bare CR in a value (x-request-id injection)", "GET /open HTTP/1.1\r\nHost: gw.test\r\nX-Request-Id: a\rSet-Cookie: x=1\r\n\r\n", "bare CR in the header block"],
    ["a bare LF ending a header", "GET /open HTTP/1.1\r\nHost: gw.test\r\nX-A: b\nX-B: c\r\n\r\n", "bare LF in the header block"],
    ["whitespace before the colon", "GET /open HTTP/1.1\r\nHost : gw.test\r\n\r\n", "whitespace before the colon"],
    ["an asterisk-form target", "OPTIONS * HTTP/1.1\r\nHost: gw.test\r\n\r\n", 'request target "*": expected a path'],
    ["a target `*a`", "GET *a HTTP/1.1\r\nHost: gw.test\r\n\r\n", 'request target "*a": expected a path'],
    ["CONNECT in authority-form", "CONNECT gw.test:80 HTTP/1.1\r\nHost: gw.test\r\n\r\n", "CONNECT is not served: the gateway is not a forward proxy"],
    ["the HTTP/2 preface (PRI)", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "unsupported HTTP version"],
    ["HTTP/1.2", "GET /open HTTP/1.2\r\nHost: gw.test\r\n\r\n", "invalid HTTP version"],
    ["a lower-case method", "get /open HTTP/1.1\r\nHost: gw.test\r\n\r\n", "invalid method"],
  ])("%s", async (_name, bytes, reason) => {
    expectMalformed(await nothingUpstream([bytes]), reason);
  });

  test("what follows a refused head on the same connection is never read", async () => {
    expectMalformed(await nothingUpstream([`POST /open HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`]), "Transfer-Encoding: only one chunked coding is accepted");
  });
});

describe("chunked request bodies: a broken one never reaches the upstream complete", () => {
  const chunked = (body: string) => `POST /open HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n${body}`;
  test.each([
    ["a chunk size past 2^64", "FFFFFFFFFFFFFFFFF\r\nx\r\n0\r\n\r\n", "chunk size above 2^53 - 1"],
    ["a space after the size", "5 \r\nhello\r\n0\r\n\r\n", "invalid chunk size"],
    ["a bare LF after an extension", "5;a\nhello\r\n0\r\n\r\n", "invalid chunk extension"],
    ["data longer than its size", "5\r\nhelloXX0\r\n\r\n", "missing CRLF after chunk data"],
    ["Content-Length in the trailer section", "5\r\nhello\r\n0\r\nX-Consumer-ID: boss\r\nContent-Length: 9\r\n\r\n", "Content-Length in the trailer section"],
  ])("%s → 400 JSON, the upstream's copy never ends", async (_name, body, reason) => {
    const before = recorder.received.length;
    const answer = await talk(port, [chunked(body) + SMUGGLED]);
    expectMalformed(answer, `invalid chunked body: ${reason}`);
    await Bun.sleep(50);
    const sent = recorder.received.slice(before);
    expect(sent).not.toContain("0\r\n\r\n");
    expect(sent).not.toContain("SMUGGLED");
    expect(sent).not.toContain("boss");
  });

  test("extensions and trailers are never forwarded; leading zeros in a size are read as the number", async () => {
    const before = recorder.heads.length;
    const answer = await talk(port, [chunked("00000005;a=b;c=\"d\"\r\nhello\r\n0;z\r\nX-Consumer-ID: boss\r\n\r\n")]);
    expect(statuses(answer.raw)).toEqual([200]);
    const upstream = recorder.received.slice(recorder.received.lastIndexOf("POST /open"));
    expect(recorder.heads.length).toBe(before + 1);
    expect(upstream).toEndWith("\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
    expect(upstream).not.toMatch(/a=b|;z|boss/);
  });
});

describe("Host and request target", () => {
  test("two Host fields → 400 invalid Host, nothing upstream", async () => {
    const answer = await nothingUpstream(["GET /open HTTP/1.1\r\nHost: gw.test\r\nHost: other.test\r\n\r\n"]);
    expect(statuses(answer.raw)).toEqual([400]);
    expect(answer.raw).toEndWith(`\r\n\r\n${INVALID_HOST}`);
  });

  test("a Host with userinfo → 400 invalid Host, nothing upstream", async () => {
    const answer = await nothingUpstream(["GET /open HTTP/1.1\r\nHost: a@b\r\n\r\n"]);
    expect(answer.raw).toEndWith(`\r\n\r\n${INVALID_HOST}`);
  });

  test.each([
    ["a fragment", "/open#frag"],
    ["a fragment hiding a climb to a protected route", "/open#/../jwt"],
    ["backslashes", "/open\\..\\jwt"],
  ])("%s → 400 invalid path, nothing upstream", async (_name, target) => {
    const answer = await nothingUpstream([`GET ${target} HTTP/1.1\r\nHost: gw.test\r\n\r\n`]);
    expect(statuses(answer.raw)).toEqual([400]);
    expect(answer.raw).toEndWith(`\r\n\r\n${INVALID_PATH}`);
  });

  test("absolute-form, with an odd userinfo too, reaches the upstream in origin-form with the gateway's Host", async () => {
    for (const target of ["http://other.test/open/abs", "http://a@b@c/open/abs"]) {
      const before = recorder.heads.length;
      const answer = await talk(port, [`GET ${target} HTTP/1.1\r\nHost: gw.test\r\n\r\n`]);
      expect(statuses(answer.raw)).toEqual([200]);
      expect(recorder.heads[before]).toStartWith(`GET /open/abs HTTP/1.1\r\nhost: ${recorder.url.slice(7)}\r\n`);
    }
  });

  test("absolute-form naming another authority does not get past the jwt route", async () => {
    const answer = await nothingUpstream(["GET http://open.test/jwt HTTP/1.1\r\nHost: gw.test\r\n\r\n"]);
    expect(answer.raw).toEndWith(`\r\n\r\n${UNAUTHORIZED}`);
  });

  test("raw \" < > ^ ` { | } in the path are percent-encoded before the upstream sees them", async () => {
    const before = recorder.heads.length;
    await talk(port, ['GET /open/"<>^`{|} HTTP/1.1\r\nHost: gw.test\r\n\r\n']);
    expect(recorder.heads[before]).toStartWith("GET /open/%22%3C%3E%5E%60%7B%7C%7D HTTP/1.1\r\n");
  });
});

describe("pipelining and 100-continue: a refused request's body is never the next request", () => {
  test("a 401 on the jwt route, then a pipelined request: each answered on its own, in order", async () => {
    const before = recorder.heads.length;
    const answer = await talk(port, [`GET /jwt HTTP/1.1\r\nHost: gw.test\r\n\r\n${hidden("PIPELINED")}`]);
    expect(statuses(answer.raw)).toEqual([401, 200]);
    expect(recorder.heads.slice(before).map((head) => head.split(" ")[1])).toEqual(["/open/PIPELINED"]);
  });

  test("a refused POST whose body holds a request: the body is skipped, never served", async () => {
    const answer = await nothingUpstream([`POST /jwt HTTP/1.1\r\nHost: gw.test\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`]);
    expect(statuses(answer.raw)).toEqual([401]);
  });

  test("the same body arriving in pieces after the refusal: the connection closes, the body is never served", async () => {
    const head = `POST /jwt HTTP/1.1\r\nHost: gw.test\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n`;
    const answer = await nothingUpstream([head + SMUGGLED.slice(0, 10), 300, SMUGGLED.slice(10) + SMUGGLED]);
    expect(statuses(answer.raw)).toEqual([401]);
    expect(answer.raw).toContain("\r\nConnection: close\r\n");
    expect(answer.closed).toBe(true);
  });

  test("Expect: 100-continue refused: no 100, Connection: close, and a body sent anyway is never served", async () => {
    const head = `POST /jwt HTTP/1.1\r\nHost: gw.test\r\nExpect: 100-continue\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n`;
    const answer = await nothingUpstream([head, 300, SMUGGLED]);
    expect(answer.raw).not.toContain("100 Continue");
    expect(statuses(answer.raw)).toEqual([401]);
    expect(answer.raw).toContain("\r\nConnection: close\r\n");
    expect(answer.closed).toBe(true);
  });

  test("Connection: close: a request pipelined behind it, or sent later, is never served", async () => {
    const close = "GET /open HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n";
    for (const steps of [[close + hidden("BEHIND-CLOSE"), 300, "\r\n"], [close, 300, hidden("AFTER-CLOSE")]]) {
      const answer = await talk(port, steps);
      expect(statuses(answer.raw)).toEqual([200]);
      expect(answer.closed).toBe(true);
    }
    expect(recorder.received).not.toMatch(/BEHIND-CLOSE|AFTER-CLOSE/);
  });

  test("an HTTP/1.0 request without keep-alive closes; what follows is never served", async () => {
    const answer = await talk(port, ["GET /open HTTP/1.0\r\nHost: gw.test\r\n\r\n", 300, hidden("AFTER-1.0")]);
    expect(statuses(answer.raw)).toEqual([200]);
    expect(answer.closed).toBe(true);
    expect(recorder.received).not.toContain("AFTER-1.0");
  });

  test("a request written one byte at a time is served whole", async () => {
    const request = "GET /open/bytewise?x=1 HTTP/1.1\r\nHost: gw.test\r\nX-A: b\r\n\r\n";
    const before = recorder.heads.length;
    const answer = await talk(port, [...request].flatMap((byte) => [byte, 2]));
    expect(statuses(answer.raw)).toEqual([200]);
    expect(recorder.heads[before]).toStartWith("GET /open/bytewise?x=1 HTTP/1.1\r\n");
    expect(recorder.heads[before]).toContain("\r\nx-a: b\r\n");
  });
});

describe("headers the gateway owns", () => {
  test("hop-by-hop fields (Proxy-Connection, Keep-Alive, TE, Trailer, Upgrade) and what Connection lists are never forwarded", async () => {
    const before = recorder.heads.length;
    await talk(port, ["GET /open HTTP/1.1\r\nHost: gw.test\r\nProxy-Connection: keep-alive\r\nKeep-Alive: 5\r\nTE: trailers\r\nTrailer: x\r\nUpgrade: foo\r\nConnection: upgrade, x-listed\r\nX-Listed: 1\r\n\r\n"]);
    expect(recorder.heads[before]).not.toMatch(/proxy-connection|keep-alive|\r\nte:|trailer|upgrade|x-listed|connection/i);
  });

  test("identity headers in any spelling never reach the upstream of a route without plugins", async () => {
    const before = recorder.heads.length;
    await talk(port, ["GET /open HTTP/1.1\r\nHost: gw.test\r\nX_Consumer_ID: boss\r\nX-Consumer-Username: boss\r\nX.Consumer.ID: boss\r\nX-Credential-Identifier: boss\r\nTransfer_Encoding: chunked\r\n\r\n"]);
    expect(recorder.heads[before]).not.toMatch(/consumer|credential|boss|transfer/i);
  });

  test("Connection: authorization cannot make a token count without being checked: the token is removed first → 401", async () => {
    const answer = await nothingUpstream([`GET /jwt HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer ${token}\r\nConnection: authorization\r\n\r\n`]);
    expect(answer.raw).toEndWith(`\r\n\r\n${UNAUTHORIZED}`);
  });

  test("Connection: x-consumer-id and a spoofed X-Consumer-ID: the upstream gets exactly the consumer the token names", async () => {
    const before = recorder.heads.length;
    const answer = await talk(port, [`GET /jwt HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer ${token}\r\nX-Consumer-ID: boss\r\nX_Consumer_ID: boss\r\nConnection: x-consumer-id, x-credential-identifier\r\n\r\n`]);
    expect(statuses(answer.raw)).toEqual([200]);
    const lines = recorder.heads[before]!.split("\r\n").filter((line) => /consumer/i.test(line));
    expect(lines).toEqual([`X-Consumer-ID: ${aliceId}`, "X-Consumer-Username: alice"].map((line) => expect.stringMatching(new RegExp(`^${line}$`, "i"))));
  });
});

describe("a hostile upstream cannot split the client's response stream", () => {
  test.each(["/dup-length", "/gzip-chunked", "/101", "/folded", "/nul", "/space-colon", "/negative-length", "/bare-lf-chunk"])("%s → 502 JSON, and the next request on the connection is answered normally", async (path) => {
    const answer = await talk(port, [`GET /evil${path} HTTP/1.1\r\nHost: gw.test\r\n\r\n`, 200, "GET /evil/next HTTP/1.1\r\nHost: gw.test\r\n\r\n"]);
    expect(statuses(answer.raw)).toEqual([502, 200]);
    expect(answer.raw).toContain(`\r\n\r\n${BAD_GATEWAY}HTTP/1.1 200 OK\r\n`);
    expect(answer.raw).toEndWith("\r\n\r\nnormal");
    expect(answer.raw).not.toContain("POISON");
  });

  test.each([
    ["a 1xx flood (20,000 × 100 Continue)", "/1xx-flood"],
    ["Content-Length beside chunked (chunked wins)", "/length-and-chunked"],
    ["a CR inside the reason phrase (the gateway writes its own)", "/cr-in-reason"],
    ["bytes after the response", "/extra-after"],
  ])("%s → one 200 `ok`, the next answer intact", async (_name, path) => {
    const answer = await talk(port, [`GET /evil${path} HTTP/1.1\r\nHost: gw.test\r\n\r\n`, 200, "GET /evil/next HTTP/1.1\r\nHost: gw.test\r\n\r\n"]);
    expect(statuses(answer.raw)).toEqual([200, 200]);
    expect(answer.raw).toMatch(/^HTTP\/1\.1 200 OK\r\ncontent-length: 2\r\n[^]*?\r\n\r\nokHTTP\/1\.1 200 OK\r\ncontent-length: 6\r\n[^]*\r\n\r\nnormal$/i);
    expect(answer.raw).not.toMatch(/POISON|X-Injected/i);
  });

  test("a head ended by bare LFs is never relayed: 504 once read_timeout passes", async () => {
    const answer = await talk(port, ["GET /evil/bare-lf-head HTTP/1.1\r\nHost: gw.test\r\n\r\n"], 2500);
    expect(statuses(answer.raw)).toEqual([504]);
    expect(answer.raw).toEndWith('\r\n\r\n{"message":"The upstream server is timing out"}');
  });

  test.each([
    ["HEAD answered with a body", "HEAD", "/head-with-body"],
    ["204 followed by bytes", "GET", "/204-with-body"],
  ])("%s: the stray bytes never become the next answer", async (_name, method, path) => {
    const answer = await talk(port, [`${method} /evil${path} HTTP/1.1\r\nHost: gw.test\r\n\r\n`, 200, "GET /evil/next HTTP/1.1\r\nHost: gw.test\r\n\r\n"]);
    expect(answer.raw).not.toContain("POISON");
    expect(answer.raw).toEndWith("\r\n\r\nnormal");
  });

  test("an upstream that closes mid-body (Content-Length): the client sees the declared length and a closed connection, never a complete answer", async () => {
    const answer = await talk(port, ["GET /evil/cut-length HTTP/1.1\r\nHost: gw.test\r\n\r\n"], 1000);
    expect(answer.raw).toMatch(/^HTTP\/1\.1 200 OK\r\ncontent-length: 100\r\n[^]*\r\n\r\nshort$/i);
    expect(answer.closed).toBe(true);
  });

  test("an upstream that closes mid-body (chunked): no last chunk is written, the connection closes", async () => {
    const answer = await talk(port, ["GET /evil/cut-chunked HTTP/1.1\r\nHost: gw.test\r\n\r\n"], 1000);
    expect(answer.raw).toMatch(/\r\ntransfer-encoding: chunked\r\n\r\n5\r\nshort\r\n3\r\nabc\r\n$/);
    expect(answer.closed).toBe(true);
  });
});

describe("slow clients", () => {
  let core: ReturnType<typeof openCore>;
  let listener: ReturnType<typeof startRawProxy>;

  beforeAll(() => {
    core = openCore({ db: MEMORY });
    listener = startRawProxy({ pool: new ConnectionPool(), state: core.state, metrics: core.metrics, accessLog: core.accessLog, hostname: "127.0.0.1", port: 0, timeouts: { headMs: 300, idleMs: 800 } });
  });

  afterAll(async () => {
    await listener.close();
    core.opened.sqlite.close();
  });

  test("slowloris: a head trickling one byte every 50 ms still gets 408 at the head deadline (bytes do not extend it)", async () => {
    const started = Date.now();
    const trickle = Array.from({ length: 60 }, () => ["a", 50]).flat();
    const answer = await talk(listener.port, ["GET / HTTP/1.1\r\nHost: slow\r\nX-Slow: ", ...trickle], 0);
    expect(statuses(answer.raw)).toEqual([408]);
    expect(answer.raw).toEndWith('\r\n\r\n{"message":"the request head did not arrive in time"}');
    expect(answer.closed).toBe(true);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  test("leading empty lines forever: refused once they fill the head limit (431), not buffered without end", async () => {
    const answer = await talk(listener.port, ["\r\n".repeat(20 * 1024)], 1000);
    expect(statuses(answer.raw)).toEqual([431]);
    expect(answer.raw).toEndWith('\r\n\r\n{"message":"request header fields too large"}');
    expect(answer.closed).toBe(true);
  });
});

test("10,000 idle keep-alive connections cost < 60 MB extra RSS", async () => {
  const upstream = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("ok") });
  const child = Bun.spawn(["bun", join(import.meta.dir, "../support/proxy-process.ts"), `http://127.0.0.1:${upstream.port}`], { env: { ...process.env, GATEWAY_PROXY_ENGINE: "raw" }, stdout: "pipe", stderr: "inherit" });
  const sockets: Socket<undefined>[] = [];
  try {
    const reader = (child.stdout as ReadableStream<Uint8Array>).getReader();
    let text = "";
    while (!/PORT \d+\n/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    const gatewayPort = Number(/PORT (\d+)/.exec(text)![1]);
    for (let i = 0; i < 200; i++) await (await fetch(`http://127.0.0.1:${gatewayPort}/warm`)).text();
    await Bun.sleep(500);
    const base = rssBytes(child.pid);
    let answered = 0;
    for (let i = 0; i < 10_000; i++) {
      const socket = await Bun.connect({ hostname: "127.0.0.1", port: gatewayPort, socket: { data: () => void answered++, error() {} } });
      socket.write("GET /idle HTTP/1.1\r\nHost: gw.test\r\n\r\n");
      sockets.push(socket);
    }
    const deadline = Date.now() + 20_000;
    while (answered < 10_000 && Date.now() < deadline) await Bun.sleep(100);
    await Bun.sleep(1000);
    const extra = rssBytes(child.pid) - base;
    // Measured: +22.8 MiB (serve engine: +23.2 MiB).
    console.log(`raw engine, 10,000 idle keep-alive connections: +${(extra / 1048576).toFixed(1)} MiB RSS`);
    expect(answered).toBe(10_000);
    expect(extra).toBeLessThan(60 * 1024 * 1024);
  } finally {
    for (const socket of sockets) socket.end();
    child.kill("SIGTERM");
    await child.exited;
    upstream.stop(true);
  }
}, 60_000);
