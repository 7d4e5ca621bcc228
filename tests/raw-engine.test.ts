// The raw proxy engine (`--proxy-engine raw`) on real sockets: bytes written by hand from a
// Node socket, real upstreams (Bun, Node's http, nginx). Keep-alive and pipelining order,
// HTTP/1.0 close-delimiting, 100-continue, chunked bodies both ways, the head and idle
// deadlines, a client that leaves, a client that reads slowly, the head limit, malformed
// requests, and TLS with SNI.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { type Socket, createConnection } from "node:net";
import { join } from "node:path";
import tls from "node:tls";
import { MEMORY } from "../src/db/connection.ts";
import { openCore } from "../src/gateway.ts";
import { startRawProxy } from "../src/proxy/raw/listener.ts";
import { ConnectionPool } from "../src/proxy/upstream/pool.ts";
import { selfSignedDefault } from "../src/tls/generate.ts";
import { type TestGateway, startTestGateway, tempDir } from "./support/gateway.ts";
import { describeWithNginx, startNginx } from "./support/nginx.ts";
import { startNodeUpstream } from "./support/node-upstream.ts";
import { type Reply, scripted } from "./support/scripted-upstream.ts";
import { startBunWebSocketUpstream } from "./support/websocket-upstreams.ts";
import { type TestUpstream, startUpstream } from "./support/upstream.ts";

interface Answer {
  status: number;
  head: string;
  headers: Record<string, string>;
  body: string;
}

/** A client connection writing raw bytes and reading answers one at a time. */
class RawClient {
  private data = Buffer.alloc(0);
  private waiting: (() => void) | null = null;
  ended = false;
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.data = Buffer.concat([this.data, chunk]);
      this.wake();
    });
    this.closed = new Promise((resolve) =>
      socket.on("close", () => {
        this.ended = true;
        this.wake();
        resolve();
      }),
    );
    socket.on("error", () => {});
  }

  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host: "127.0.0.1", port }, () => resolve(new RawClient(socket)));
      socket.once("error", reject);
    });
  }

  write(bytes: string | Uint8Array): void {
    this.socket.write(bytes);
  }

  /** The bytes received and not yet taken by `answer`, as latin1. */
  get pending(): string {
    return this.data.toString("latin1");
  }

  /** Waits until `ready` holds for the received bytes (or the connection ends). */
  async until(ready: (text: string) => boolean, ms = 5000): Promise<string> {
    const deadline = Date.now() + ms;
    while (!ready(this.pending)) {
      if (this.ended) throw new Error(`connection closed; received ${JSON.stringify(this.pending.slice(0, 300))}`);
      if (Date.now() > deadline) throw new Error(`timed out; received ${JSON.stringify(this.pending.slice(0, 300))}`);
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
        setTimeout(resolve, 50);
      });
    }
    return this.pending;
  }

  /** Reads one whole response: Content-Length, chunked (decoded), or until close. */
  async answer(ms = 5000): Promise<Answer> {
    const text = await this.until((t) => t.includes("\r\n\r\n"), ms);
    const headEnd = text.indexOf("\r\n\r\n");
    const head = text.slice(0, headEnd);
    const headers: Record<string, string> = {};
    for (const line of head.split("\r\n").slice(1)) {
      const colon = line.indexOf(":");
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const status = Number(head.slice(9, 12));
    let rest = text.slice(headEnd + 4);
    let body = "";
    let used: number;
    if (status === 100 || status === 204 || status === 304 || headers["content-length"] === "0") used = 0;
    else if (headers["content-length"] !== undefined) {
      const length = Number(headers["content-length"]);
      rest = (await this.until((t) => t.length - headEnd - 4 >= length, ms)).slice(headEnd + 4);
      body = rest.slice(0, length);
      used = length;
    } else if (headers["transfer-encoding"] === "chunked") {
      rest = (await this.until((t) => t.slice(headEnd + 4).includes("0\r\n\r\n"), ms)).slice(headEnd + 4);
      let at = 0;
      for (;;) {
        const lineEnd = rest.indexOf("\r\n", at);
        const size = parseInt(rest.slice(at, lineEnd), 16);
        at = lineEnd + 2;
        if (size === 0) break;
        body += rest.slice(at, at + size);
        at += size + 2;
      }
      used = at + 2;
    } else {
      await this.closed;
      body = this.pending.slice(headEnd + 4);
      used = body.length;
    }
    this.data = this.data.subarray(headEnd + 4 + used);
    return { status, head, headers, body };
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const wake = this.waiting;
    this.waiting = null;
    wake?.();
  }
}

const get = (path: string, extra = "") => `GET ${path} HTTP/1.1\r\nHost: gw.test\r\n${extra}\r\n`;

/** A gateway of its own with one route to a scripted upstream answering with `reply`; both are stopped after `run`. */
async function throughScripted(reply: Reply, run: (gateway: TestGateway) => Promise<void>): Promise<void> {
  const upstream = scripted(reply);
  const gateway = startTestGateway({ proxyEngine: "raw" });
  try {
    gateway.store.create("services", { name: "scripted", url: `http://127.0.0.1:${upstream.port}` });
    gateway.store.create("routes", { name: "scripted", service: { name: "scripted" }, paths: ["/"] });
    await run(gateway);
  } finally {
    await gateway.close();
    upstream.stop();
  }
}

let upstream: TestUpstream;
let gateway: TestGateway;
let port: number;
/** Pulls of the big streaming body so far (backpressure test). */
let bigPulled = 0;

beforeAll(() => {
  upstream = startUpstream(async (request) => {
    const url = new URL(request.url);
    if (url.pathname === "/slow") {
      await Bun.sleep(Number(url.searchParams.get("ms")));
      return new Response(`slow ${url.searchParams.get("ms")}`);
    }
    if (url.pathname === "/chunks") {
      let sent = 0;
      return new Response(
        new ReadableStream({
          async pull(controller) {
            if (sent === 3) return controller.close();
            await Bun.sleep(5);
            controller.enqueue(new TextEncoder().encode(`part${sent++};`));
          },
        }),
      );
    }
    if (url.pathname === "/big") {
      const piece = new Uint8Array(64 * 1024).fill(120);
      let left = 1024; // 64 MiB
      return new Response(
        new ReadableStream({
          pull(controller) {
            if (left-- === 0) return controller.close();
            bigPulled += piece.length;
            controller.enqueue(piece);
          },
        }),
        { headers: { "content-length": String(64 * 1024 * 1024) } },
      );
    }
    if (url.pathname === "/hop") return new Response("hop", { headers: { connection: "x-secret", "x-secret": "1", "keep-alive": "timeout=5", "x-request-id": "from-upstream" } });
    return Response.json({ method: request.method, path: url.pathname, query: url.search, body: await request.text(), headers: Object.fromEntries(request.headers) });
  });
  gateway = startTestGateway({ proxyEngine: "raw", accessLog: process.env.RAW_LOG ?? "off" });
  gateway.store.create("services", { name: "up", url: upstream.url });
  gateway.store.create("routes", { name: "up", service: { name: "up" }, paths: ["/"], strip_path: false });
  port = gateway.proxy.port;
});

afterAll(async () => {
  await gateway.close();
  await upstream.stop();
});

describe("choosing the engine", () => {
  test("an unknown --proxy-engine is a usage error naming the flag (exit 2), as is GATEWAY_PROXY_ENGINE", async () => {
    const main = join(import.meta.dir, "../src/main.ts");
    for (const [args, env] of [[["--proxy-engine", "fast"], {}], [[], { GATEWAY_PROXY_ENGINE: "fast" }]] as const) {
      const child = Bun.spawn([process.execPath, main, "serve", "--config", "/nonexistent.yml", ...args], { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
      const [code, err] = await Promise.all([child.exited, new Response(child.stderr).text()]);
      expect({ code, err: err.trim() }).toEqual({ code: 2, err: expect.stringContaining("--proxy-engine fast: expected serve or raw") });
    }
  }, 30_000);
});

describe("keep-alive and pipelining", () => {
  test("two requests on one connection, each answered with the gateway's headers", async () => {
    const client = await RawClient.open(port);
    client.write(get("/one"));
    const first = await client.answer();
    client.write(get("/two"));
    const second = await client.answer();
    expect([first.status, JSON.parse(first.body).path, second.status, JSON.parse(second.body).path]).toEqual([200, "/one", 200, "/two"]);
    expect(first.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.headers["x-gateway-upstream-latency"]).toMatch(/^\d+$/);
    expect(first.headers["x-gateway-proxy-latency"]).toMatch(/^\d+$/);
    expect(client.ended).toBe(false);
    client.close();
  });

  test("pipelined requests are answered in the order they were sent, whatever the upstream's speed", async () => {
    const client = await RawClient.open(port);
    client.write(get("/slow?ms=150") + get("/slow?ms=0") + get("/slow?ms=60"));
    const bodies = [(await client.answer()).body, (await client.answer()).body, (await client.answer()).body];
    expect(bodies).toEqual(["slow 150", "slow 0", "slow 60"]);
    client.close();
  });

  test("hop-by-hop headers of the upstream are removed, and the gateway's x-request-id replaces the upstream's", async () => {
    const client = await RawClient.open(port);
    client.write(get("/hop", "x-request-id: client-id-1\r\n"));
    const answer = await client.answer();
    expect(answer.headers["x-secret"]).toBeUndefined();
    expect(answer.headers["keep-alive"]).toBeUndefined();
    expect(answer.headers.connection).toBeUndefined();
    expect(answer.headers["x-request-id"]).toBe("client-id-1");
    client.close();
  });

  test("Connection: close is honoured: the connection ends after the answer", async () => {
    const client = await RawClient.open(port);
    client.write(get("/bye", "connection: close\r\n"));
    expect((await client.answer()).status).toBe(200);
    await client.closed;
    expect(client.ended).toBe(true);
  });
});

describe("HTTP/1.0 and chunked bodies", () => {
  test("a chunked upstream body reaches an HTTP/1.1 client chunked, whole", async () => {
    const client = await RawClient.open(port);
    client.write(get("/chunks"));
    const answer = await client.answer();
    expect(answer.headers["transfer-encoding"]).toBe("chunked");
    expect(answer.body).toBe("part0;part1;part2;");
    client.close();
  });

  test("to an HTTP/1.0 client the same body is close-delimited, never chunked", async () => {
    const client = await RawClient.open(port);
    client.write("GET /chunks HTTP/1.0\r\nHost: gw.test\r\n\r\n");
    const answer = await client.answer();
    expect(answer.headers["transfer-encoding"]).toBeUndefined();
    expect(answer.body).toBe("part0;part1;part2;");
    expect(client.ended).toBe(true);
  });

  test("an HTTP/1.0 client without keep-alive gets its answer and the connection closes", async () => {
    const client = await RawClient.open(port);
    client.write("GET /ten HTTP/1.0\r\nHost: gw.test\r\n\r\n");
    const answer = await client.answer();
    expect([answer.status, JSON.parse(answer.body).path]).toEqual([200, "/ten"]);
    await client.closed;
  });

  test("a chunked request body reaches the upstream decoded", async () => {
    const client = await RawClient.open(port);
    client.write("POST /echo HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
    const answer = await client.answer();
    expect([answer.status, JSON.parse(answer.body).body]).toEqual([200, "hello world"]);
    client.close();
  });

  test("a Content-Length request body arriving in pieces reaches the upstream whole", async () => {
    const client = await RawClient.open(port);
    client.write("PUT /echo HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 10\r\n\r\nabc");
    await Bun.sleep(50);
    client.write("defghij");
    const answer = await client.answer();
    expect([answer.status, JSON.parse(answer.body).body, JSON.parse(answer.body).method]).toEqual([200, "abcdefghij", "PUT"]);
    client.close();
  });
});

describe("Expect: 100-continue", () => {
  test("100 Continue is sent when the request goes upstream, then the final answer", async () => {
    const client = await RawClient.open(port);
    client.write("POST /echo HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    await client.until((text) => text.startsWith("HTTP/1.1 100 Continue\r\n\r\n"));
    client.write("data");
    expect((await client.answer()).status).toBe(100);
    const answer = await client.answer();
    expect([answer.status, JSON.parse(answer.body).body]).toEqual([200, "data"]);
    client.close();
  });

  test("a request refused before it goes upstream gets its final status without 100, and the connection closes", async () => {
    const other = startTestGateway({ proxyEngine: "raw" });
    try {
      const client = await RawClient.open(other.proxy.port);
      client.write("POST /nowhere HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
      const answer = await client.answer();
      expect([answer.status, JSON.parse(answer.body).message, answer.headers.connection]).toEqual([404, "no Route matched with those values", "close"]);
      await client.closed;
    } finally {
      await other.close();
    }
  });
});

describe("refusals", () => {
  test("a malformed request line → 400 with a JSON message, never 505", async () => {
    for (const line of ["GET / HTTP/2.0", "GET / HTTP/1.2", "GET /", "G\u00c9T / HTTP/1.1"]) {
      const client = await RawClient.open(port);
      client.write(Buffer.from(`${line}\r\nHost: gw.test\r\n\r\n`, "latin1"));
      const answer = await client.answer();
      expect({ line, status: answer.status }).toEqual({ line, status: 400 });
      expect(JSON.parse(answer.body).message).toStartWith("invalid HTTP request: ");
      expect(answer.headers["content-type"]).toBe("application/json; charset=utf-8");
      await client.closed;
    }
  });

  test("what the parser accepts but a proxy must not pass on → 400 JSON naming it", async () => {
    const cases: [string, string][] = [
      ["GET / HTTP/1.1\r\nHost: gw.test\r\nX-A: one\r\n two\r\n\r\n", "folding"],
      ["POST / HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", "transfer"],
      ["POST / HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "transfer"],
    ];
    for (const [request, named] of cases) {
      const client = await RawClient.open(port);
      client.write(request);
      const answer = await client.answer();
      expect({ request, status: answer.status }).toEqual({ request, status: 400 });
      expect(JSON.parse(answer.body).message.toLowerCase()).toContain(named.toLowerCase());
      await client.closed;
    }
  });

  test("two Host headers → 400 invalid_host, the shared flow's refusal (they read as one joined value)", async () => {
    const client = await RawClient.open(port);
    client.write("GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n");
    const answer = await client.answer();
    expect([answer.status, JSON.parse(answer.body).message]).toEqual([400, "invalid Host header: expected host[:port]"]);
    client.close();
  });

  test("a GET with a body → 400 body_on_bodiless_method, the shared flow's refusal", async () => {
    const client = await RawClient.open(port);
    client.write("GET /x HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 3\r\n\r\nabc");
    const answer = await client.answer();
    expect([answer.status, JSON.parse(answer.body).message]).toEqual([400, "a GET or HEAD request must not carry a body (Content-Length or Transfer-Encoding)"]);
    client.close();
  });

  test("a head over the limit → 431 with a JSON message", async () => {
    const client = await RawClient.open(port);
    client.write(`GET / HTTP/1.1\r\nHost: gw.test\r\nX-Big: ${"a".repeat(40 * 1024)}\r\n\r\n`);
    const answer = await client.answer();
    expect([answer.status, JSON.parse(answer.body).message]).toEqual([431, "request header fields too large"]);
    await client.closed;
  });
});

describe("deadlines", () => {
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

  test("a head that does not complete in time → 408 JSON and the connection closes", async () => {
    const client = await RawClient.open(listener.port);
    client.write("GET / HTTP/1.1\r\nHost: slow");
    const started = Date.now();
    const answer = await client.answer(3000);
    expect([answer.status, JSON.parse(answer.body).message]).toEqual([408, "the request head did not arrive in time"]);
    await client.closed;
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  test("an idle keep-alive connection is closed after the idle timeout, silently", async () => {
    const client = await RawClient.open(listener.port);
    const started = Date.now();
    await client.closed;
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
    expect(client.pending).toBe("");
  });
});

describe("the client going away", () => {
  test("aborts the upstream exchange: its connection is closed, and the log says 499", async () => {
    const silent = scripted(() => {});
    const log = join(tempDir("gateway-raw-"), "access.log");
    const other = startTestGateway({ proxyEngine: "raw", accessLog: log });
    try {
      other.store.create("services", { name: "silent", url: `http://127.0.0.1:${silent.port}` });
      other.store.create("routes", { name: "silent", service: { name: "silent" }, paths: ["/"] });
      const client = await RawClient.open(other.proxy.port);
      client.write(get("/wait"));
      for (let i = 0; i < 100 && silent.open === 0; i++) await Bun.sleep(10);
      expect(silent.open).toBe(1);
      client.close();
      for (let i = 0; i < 100 && silent.open > 0; i++) await Bun.sleep(10);
      expect(silent.open).toBe(0);
      await Bun.sleep(200);
      const lines = readFileSync(log, "utf8").trim().split("\n").map((line) => JSON.parse(line)).filter((entry) => entry.path === "/wait");
      expect(lines.map((entry) => [entry.status, entry.error_code])).toEqual([[499, "client_gone"]]);
    } finally {
      await other.close();
      silent.stop();
    }
  });
});

describe("upstream failures on the direct path", () => {
  test("an upstream that closes after its head, before any body byte → 502: nothing was written yet", async () => {
    await throughScripted(
      (socket) => {
        socket.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
        socket.end();
      },
      async (other) => {
        const client = await RawClient.open(other.proxy.port);
        client.write(get("/cut"));
        const answer = await client.answer();
        expect([answer.status, JSON.parse(answer.body).message]).toEqual([502, "An invalid response was received from the upstream server"]);
        client.close();
      },
    );
  });

  test("an upstream that closes mid-body: the client's connection ends before the body does", async () => {
    await throughScripted(
      (socket) => {
        socket.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
        setTimeout(() => socket.end(), 50);
      },
      async (other) => {
        const client = await RawClient.open(other.proxy.port);
        client.write(get("/cut"));
        await client.closed;
        expect(client.pending).toStartWith("HTTP/1.1 200 OK\r\n");
        expect(client.pending).toEndWith("\r\n\r\nabc");
      },
    );
  });
});

describe("answers whose body comes after their head", () => {
  test("another answer written while one waits for its body leaves the waiting one's head intact", async () => {
    await throughScripted(
      (socket, request) => {
        if (request.startsWith("GET /slow ")) {
          socket.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\nX-Slow: yes\r\n\r\n");
          setTimeout(() => socket.write("slow"), 200);
        } else socket.write("HTTP/1.1 201 Created\r\nContent-Length: 4\r\nX-Fast:  yes, and longer than the slow one's header\r\n\r\nfast");
      },
      async (other) => {
        const waiting = await RawClient.open(other.proxy.port);
        waiting.write(get("/slow"));
        await Bun.sleep(80);
        const quick = await RawClient.open(other.proxy.port);
        quick.write(get("/fast"));
        const fast = await quick.answer();
        expect([fast.status, fast.headers["x-fast"], fast.body]).toEqual([201, "yes, and longer than the slow one's header", "fast"]);
        const slow = await waiting.answer();
        expect([slow.status, slow.headers["x-slow"], slow.body]).toEqual([200, "yes", "slow"]);
        expect(slow.headers["x-fast"]).toBeUndefined();
        expect(slow.headers["content-length"]).toBe("4");
        waiting.close();
        quick.close();
      },
    );
  });
});

describe("answers whose head does not fit the shared buffer", () => {
  test("an upstream head of 40 KB and a client's 200-character request id: the head in a buffer of its own, whole, then the body", async () => {
    const big = "a".repeat(20_000);
    await throughScripted(
      (socket) => socket.write(`HTTP/1.1 200 OK\r\nX-Big-1: ${big}\r\nX-Big-2: ${big}\r\nContent-Length: 4\r\n\r\nbody`),
      async (other) => {
        const client = await RawClient.open(other.proxy.port);
        const id = "r".repeat(200);
        for (let i = 0; i < 2; i++) {
          client.write(get("/", `X-Request-Id: ${id}\r\n`));
          const answer = await client.answer();
          expect([answer.status, answer.headers["x-big-1"], answer.headers["x-big-2"], answer.headers["x-request-id"], answer.headers["content-length"], answer.body]).toEqual([200, big, big, id, "4", "body"]);
          expect(answer.headers["x-gateway-upstream-latency"]).toMatch(/^\d+$/);
          expect(answer.headers.date).toBeDefined();
        }
        client.close();
      },
    );
  });
});

describe("backpressure", () => {
  test("a client that stops reading holds the upstream back; once it reads, the whole body arrives", async () => {
    bigPulled = 0;
    const socket = createConnection({ host: "127.0.0.1", port });
    let received = 0;
    let tail = "";
    const complete = new Promise<void>((resolve) =>
      socket.on("data", (chunk: Buffer) => {
        received += chunk.length;
        tail = (tail + chunk.toString("latin1", Math.max(0, chunk.length - 16))).slice(-16);
        if (tail.endsWith("0\r\n\r\n")) resolve();
      }),
    );
    socket.write(get("/big"));
    socket.pause();
    await Bun.sleep(700);
    // Socket buffers on both hops and the stream's queue hold a few MiB, not 64.
    expect(bigPulled).toBeLessThan(24 * 1024 * 1024);
    socket.resume();
    await complete;
    // The body re-chunked: 64 KiB chunks, each with its size line and CRLF.
    expect(received).toBeGreaterThan(64 * 1024 * 1024);
    expect(bigPulled).toBe(64 * 1024 * 1024);
    socket.destroy();
  }, 30_000);
});

describe("real upstreams", () => {
  test("Node's http server receives the forwarding headers once each, the client's in its order", async () => {
    const node = await startNodeUpstream("none");
    const other = startTestGateway({ proxyEngine: "raw" });
    try {
      other.store.create("services", { name: "node", url: node.url });
      other.store.create("routes", { name: "node", service: { name: "node" }, paths: ["/n"] });
      const client = await RawClient.open(other.proxy.port);
      client.write(get("/n/path?q=1", "X-One: 1\r\nX-Consumer-ID: spoofed\r\nX-Two: 2\r\n"));
      const echo = JSON.parse((await client.answer()).body) as { url: string; rawHeaders: [string, string][] };
      expect(echo.url).toBe("/path?q=1");
      const names = echo.rawHeaders.map(([name]) => name.toLowerCase());
      expect(names.filter((name) => name.startsWith("x-one") || name.startsWith("x-two"))).toEqual(["x-one", "x-two"]);
      expect(names).not.toContain("x-consumer-id");
      for (const name of ["host", "x-forwarded-for", "x-forwarded-proto", "x-real-ip", "x-request-id"]) expect(names.filter((each) => each === name)).toHaveLength(1);
      client.close();
    } finally {
      await other.close();
      await node.stop();
    }
  });
});

describe("routes with plugins (no response phase) on the direct path", () => {
  test("key-auth + rate-limiting: the upstream gets the plugins' request (key hidden, consumer named), the client the plugins' response headers over the upstream's", async () => {
    const node = await startNodeUpstream("none");
    const other = startTestGateway({ proxyEngine: "raw" });
    try {
      other.store.create("services", { name: "node", url: node.url });
      const route = other.store.create("routes", { name: "node", service: { name: "node" }, paths: ["/k"] });
      const alice = other.store.create("consumers", { username: "alice" });
      other.store.create("keyauth_credentials", { key: "alice-key" }, { kind: "consumers", id: alice.id });
      other.store.create("plugins", { name: "key-auth", route: { id: route.id }, config: { hide_credentials: true } });
      other.store.create("plugins", { name: "rate-limiting", route: { id: route.id }, config: { minute: 100, policy: "local" } });
      const client = await RawClient.open(other.proxy.port);
      client.write(get("/k/path?apikey=alice-key&q=1", "X-Consumer-ID: spoofed\r\n"));
      const answer = await client.answer();
      expect(answer.status).toBe(200);
      const echo = JSON.parse(answer.body) as { url: string; rawHeaders: [string, string][] };
      expect(echo.url).toBe("/path?q=1");
      const sent = Object.fromEntries(echo.rawHeaders.map(([name, value]) => [name.toLowerCase(), value]));
      expect(sent["x-consumer-username"]).toBe("alice");
      expect(sent["x-consumer-id"]).toBe(alice.id);
      expect(answer.headers["x-ratelimit-limit-minute"]).toBe("100");
      expect(answer.headers["x-ratelimit-remaining-minute"]).toBe("99");
      expect(answer.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
      // The direct path relays the upstream's names as Node wrote them; a Response would have lower-cased them.
      expect(answer.head).toMatch(/\r\nDate: [A-Z][a-z]{2}, /);
      client.write(get("/k/path"));
      const refused = await client.answer();
      expect({ status: refused.status, message: (JSON.parse(refused.body) as { message: string }).message }).toEqual({ status: 401, message: "No API key found in request" });
      client.close();
    } finally {
      await other.close();
      await node.stop();
    }
  });
});

describeWithNginx("through nginx", () => {
  test("a chunked request body and a large response through nginx arrive whole", async () => {
    const nginx = await startNginx(`location / { proxy_pass http://127.0.0.1:${upstream.port}; proxy_http_version 1.1; proxy_request_buffering off; }`);
    const other = startTestGateway({ proxyEngine: "raw" });
    try {
      other.store.create("services", { name: "nginx", url: `http://127.0.0.1:${nginx.port}` });
      other.store.create("routes", { name: "nginx", service: { name: "nginx" }, paths: ["/"], strip_path: false });
      const client = await RawClient.open(other.proxy.port);
      client.write("POST /echo HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
      const answer = await client.answer();
      expect([answer.status, JSON.parse(answer.body).body]).toEqual([200, "abc"]);
      client.write(get("/chunks"));
      expect((await client.answer()).body).toBe("part0;part1;part2;");
      client.close();
    } finally {
      await other.close();
      await nginx.stop();
    }
  });
});

describe("TLS", () => {
  test("the certificate is chosen by SNI, the default one otherwise, and requests are served over it", async () => {
    const dir = tempDir("gateway-raw-tls-");
    const run = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", join(dir, "sni.key"), "-out", join(dir, "sni.pem"), "-days", "2", "-subj", "/CN=sni.test", "-addext", "subjectAltName=DNS:sni.test"]);
    expect(run.exitCode).toBe(0);
    const fallback = await selfSignedDefault();
    const other = startTestGateway({ proxyEngine: "raw", proxyListen: null, proxyListenTls: { hostname: "127.0.0.1", port: 0 }, tlsDefault: fallback });
    try {
      other.store.create("services", { name: "up", url: upstream.url });
      other.store.create("routes", { name: "up", service: { name: "up" }, paths: ["/"], strip_path: false });
      other.store.create("certificates", { cert: readFileSync(join(dir, "sni.pem"), "utf8"), key: readFileSync(join(dir, "sni.key"), "utf8"), snis: ["sni.test"] });
      const served = (servername?: string) =>
        new Promise<{ cn: string; answer: string }>((resolve, reject) => {
          const socket = tls.connect({ host: "127.0.0.1", port: other.proxy.port, servername, rejectUnauthorized: false }, () => {
            const cn = String(socket.getPeerCertificate().subject?.CN);
            let answer = "";
            socket.on("data", (chunk) => (answer += chunk));
            socket.on("end", () => resolve({ cn, answer }));
            socket.write(`GET /tls HTTP/1.1\r\nHost: ${servername ?? "x"}\r\nConnection: close\r\n\r\n`);
          });
          socket.on("error", reject);
        });
      const bySni = await served("sni.test");
      expect(bySni.cn).toBe("sni.test");
      expect(bySni.answer).toStartWith("HTTP/1.1 200 OK\r\n");
      expect(JSON.parse(bySni.answer.slice(bySni.answer.indexOf("\r\n\r\n") + 4)).headers["x-forwarded-proto"]).toBe("https");
      expect((await served("other.test")).cn).not.toBe("sni.test");
    } finally {
      await other.close();
    }
  });
});

describe("WebSocket", () => {
  /** A masked client frame (RFC 6455 §5.3) with a zero mask, or unmasked. */
  const clientFrame = (opcode: number, payload: string, masked = true) => {
    const data = Buffer.from(payload);
    return Buffer.concat([Buffer.from([0x80 | opcode, (masked ? 0x80 : 0) | data.length]), masked ? Buffer.alloc(4) : Buffer.alloc(0), data]);
  };
  const upgrade = (path: string) => `GET ${path} HTTP/1.1\r\nHost: gw.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;

  test("an upgrade is answered 101 with the client's accept, and frames are relayed both ways, unmasked to the client", async () => {
    const ws = startBunWebSocketUpstream();
    const other = startTestGateway({ proxyEngine: "raw" });
    try {
      other.store.create("services", { name: "ws", url: ws.url });
      other.store.create("routes", { name: "ws", service: { name: "ws" }, paths: ["/ws"] });
      const client = await RawClient.open(other.proxy.port);
      // The first frame travels in the same packet as the upgrade request.
      client.write(Buffer.concat([Buffer.from(upgrade("/ws/echo")), clientFrame(1, "hello")]));
      const head = await client.until((text) => text.includes("\r\n\r\n"));
      expect(head).toStartWith("HTTP/1.1 101 Switching Protocols\r\n");
      expect(head.toLowerCase()).toContain("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=");
      const frames = await client.until((text) => text.slice(text.indexOf("\r\n\r\n") + 4).length >= 2);
      const first = Buffer.from(frames.slice(frames.indexOf("\r\n\r\n") + 4), "latin1");
      expect(first[0]).toBe(0x81);
      expect(first[1]! & 0x80).toBe(0);
      expect(first.subarray(2, 2 + first[1]!).toString()).toContain("hello");
      client.close();
    } finally {
      await other.close();
      await ws.stop();
    }
  });

  test("an unmasked frame from the client closes the session with 1002", async () => {
    const ws = startBunWebSocketUpstream();
    const other = startTestGateway({ proxyEngine: "raw" });
    try {
      other.store.create("services", { name: "ws", url: ws.url });
      other.store.create("routes", { name: "ws", service: { name: "ws" }, paths: ["/ws"] });
      const client = await RawClient.open(other.proxy.port);
      client.write(upgrade("/ws/echo"));
      await client.until((text) => text.includes("\r\n\r\n"));
      const session = ws.sessions[0]!;
      client.write(clientFrame(1, "bare", false));
      await client.closed;
      const tail = Buffer.from(client.pending.slice(client.pending.indexOf("\r\n\r\n") + 4), "latin1");
      expect([tail[0], tail.readUInt16BE(2)]).toEqual([0x88, 1002]);
      expect((await session.closed).code).toBe(1002);
    } finally {
      await other.close();
      await ws.stop();
    }
  });
});
