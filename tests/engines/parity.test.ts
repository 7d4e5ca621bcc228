// Issue 20 step 3c: the same requests through the serve engine and the raw engine give the
// same bytes to the upstream and the same bytes back to the client. Both gateways run as
// `gateway serve` processes on one declarative file, on the same port of two loopback
// addresses (X-Forwarded-Port is the listener's port); the client writes raw bytes from
// 127.0.0.1 and the upstream answers scripted raw bytes, recording what it got. Normalised
// (engine-diff.ts): the VOLATILE_FIELDS of message heads (date, x-request-id and the two
// latency headers), and where chunk boundaries fall, which follows how bytes arrived.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { SignJWT } from "jose";
import { type ClientStep, exchange } from "../support/engine-client.ts";
import { VOLATILE_FIELDS, canonicalStream, diffStreams } from "../support/engine-diff.ts";
import { type MessageHead } from "../support/engine-framing.ts";
import { ENGINES, type EngineGateway, type ProxyEngine, rawEngineBuilt, startEngineGateway } from "../support/engine-gateway.ts";
import { type RecordingUpstream, type ReplyWriter, startRecordingUpstream } from "../support/engine-upstream.ts";
import { tempDir } from "../support/gateway.ts";

const HOST = "parity.test";
const JWT_SECRET = "parity-shared-secret-0123456789abcdef";
const API_KEY = "alice-key-0123456789abcdef";
const BIG = 1024 * 1024;
/** A body no one could mistake for another: every byte's value depends on its offset. */
const bigBody = (length: number) => Array.from({ length }, (_, i) => String.fromCharCode(97 + ((i * 7 + (i >> 10)) % 26))).join("");

const ok = (body: string, headers = "Content-Type: text/plain\r\n") => `HTTP/1.1 200 OK\r\n${headers}X-Upstream: recording\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
const chunked = (chunks: string[], trailers = "") => `${chunks.map((chunk) => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join("")}0\r\n${trailers}\r\n`;

/** The upstream's answers, chosen by the request's `reply=` query parameter. */
const REPLIES: Record<string, (head: MessageHead, reply: ReplyWriter) => void> = {
  length: (_, reply) => reply.write(ok("hello")),
  chunked: (_, reply) => reply.write(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(["hello", ", world", "!"])}`),
  trailers: (_, reply) => reply.write(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n${chunked(["with ", "trailers"], "X-Checksum: 1234\r\n")}`),
  close: (_, reply) => {
    reply.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nuntil the connection ends");
    reply.end();
  },
  "204": (_, reply) => reply.write("HTTP/1.1 204 No Content\r\nX-Upstream: recording\r\n\r\n"),
  "304": (_, reply) => reply.write('HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nCache-Control: max-age=60\r\n\r\n'),
  early: (_, reply) => reply.write(`HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n${ok("after hints")}`),
  continue: (_, reply) => reply.write(`HTTP/1.1 100 Continue\r\n\r\n${ok("after continue")}`),
  big: (_, reply) => reply.write(ok(bigBody(BIG), "Content-Type: application/octet-stream\r\n")),
  "big-chunked": (_, reply) => {
    const body = bigBody(BIG);
    const chunks = Array.from({ length: 16 }, (_, i) => body.slice(i * 65536, (i + 1) * 65536));
    reply.write(`HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(chunks)}`);
  },
  headers: (_, reply) => reply.write(ok("many", Array.from({ length: 100 }, (_, i) => `X-Many-${i}: value ${i}\r\n`).join(""))),
  cookies: (_, reply) => reply.write(ok("cookies", "Set-Cookie: a=1; Path=/\r\nSet-Cookie: b=2; HttpOnly\r\nSet-Cookie: c=3; Expires=Wed, 21 Oct 2037 07:28:00 GMT\r\n")),
  json: (_, reply) => reply.write(ok('{"id":1,"internal":"secret","name":"parity"}', "Content-Type: application/json\r\nX-Internal: do-not-show\r\n")),
  // Hostile answers: RFC 9112 §6.3 makes chunked win over a Content-Length beside it; a chunk
  // size that is not hex is broken framing (502 when nothing has been sent yet).
  "length-and-chunked": (_, reply) => reply.write(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(["ok"])}`),
  "bad-chunk": (_, reply) => reply.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nhello\r\n0\r\n\r\n"),
  hang: () => {},
};

function answer(head: MessageHead, _request: string, reply: ReplyWriter): void {
  const target = head.startLine.split(" ")[1] ?? "";
  const name = /[?&]reply=([^&]+)/.exec(target)?.[1] ?? "length";
  const write = REPLIES[name] ?? REPLIES.length!;
  if (head.startLine.startsWith("HEAD ")) return reply.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Upstream: recording\r\nContent-Length: 5\r\n\r\n");
  write(head, reply);
}

/** One declarative file for both gateways. */
function configFor(upstreamPort: number, deadPort: number): unknown {
  const url = `http://127.0.0.1:${upstreamPort}`;
  return {
    _format_version: "3.0",
    services: [
      {
        name: "recording",
        url,
        routes: [
          { name: "plain", paths: ["/plain"] },
          { name: "jwt", paths: ["/jwt"], plugins: [{ name: "jwt" }] },
          { name: "key", paths: ["/key"], plugins: [{ name: "key-auth" }] },
          { name: "cors", paths: ["/cors"], plugins: [{ name: "cors", config: { origins: ["https://app.example"], credentials: true, max_age: 600, exposed_headers: ["X-Upstream"] } }] },
          { name: "limited", paths: ["/limited"], plugins: [{ name: "rate-limiting", config: { second: 2, limit_by: "ip" } }] },
          {
            name: "reqx",
            paths: ["/reqx"],
            plugins: [
              {
                name: "request-transformer",
                config: {
                  remove: { headers: ["x-drop"], querystring: ["secret"] },
                  rename: { headers: ["x-old:x-new"] },
                  replace: { headers: ["x-replaced:new value"] },
                  add: { headers: ["x-added:yes"] },
                  append: { headers: ["x-multi:two"] },
                },
              },
            ],
          },
          {
            name: "resx",
            paths: ["/resx"],
            plugins: [{ name: "response-transformer", config: { remove: { headers: ["x-internal"], json: ["internal"] }, add: { headers: ["x-served-by:gateway"], json: ["source:gateway"] } } }],
          },
          { name: "kept", paths: ["/kept"], strip_path: false, preserve_host: true },
          { name: "secure", paths: ["/secure"], protocols: ["https"] },
        ],
      },
      { name: "based", url: `${url}/base/`, routes: [{ name: "based", paths: ["/based"] }] },
      { name: "slow", url, read_timeout: 300, retries: 0, routes: [{ name: "slow", paths: ["/slow"] }] },
      { name: "down", url: `http://127.0.0.1:${deadPort}`, retries: 0, routes: [{ name: "down", paths: ["/down"] }] },
    ],
    consumers: [{ username: "alice", jwt_secrets: [{ key: "alice-iss", algorithm: "HS256", secret: JWT_SECRET }], keyauth_credentials: [{ key: API_KEY }] }],
  };
}

const request = (method: string, target: string, headers: string[] = [], body = "", version = "1.1") => `${method} ${target} HTTP/${version}\r\nHost: ${HOST}\r\n${headers.map((h) => `${h}\r\n`).join("")}\r\n${body}`;
const get = (target: string, ...headers: string[]) => request("GET", target, headers);

interface Case {
  name: string;
  steps: ClientStep[];
  /** One per request sent. */
  methods: string[];
  /** What the serve engine answers (the reference): a case whose answer is not this is a broken case. */
  statuses: number[];
  /** Run before each engine's turn. */
  before?: () => Promise<void>;
  /**
   * Where Bun.serve itself cannot do what the case asks: what the serve engine answers
   * instead, and why. The raw engine must answer `statuses`; the bytes are not compared.
   */
  bunServeLimit?: { statuses: number[]; why: string };
  /** Why only the client's bytes are compared: what reaches the upstream is a race on the serve engine. */
  clientOnly?: string;
  /**
   * Bun.serve refuses the request itself, before the gateway sees it, with its own bare answer
   * (`Connection: close`, no body): the statuses and the upstream's bytes are compared, and the
   * raw engine's answer must carry the gateway's JSON message instead.
   */
  bunRefuses?: string;
  /** Why the client's answers are compared without their framing (Content-Length or chunked), bodies decoded. */
  reframed?: string;
}

const one = (name: string, raw: string, status: number, method = raw.slice(0, raw.indexOf(" "))): Case => ({ name, steps: [raw], methods: [method], statuses: [status] });

/** Waits for the start of a second, so that a per-second window holds the whole case. */
async function freshSecond(): Promise<void> {
  while (Date.now() % 1000 > 200) await Bun.sleep(10);
}

// Signed once, before the cases are built: both engines get the very same token.
const token = await new SignJWT({ sub: "alice" }).setProtectedHeader({ alg: "HS256" }).setIssuer("alice-iss").setExpirationTime("1h").sign(new TextEncoder().encode(JWT_SECRET));

const CASES: Case[] = [
  one("no-plugin route, Content-Length answer", get("/plain/a?x=1"), 200),
  one("chunked answer", get("/plain/a?reply=chunked"), 200),
  one("chunked answer with trailers", get("/plain/a?reply=trailers", "TE: trailers"), 200),
  one("close-delimited answer", get("/plain/a?reply=close"), 200),
  one("204 answer", get("/plain/a?reply=204"), 204),
  one("304 answer", get("/plain/a?reply=304", 'If-None-Match: "v1"'), 304),
  one("HEAD", request("HEAD", "/plain/a"), 200),
  one("103 Early Hints before the final answer", get("/plain/a?reply=early"), 200),
  one("unsolicited 100 Continue before the final answer", get("/plain/a?reply=continue"), 200),
  {
    ...one("1 MiB Content-Length answer", get("/plain/a?reply=big"), 200),
    reframed: "Bun.serve sends a body still arriving chunked whatever Content-Length its Response carries; the raw engine keeps the upstream's length",
  },
  one("1 MiB chunked answer", get("/plain/a?reply=big-chunked"), 200),
  one("100 answer headers", get("/plain/a?reply=headers"), 200),
  one("three Set-Cookie headers", get("/plain/a?reply=cookies"), 200),
  one("client headers passed on, duplicates and case kept", get("/plain/h", "Accept: */*", "X-Custom: One", "x-custom: two", "Cookie: a=1", "Cookie: b=2", "User-Agent: parity/1"), 200),
  one("jwt, valid token", get("/jwt/me", `Authorization: Bearer ${token}`), 200),
  one("jwt, bad signature", get("/jwt/me", `Authorization: Bearer ${token.slice(0, -2)}${token.endsWith("AA") ? "BB" : "AA"}`), 401),
  one("jwt, no token", get("/jwt/me"), 401),
  one("key-auth, valid key", get("/key/me", `apikey: ${API_KEY}`), 200),
  one("key-auth, wrong key", get("/key/me", "apikey: nope"), 401),
  one("cors preflight", request("OPTIONS", "/cors/x", ["Origin: https://app.example", "Access-Control-Request-Method: POST", "Access-Control-Request-Headers: x-custom"]), 200),
  one("cors simple request", get("/cors/x", "Origin: https://app.example"), 200),
  ({
    name: "rate-limiting headers and the 429 past the limit",
    steps: [get("/limited/1"), { responses: 1 }, get("/limited/2"), { responses: 2 }, get("/limited/3")],
    methods: ["GET", "GET", "GET"],
    statuses: [200, 200, 429],
    before: freshSecond,
  }),
  one("request-transformer", get("/reqx/a?keep=1&secret=2", "X-Drop: gone", "X-Old: renamed", "X-Replaced: old value", "X-Multi: one"), 200),
  one("response-transformer", get("/resx/a?reply=json"), 200),
  one("strip_path with a service path", get("/based/sub/leaf?q=1"), 200),
  one("strip_path off, preserve_host", `GET /kept/x?y=1 HTTP/1.1\r\nHost: Client.Example:8080\r\n\r\n`, 200),
  one("POST with Content-Length", request("POST", "/plain/upload", ["Content-Type: text/plain", "Content-Length: 11"], "hello world"), 200),
  one("POST chunked", request("POST", "/plain/upload", ["Content-Type: text/plain", "Transfer-Encoding: chunked"], chunked(["hello", " world"])), 200),
  one("POST of 1 MiB", request("POST", "/plain/upload", ["Content-Type: application/octet-stream", `Content-Length: ${BIG}`], bigBody(BIG)), 200),
  ({
    name: "Expect: 100-continue",
    steps: [request("POST", "/plain/upload", ["Content-Length: 11", "Expect: 100-continue"]), { waitForBytes: 1000 }, "hello world"],
    methods: ["POST"],
    statuses: [200],
  }),
  // Bun.serve's parser refuses it (a bare 400) before the gateway's own collapsing of equal values could.
  {
    ...one("Content-Length list of equal values", request("POST", "/plain/upload", ["Content-Length: 5, 5"], "hello"), 400),
    bunRefuses: "Bun.serve refuses a Content-Length list before any handler runs",
  },
  one("HTTP/1.0 client", request("GET", "/plain/a", [], "", "1.0"), 200),
  one("HTTP/1.0 client, chunked answer", request("GET", "/plain/a?reply=chunked", [], "", "1.0"), 200),
  ({
    name: "HTTP/1.0 client with keep-alive",
    steps: [request("GET", "/plain/1", ["Connection: keep-alive"], "", "1.0"), { responses: 1 }, request("GET", "/plain/2", ["Connection: keep-alive"], "", "1.0")],
    methods: ["GET", "GET"],
    // The serve engine closes after the first answer, keep-alive asked or not.
    statuses: [200],
  }),
  ({
    name: "pipelined requests answered by the gateway itself",
    steps: [get("/nothing/1") + get("/plain/a%2Fb") + get("/secure/a")],
    methods: ["GET", "GET", "GET"],
    statuses: [404, 400, 426],
  }),
  ({
    name: "pipelined requests to the upstream",
    steps: [get("/plain/1") + request("HEAD", "/plain/2") + get("/plain/3?reply=chunked") + get("/plain/4?reply=204")],
    methods: ["GET", "HEAD", "GET", "GET"],
    statuses: [200, 200, 200, 204],
    bunServeLimit: {
      statuses: [],
      why: "uWS closes a connection, answering nothing, when a request arrives pipelined behind a response still pending (oven-sh/bun#33664, #38128, not in Bun 1.4.5)",
    },
  }),
  ({
    name: "keep-alive reuse, then Connection: close",
    steps: [get("/plain/1"), { responses: 1 }, get("/plain/2?reply=chunked"), { responses: 2 }, get("/plain/3", "Connection: close")],
    methods: ["GET", "GET", "GET"],
    statuses: [200, 200, 200],
  }),
  one("refused: encoded slash", get("/plain/a%2Fb"), 400),
  one("refused: GET with a body", request("GET", "/plain/a", ["Content-Length: 5"], "hello"), 400),
  one("refused: bad Host", `GET /plain/a HTTP/1.1\r\nHost: a..b\r\n\r\n`, 400),
  one("refused: a fragment in the target", get("/plain/x#/../admin/"), 400),
  {
    ...one("refused: a chunk size line ended by a bare LF", request("POST", "/plain/upload", ["Transfer-Encoding: chunked"], "5\nhello\r\n0\r\n\r\n"), 400),
    clientOnly: "Bun.serve runs the handler before it reads the broken chunk line, so the request head reaches the upstream or not by timing",
    bunRefuses: "Bun.serve answers the broken chunk line itself",
  },
  one("refused: no route", get("/nothing/here"), 404),
  one("refused: https-only route over http", get("/secure/a"), 426),
  one("upstream sends Content-Length and chunked", get("/plain/a?reply=length-and-chunked"), 200),
  one("upstream's bad chunk size in its first packet", get("/plain/a?reply=bad-chunk"), 502),
  one("upstream down", get("/down/a"), 502),
  one("upstream timeout", get("/slow/a?reply=hang"), 504),
];

/** Before the raw engine exists, "raw" runs the serve engine too (GATEWAY_PROXY_ENGINE is ignored). */
const RAW_ENGINE_BUILT = rawEngineBuilt();

let dir: string;
let upstream: RecordingUpstream;
const gateways = new Map<ProxyEngine, EngineGateway>();

/** What one engine did with a case: the client's bytes, then the upstream's, normalised. */
async function runCase(engine: ProxyEngine, testCase: Case): Promise<{ stream: string; client: string; upstream: string; statuses: number[] }> {
  const gateway = gateways.get(engine)!;
  await testCase.before?.();
  upstream.owner = engine;
  upstream.take();
  const result = await exchange(testCase.steps, { host: gateway.host, port: gateway.port, methods: testCase.methods });
  await upstream.settle(30);
  const client = `[client received]\n${canonicalStream(result.received, testCase.methods, testCase.reframed !== undefined)}\n[${result.closed ? "closed by the gateway" : "left open"}${result.timedOut ? ", timed out waiting for the answers" : ""}]\n`;
  // Connections are named in the order they appear within the case: whether Bun's fetch (the
  // path of requests with a body) reuses one from an earlier case is a race on either engine.
  const names = new Map<string, string>();
  const nameOf = (connection: string) => names.get(connection) ?? names.set(connection, `${String.fromCharCode(65 + names.size)}${connection.includes("another") ? " (another gateway's)" : ""}`).get(connection)!;
  const received = upstream.take();
  const upstreamSide = testCase.clientOnly ? [] : received.map(({ connection, bytes }) => `[upstream connection ${nameOf(connection)} received]\n${canonicalStream(bytes, "requests")}\n`);
  return { stream: client + upstreamSide.join(""), client, upstream: upstreamSide.join(""), statuses: result.statuses };
}

beforeAll(async () => {
  dir = tempDir("gateway-engine-parity-");
  upstream = await startRecordingUpstream(answer);
  const dead = net.createServer();
  await new Promise<void>((resolve) => dead.listen(0, "127.0.0.1", resolve));
  const deadPort = (dead.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => dead.close(() => resolve()));
  const configPath = join(dir, "gateway.json");
  writeFileSync(configPath, JSON.stringify(configFor(upstream.port, deadPort)));
  // The same port on two loopback addresses: what the gateways tell the upstream is the same.
  const first = await startEngineGateway(ENGINES[0]!, configPath, "127.0.0.1");
  gateways.set(first.engine, first);
  const second = await startEngineGateway(ENGINES[1]!, configPath, "127.0.0.2", first.port);
  gateways.set(second.engine, second);
}, 30_000);

afterAll(async () => {
  await Promise.all([...gateways.values()].map((gateway) => gateway.stop()));
  await upstream?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe(`serve and raw engines, byte for byte (normalised: ${VOLATILE_FIELDS.join(", ")}; chunk boundaries; field name case, order and repetition)`, () => {
  for (const testCase of CASES) {
    test(testCase.name, async () => {
      const serve = await runCase("serve", testCase);
      const raw = await runCase("raw", testCase);
      if (testCase.bunServeLimit) {
        expect(serve.statuses).toEqual(testCase.bunServeLimit.statuses);
        expect(raw.statuses).toEqual(RAW_ENGINE_BUILT ? testCase.statuses : testCase.bunServeLimit.statuses);
        return;
      }
      expect(serve.statuses).toEqual(testCase.statuses);
      if (testCase.bunRefuses) {
        expect(raw.statuses).toEqual(testCase.statuses);
        expect(serve.client).toMatch(/^\[client received\]\nHTTP\/1\.1 400 Bad Request\r\nconnection: close\r\n\r\n\n\[closed by the gateway\]/i);
        expect(raw.client).toMatch(/\r\n\r\n\{"message":"invalid HTTP request: [^"]+"\}\n\[closed by the gateway\]/);
        expect(raw.upstream).toBe(serve.upstream);
        return;
      }
      const diff = diffStreams(serve.stream, raw.stream, ["serve engine", "raw engine"]);
      if (diff !== "") throw new Error(`the engines differ:\n${diff}`);
    });
  }
});
