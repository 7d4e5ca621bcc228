// The gateway's own HTTP/1.1 client (src/proxy/upstream): response framing, connection reuse
// and every way an upstream can break an exchange, against scripted upstreams on raw loopback
// sockets, so each byte the upstream sends is chosen by the test.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ChunkedDecoder } from "../src/proxy/upstream/chunked.ts";
import { MalformedResponse } from "../src/proxy/upstream/response-head.ts";
import { parseResponseText } from "./support/response-heads.ts";
import { type TestGateway, startTestGateway } from "./support/gateway.ts";
import { type Reply, type ScriptedUpstream, scripted } from "./support/scripted-upstream.ts";

const BAD_GATEWAY = { message: "An invalid response was received from the upstream server" };

let gateway: TestGateway;
let routeCount = 0;
const upstreams: ScriptedUpstream[] = [];

/** A route to a new scripted upstream; returns the path to request and the upstream. */
function route(reply: Reply): { path: string; upstream: ScriptedUpstream } {
  const upstream = scripted(reply);
  upstreams.push(upstream);
  const name = `u${++routeCount}`;
  gateway.store.create("services", { name, url: `http://127.0.0.1:${upstream.port}`, retries: 0, read_timeout: 2000 });
  gateway.store.create("routes", { name, service: { name }, paths: [`/${name}`] });
  return { path: `/${name}`, upstream };
}

beforeAll(() => {
  gateway = startTestGateway();
});
afterAll(async () => {
  await gateway.close();
  for (const upstream of upstreams) upstream.stop();
});

const ok = (body: string, extra = "") => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;

describe("chunked decoding", () => {
  const body = "4;ext=1\r\nWiki\r\n6\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\n";
  const expected = "Wikipedia in \r\n\r\nchunks.";

  function decodeInPieces(cuts: number[]): { text: string; stop: number; done: boolean } {
    const decoder = new ChunkedDecoder();
    const input = Buffer.from(`${body}NEXT`, "latin1");
    let text = "";
    let from = 0;
    let stop = -1;
    for (const cut of [...cuts, input.length]) {
      const piece = input.subarray(from, cut);
      const at = decoder.decode(piece, 0, (bytes) => (text += bytes.toString("latin1")));
      if (decoder.done && stop < 0) stop = from + at;
      from = cut;
      if (decoder.done) break;
    }
    return { text, stop, done: decoder.done };
  }

  test("the same body and end position whatever the split, down to single bytes", () => {
    for (let cut = 0; cut <= body.length; cut++) {
      expect(decodeInPieces([cut])).toEqual({ text: expected, stop: body.length, done: true });
    }
    expect(decodeInPieces(Array.from({ length: body.length }, (_, i) => i + 1))).toEqual({ text: expected, stop: body.length, done: true });
  });

  test.each([
    ["a size that is not hex", "zz\r\nabc\r\n0\r\n\r\n"],
    ["data not followed by CRLF", "3\r\nabcX\r\n0\r\n\r\n"],
    ["a size line ended by a bare LF", "3\nabc\r\n0\r\n\r\n"],
    ["a size too large to represent", "fffffffffffffff\r\n"],
    ["a size line longer than 4 KiB", `1;${"x".repeat(5000)}\r\n`],
    ["trailers over 16 KiB", `0\r\n${"X-T: yyyyyyyyyy\r\n".repeat(1200)}\r\n`],
  ])("%s is refused", (_, input) => {
    expect(() => new ChunkedDecoder().decode(Buffer.from(input, "latin1"), 0, () => {})).toThrow(MalformedResponse);
  });
});

describe("response heads", () => {
  test("Transfer-Encoding wins over Content-Length, which is dropped, and the connection is not reused", () => {
    const head = parseResponseText("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nX-A: 1", "GET");
    expect(head).toMatchObject({ status: 200, framing: "chunked", length: 0, reusable: false });
    expect(head.headers).toEqual([["X-A", "1"]]);
  });

  test("hop-by-hop headers and the ones Connection names are removed; close is honoured", () => {
    const head = parseResponseText("HTTP/1.1 200 OK\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nX-End: 2\r\nContent-Length: 0", "GET");
    expect(head.headers).toEqual([["X-End", "2"], ["Content-Length", "0"]]);
    expect(head.reusable).toBe(false);
  });

  test("a Connection option naming Content-Length does not take the framing away (it goes on to the client)", () => {
    const head = parseResponseText("HTTP/1.1 200 OK\r\nConnection: content-length\r\nContent-Length: 2", "GET");
    expect(head).toMatchObject({ framing: "length", length: 2, reusable: true });
    expect(head.headers).toEqual([["Content-Length", "2"]]);
  });

  test("framing: HEAD, 204 and 304 have no body; no length, or chunked not last, means read to close; HTTP/1.0 is not reused", () => {
    expect(parseResponseText("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip", "GET")).toMatchObject({ framing: "close", reusable: false });
    expect(parseResponseText("HTTP/1.1 200 OK\r\nContent-Length: 10", "HEAD").framing).toBe("none");
    expect(parseResponseText("HTTP/1.1 204 No Content", "GET").framing).toBe("none");
    expect(parseResponseText("HTTP/1.1 304 Not Modified\r\nContent-Length: 10", "GET").framing).toBe("none");
    expect(parseResponseText("HTTP/1.1 200 OK", "GET")).toMatchObject({ framing: "close", reusable: false });
    expect(parseResponseText("HTTP/1.0 200 OK\r\nContent-Length: 1", "GET")).toMatchObject({ framing: "length", length: 1, reusable: false });
  });

  test.each([
    ["a garbage status line", "HTTP/2 200 OK"],
    ["a status of two digits", "HTTP/1.1 20 OK"],
    ["conflicting Content-Length values", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2"],
    ["a non-numeric Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 1x"],
    ["a folded header line", "HTTP/1.1 200 OK\r\nX-A: 1\r\n  more"],
    ["whitespace before the colon", "HTTP/1.1 200 OK\r\nContent-Length : 1"],
    ["a line without a colon", "HTTP/1.1 200 OK\r\nnonsense"],
    ["a coding under chunked, which the client could not undo", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked"],
  ])("%s is refused", (_, text) => {
    expect(() => parseResponseText(text, "GET")).toThrow(MalformedResponse);
  });
});

describe("through the gateway", () => {
  test("a chunked body split across writes, with trailers, arrives whole", async () => {
    const { path } = route((socket) => {
      socket.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n5\r\nhel");
      setTimeout(() => socket.write("lo\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"), 20);
    });
    const res = await gateway.request(path);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain");
    expect(await res.text()).toBe("hello world");
  });

  test("a body without a length is read until the upstream closes", async () => {
    const { path } = route((socket) => {
      socket.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil ");
      setTimeout(() => socket.end("close"), 20);
    });
    const res = await gateway.request(path);
    expect(await res.text()).toBe("until close");
  });

  test("interim 100 and 103 responses are skipped; the final response's headers are kept", async () => {
    const { path } = route((socket) => socket.write(`HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n${ok("final", "X-Final: yes\r\n")}`));
    const res = await gateway.request(path);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-final")).toBe("yes");
    expect(res.headers.get("link")).toBeNull();
    expect(await res.text()).toBe("final");
  });

  test("status, reason-less status line, multiple Set-Cookie and HEAD's Content-Length come through", async () => {
    const { path } = route((socket, request) => {
      if (request.startsWith("HEAD")) socket.write("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n");
      else socket.write("HTTP/1.1 418\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 2\r\n\r\nhi");
    });
    const res = await gateway.request(path);
    expect(res.status).toBe(418);
    expect(res.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
    expect(await res.text()).toBe("hi");
    const head = await gateway.request(path, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe("1234");
  });

  test("one upstream connection carries consecutive requests; Connection: close and stray bytes retire it", async () => {
    const { path, upstream } = route((socket, request) => {
      if (request.includes("x-mode: close")) socket.write(ok("bye", "Connection: close\r\n"));
      else if (request.includes("x-mode: extra")) socket.write(`${ok("body")}STRAY BYTES`);
      else socket.write(ok("same"));
    });
    for (let i = 0; i < 5; i++) expect(await (await gateway.request(path)).text()).toBe("same");
    expect(upstream.connections).toBe(1);
    expect(await (await gateway.request(path, { headers: { "x-mode": "close" } })).text()).toBe("bye");
    expect(await (await gateway.request(path)).text()).toBe("same");
    expect(upstream.connections).toBe(2);
    expect(await (await gateway.request(path, { headers: { "x-mode": "extra" } })).text()).toBe("body");
    expect(await (await gateway.request(path)).text()).toBe("same");
    expect(upstream.connections).toBe(3);
  });

  test("a reused connection the upstream drops unanswered: GET is retried on a new one, bodiless POST is not", async () => {
    // Every connection answers its first request and closes silently on the second.
    const { path, upstream } = route((socket, _request, served) => {
      if (served === 0) socket.write(ok("first"));
      else socket.end();
    });
    expect(await (await gateway.request(path)).text()).toBe("first");
    expect(await (await gateway.request(path)).text()).toBe("first");
    expect(upstream.connections).toBe(2);
    const post = await gateway.request(path, { method: "POST" });
    expect(post.status).toBe(502);
    expect(await post.json()).toEqual(BAD_GATEWAY);
  });

  test.each([
    ["a malformed status line", "HTTP/1.1 OK\r\n\r\n"],
    ["a header line without a colon", "HTTP/1.1 200 OK\r\nbroken\r\nContent-Length: 0\r\n\r\n"],
    ["a head over 64 KiB", `HTTP/1.1 200 OK\r\nX-Big: ${"b".repeat(70 * 1024)}\r\n\r\n`],
    ["a status the Fetch API refuses", "HTTP/1.1 600 Odd\r\nContent-Length: 0\r\n\r\n"],
    ["a header value with a NUL byte", "HTTP/1.1 200 OK\r\nX-A: a\u0000b\r\nContent-Length: 0\r\n\r\n"],
    ["101 to a request that never asked to switch", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n"],
    ["a connection closed mid-head", "HTTP/1.1 200 OK\r\nContent-Le"],
  ])("%s → 502 with the message, and the gateway keeps serving", async (_, bytes) => {
    const { path } = route((socket) => {
      socket.write(bytes);
      if (!bytes.endsWith("\r\n\r\n")) setTimeout(() => socket.end(), 20);
    });
    const res = await gateway.request(path);
    expect(res.status).toBe(502);
    expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(await res.json()).toEqual(BAD_GATEWAY);
    const healthy = route((socket) => socket.write(ok("fine")));
    expect(await (await gateway.request(healthy.path)).text()).toBe("fine");
  });

  test("an upstream that never answers → 504 after read_timeout, and its connection is closed", async () => {
    let closed = false;
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {}, close() { closed = true; } } });
    try {
      gateway.store.create("services", { name: "silent", url: `http://127.0.0.1:${silent.port}`, read_timeout: 150 });
      gateway.store.create("routes", { name: "silent", service: { name: "silent" }, paths: ["/silent"] });
      const started = performance.now();
      const res = await gateway.request("/silent");
      expect(res.status).toBe(504);
      expect(await res.json()).toEqual({ message: "The upstream server is timing out" });
      expect(performance.now() - started).toBeGreaterThanOrEqual(140);
      await Bun.sleep(50);
      expect(closed).toBe(true);
    } finally {
      silent.stop(true);
    }
  });

  test("the request head: hop-by-hop and Connection-named headers dropped, the rest forwarded once", async () => {
    const { path, upstream } = route((socket) => socket.write(ok("{}")));
    await gateway.request(`${path}/x?q=1`, {
      headers: { connection: "keep-alive, x-drop-me", "x-drop-me": "1", te: "trailers", "x-keep": "kept", "x-request-id": "rid-1", "x-forwarded-for": "10.0.0.1" },
    });
    const lines = upstream.requests.at(-1)!.split("\r\n");
    expect(lines[0]).toBe("GET /x?q=1 HTTP/1.1");
    const names = lines.slice(1).map((line) => line.slice(0, line.indexOf(":")));
    expect(names.filter((name) => name === "host")).toHaveLength(1);
    expect(names).not.toContain("connection");
    expect(names).not.toContain("x-drop-me");
    expect(names).not.toContain("te");
    expect(lines).toContain("x-keep: kept");
    expect(lines).toContain("x-request-id: rid-1");
    expect(lines).toContain("x-forwarded-for: 10.0.0.1, 127.0.0.1");
    expect(lines).toContain(`host: 127.0.0.1:${upstream.port}`);
  });

  test("a body arriving over many writes streams through intact, and the connection is reused after", async () => {
    const piece = 16 * 1024;
    const body = Buffer.alloc(32 * piece);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff;
    const { path, upstream } = route((socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`);
      let sent = 0;
      const next = () => {
        if (sent >= body.length) return;
        const written = socket.write(body.subarray(sent, sent + piece));
        expect(written).toBe(piece);
        sent += piece;
        setTimeout(next, 1);
      };
      next();
    });
    for (let i = 0; i < 2; i++) {
      const received = Buffer.from(await (await gateway.request(path)).arrayBuffer());
      expect(received.equals(body)).toBe(true);
    }
    expect(upstream.connections).toBe(1);
  });
});
