// The admin listener against what a client puts in Host, Origin and Sec-Fetch-Site (security
// hardening item 7): every Host gets a 4xx or an answer, never a 500; without an admin token a
// browser on another site, or on a rebound DNS name, changes nothing; curl, the CLI, the
// Swagger UI's own requests and token holders keep working. Raw requests go over a TCP socket,
// since fetch would fix the Host it sends.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { createAdminApp } from "../../src/admin/server.ts";
import { HttpEntityClient } from "../../src/cli/entity-client.ts";
import { type AdminHarness, listenAdmin, openAdmin } from "../admin-harness.ts";

interface RawReply {
  status: number;
  head: string;
  body: any;
}

/** Sends `head` (and closes) over a new loopback connection; the reply as sent. */
function rawRequest(port: number, head: Buffer | string): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("end", () => {
      const text = Buffer.concat(chunks).toString("latin1");
      const split = text.indexOf("\r\n\r\n");
      const head = text.slice(0, split);
      const rest = text.slice(split + 4);
      let body: unknown = rest;
      try {
        body = JSON.parse(rest);
      } catch {
        // Not JSON (a page, an asset, or Bun's own empty 400): kept as text.
      }
      resolve({ status: Number(head.split(" ")[1]), head, body });
    });
    socket.write(head);
  });
}

/** A request line, a Host header line unless `host` is null, and a form body for POST. */
function requestHead(method: string, path: string, host: string | Buffer | null, version = "1.1"): Buffer {
  const body = method === "POST" ? "username=via-bad-host" : "";
  return Buffer.concat([
    Buffer.from(`${method} ${path} HTTP/${version}\r\n`),
    host === null ? Buffer.alloc(0) : Buffer.concat([Buffer.from("Host: "), Buffer.from(host), Buffer.from("\r\n")]),
    Buffer.from(`Connection: close\r\n${body ? `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n` : ""}\r\n${body}`),
  ]);
}

const CHARACTERS = "(letters, digits, '-', '_' and '.'; an internationalised name goes in its xn-- form)";
const BAD_HOSTS: [string, string | Buffer, string][] = [
  ["userinfo", "a@b", `'@' cannot appear in a host name ${CHARACTERS}`],
  ["an unclosed IPv6 literal", "[::1", "'[' without its ']'"],
  ["a space", "exa mple", `U+0020 cannot appear in a host name ${CHARACTERS}`],
  ["a lone percent sign", "%", `'%' cannot appear in a host name ${CHARACTERS}`],
  ["percent-encoding", "foo%41", `'%' cannot appear in a host name ${CHARACTERS}`],
  ["an IPv6 address without brackets", "::::", "an IPv6 address goes in brackets, as in [::1]:8001"],
  ["300 characters", "x".repeat(300), "a host name is at most 253 characters"],
  ["a 64-character label", `${"x".repeat(64)}.example`, "each label of a host name is at most 63 characters"],
  ["a non-ASCII byte", Buffer.from([0x68, 0xe9, 0x6c, 0x6c, 0x6f]), `U+00E9 cannot appear in a host name ${CHARACTERS}`],
  ["UTF-8 bytes", Buffer.from("héllo", "utf8"), `U+00C3 cannot appear in a host name ${CHARACTERS}`],
  ["an empty value", "", "empty"],
  ["a list", "a, b", "sent more than once, or holds a list"],
  ["a slash", "a/b", `'/' cannot appear in a host name ${CHARACTERS}`],
  ["a question mark", "a?b", `'?' cannot appear in a host name ${CHARACTERS}`],
  ["a backslash", "a\\b", `'\\' cannot appear in a host name ${CHARACTERS}`],
  ["two dots in a row", "a..b", "a host name has no empty labels (a leading dot, or two dots in a row)"],
  ["a port out of range", "127.0.0.1:99999", "the port is not a number from 0 to 65535"],
  ["a port that is not a number", "127.0.0.1:abc", "the port is not a number from 0 to 65535"],
  ["no name before the port", ":8001", "no host name before the port"],
  ["something that is not IPv6 in brackets", "[zz]", "what is between '[' and ']' is not an IPv6 address"],
  ["an IPv6 zone", "[fe80::1%25eth0]", "what is between '[' and ']' is not an IPv6 address"],
  ["an IPvFuture literal", "[v1.x]", "what is between '[' and ']' is not an IPv6 address"],
  ["junk after the brackets", "[::1]x", "only ':port' may follow ']'"],
  ["a decimal IPv4 address", "2130706433", "a host name that ends in a number must be an IPv4 address a.b.c.d (each 0-255, no leading zeros)"],
  ["a hexadecimal IPv4 part", "0x7f.1", "a host name that ends in a number must be an IPv4 address a.b.c.d (each 0-255, no leading zeros)"],
  ["a short IPv4 address", "127.1", "a host name that ends in a number must be an IPv4 address a.b.c.d (each 0-255, no leading zeros)"],
  ["an octet over 255", "999.1.1.1", "a host name that ends in a number must be an IPv4 address a.b.c.d (each 0-255, no leading zeros)"],
  ["an invalid punycode label", "xn--a", "not a host name a URL can hold (an xn-- label that is not valid punycode?)"],
];
const PATHS = [
  ["GET", "/docs"],
  ["GET", "/docs/json"],
  ["GET", "/docs/assets/swagger-ui.css"],
  ["GET", "/services"],
  ["POST", "/consumers"],
] as const;

// Answers every valid Host: names a URL parser and DNS take, IPv4, IPv6, ports, a trailing dot.
const VALID_HOSTS = ["a", "ab", "localhost", "LOCALHOST:80", "evil.example", "evil.example.", "127.0.0.1.nip.io", "a_b", "-a", "xn--nxasmq6b", "[::1]:8001", "[0:0:0:0:0:0:0:1]", "192.168.1.5:", "localhost:0080"];

const REBINDING = (host: string) =>
  `Forbidden: Host '${host}' is not a loopback name; without an admin token the admin API answers only requests to localhost, 127.0.0.1 or [::1] (a defence against DNS rebinding): start the gateway with --admin-token to reach the admin API from elsewhere`;
const CROSS_SITE = (which: string) =>
  `Forbidden: a request from another site's web page (${which}); without an admin token the admin API takes browser requests only from its own pages at /docs (a defence against cross-site request forgery): start the gateway with --admin-token to reach the admin API from elsewhere`;

describe("Host header", () => {
  let admin: AdminHarness;
  let listener: Awaited<ReturnType<typeof listenAdmin>>;
  beforeAll(async () => {
    admin = openAdmin();
    listener = await listenAdmin(admin);
  });
  afterAll(async () => {
    await listener.server.stop(1000);
    admin.close();
  });

  test.each(BAD_HOSTS)("%s (%p) → 400 naming the Host header, on the docs and on the API, and nothing is created", async (_, host, why) => {
    const before = admin.state();
    for (const [method, path] of PATHS) {
      for (const version of ["1.0", "1.1"]) {
        const reply = await rawRequest(listener.server.port, requestHead(method, path, host, version));
        expect({ method, path, version, status: reply.status, body: reply.body }).toEqual({ method, path, version, status: 400, body: { message: `invalid Host header: ${why}` } });
        expect(reply.head.toLowerCase()).toContain("content-type: application/json; charset=utf-8");
      }
    }
    expect(admin.state()).toBe(before);
  });

  test("no Host: HTTP/1.0 → 400 JSON 'missing'; HTTP/1.1 → Bun's own 400, before the app", async () => {
    for (const [method, path] of PATHS) {
      expect(await rawRequest(listener.server.port, requestHead(method, path, null, "1.0"))).toMatchObject({ status: 400, body: { message: "invalid Host header: missing" } });
      expect((await rawRequest(listener.server.port, requestHead(method, path, null, "1.1"))).status).toBe(400);
    }
    expect(admin.core.store.count("consumers")).toBe(0);
  });

  test("two Host headers → 400", async () => {
    const head = "GET /services HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n";
    expect(await rawRequest(listener.server.port, head)).toMatchObject({ status: 400, body: { message: "invalid Host header: sent more than once, or holds a list" } });
  });

  test.each(VALID_HOSTS)("Host %p: the documentation answers 200, even to a cross-site request", async (host) => {
    for (const path of ["/docs", "/docs/json", "/docs/assets/swagger-ui-bundle.js"]) {
      const reply = await rawRequest(listener.server.port, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nOrigin: http://evil.example\r\nSec-Fetch-Site: cross-site\r\nConnection: close\r\n\r\n`);
      expect({ host, path, status: reply.status }).toEqual({ host, path, status: 200 });
    }
  });

  test("a Host under 4 characters routes like any other (Elysia would read the path from the 12th character of the URL)", async () => {
    for (const host of ["a", "ab", "a:1"]) {
      const reply = await rawRequest(listener.server.port, `GET /docs/json HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      expect(reply.status).toBe(200);
      expect(reply.head.toLowerCase()).toContain("content-type: application/json");
    }
  });

  test("with an admin token the Host is checked first: a bad one is 400, not 401", async () => {
    const guarded = openAdmin({ adminToken: "host-test-token" });
    const tokenListener = await listenAdmin(guarded);
    try {
      for (const [, host, why] of BAD_HOSTS.slice(0, 6)) {
        const reply = await rawRequest(tokenListener.server.port, requestHead("POST", "/consumers", host));
        expect(reply).toMatchObject({ status: 400, body: { message: `invalid Host header: ${why}` } });
      }
      expect(guarded.core.store.count("consumers")).toBe(0);
    } finally {
      await tokenListener.server.stop(1000);
      guarded.close();
    }
  });
});

describe("without an admin token: DNS rebinding and cross-site requests", () => {
  let admin: AdminHarness;
  let listener: Awaited<ReturnType<typeof listenAdmin>>;
  let own = "";
  beforeAll(async () => {
    admin = openAdmin();
    listener = await listenAdmin(admin);
    own = listener.base;
    await listener.call("POST", "/consumers", { username: "alice" });
  });
  afterAll(async () => {
    await listener.server.stop(1000);
    admin.close();
  });

  // A request as a browser's page would send it: JSON and form writes, a read, a delete.
  const ATTEMPTS = [
    ["POST", "/consumers", '{"username":"evil"}', "application/json"],
    ["POST", "/consumers", "username=evil", "application/x-www-form-urlencoded"],
    ["POST", "/consumers/alice/jwt", "algorithm=HS256", "application/x-www-form-urlencoded"],
    ["GET", "/consumers", undefined, undefined],
    ["DELETE", "/consumers/alice", undefined, undefined],
  ] as const;

  async function expectRefused(headers: Record<string, string>, message: string): Promise<void> {
    const before = admin.state();
    for (const [method, path, body, type] of ATTEMPTS) {
      const response = await fetch(own + path, { method, body, headers: { ...headers, ...(type ? { "content-type": type } : {}) } });
      expect({ method, path, status: response.status, body: await response.json() }).toEqual({ method, path, status: 403, body: { message } });
    }
    expect(admin.state()).toBe(before);
    expect((await listener.call("GET", "/consumers")).body.data.map((c: { username: string }) => c.username)).toEqual(["alice"]);
  }

  test.each(["evil.example", "evil.example:8001", "127.0.0.1.nip.io", "localhost.evil.example", "192.168.1.5", "[::ffff:7f00:1]", "0.0.0.0", "[::]"])(
    "Host %p (not loopback: a rebound name, another address) → 403 explaining DNS rebinding and --admin-token",
    async (host) => {
      const canonical = new URL(`http://${host}`).host;
      await expectRefused({ host }, REBINDING(canonical));
    },
  );

  test("a rebinding page's own same-origin request (Origin and Host agree on the foreign name) → 403", async () => {
    await expectRefused({ host: "evil.example:8001", origin: "http://evil.example:8001", "sec-fetch-site": "same-origin" }, REBINDING("evil.example:8001"));
  });

  test.each([
    ["another site", () => "http://evil.example"],
    ["another port of this address", () => "http://127.0.0.1:1"],
    ["https on this listener's address", () => `https://127.0.0.1:${listener.server.port}`],
    ["another name of this listener", () => `http://localhost:${listener.server.port}`],
    ["a sandboxed or file: page (null)", () => "null"],
    ["something that is not an origin", () => "not a url"],
  ])("Origin of %s → 403 cross-site", async (_, origin) => {
    await expectRefused({ origin: origin() }, CROSS_SITE(`its Origin is not ${own}`));
  });

  test.each(["cross-site", "same-site", "whatever"])("Sec-Fetch-Site: %s → 403 cross-site", async (site) => {
    await expectRefused({ "sec-fetch-site": site }, CROSS_SITE("its Sec-Fetch-Site is not same-origin"));
  });

  test("a CORS preflight from another origin gets a 403 and no Access-Control-Allow-* header", async () => {
    const response = await fetch(`${own}/consumers`, {
      method: "OPTIONS",
      headers: { origin: "http://evil.example", "access-control-request-method": "POST", "access-control-request-headers": "content-type", "sec-fetch-site": "cross-site" },
    });
    expect(response.status).toBe(403);
    expect([...response.headers.keys()].filter((name) => name.startsWith("access-control-"))).toEqual([]);
  });

  test.each(["localhost", "app.localhost", "127.0.0.1", "127.1.2.3", "[::1]", "[0:0:0:0:0:0:0:1]", "localhost."])("Host %p (loopback) is served", async (host) => {
    const response = await fetch(`${own}/services`, { headers: { host } });
    expect(response.status).toBe(200);
  });

  test("curl-like: a raw request with no Origin and no Sec-Fetch-* creates the consumer", async () => {
    const body = "username=from-curl";
    const reply = await rawRequest(
      listener.server.port,
      `POST /consumers HTTP/1.1\r\nHost: 127.0.0.1:${listener.server.port}\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    expect(reply).toMatchObject({ status: 201, body: { username: "from-curl" } });
  });

  test("the CLI's HTTP client (Bun's fetch: no Origin, no Sec-Fetch-*) creates, lists and deletes", async () => {
    const client = new HttpEntityClient(own, undefined);
    expect((await client.create("consumers", { username: "from-cli" })).username).toBe("from-cli");
    expect((await client.list("consumers")).map((c) => c.username)).toContain("from-cli");
    await client.delete("consumers", "from-cli");
    expect((await client.list("consumers")).map((c) => c.username)).not.toContain("from-cli");
  });

  test("a same-origin browser request (Origin = this listener, Sec-Fetch-Site: same-origin) creates the consumer", async () => {
    const response = await fetch(`${own}/consumers`, {
      method: "POST",
      headers: { origin: own, "sec-fetch-site": "same-origin", "sec-fetch-mode": "cors", "content-type": "application/json" },
      body: JSON.stringify({ username: "from-swagger-ui" }),
    });
    expect(response.status).toBe(201);
    // Over [::1] by name: the origin is the Host's, brackets and all.
    const v6 = await fetch(`${own}/consumers`, {
      method: "POST",
      headers: { host: "[::1]:8001", origin: "http://[::1]:8001", "sec-fetch-site": "same-origin", "content-type": "application/json" },
      body: JSON.stringify({ username: "from-swagger-ui-v6" }),
    });
    expect(v6.status).toBe(201);
    // A page the user opened by typing the address.
    expect((await fetch(`${own}/consumers/alice`, { headers: { "sec-fetch-site": "none", "sec-fetch-mode": "navigate" } })).status).toBe(200);
  });

  test("the address the listener is bound to is a Host it accepts, loopback or not", async () => {
    const app = createAdminApp(admin.deps, "0.0.0.0");
    const bound = await app.handle(new Request("http://0.0.0.0:8001/services", { headers: { host: "0.0.0.0:8001" } }));
    expect(bound.status).toBe(200);
    const other = await app.handle(new Request("http://192.168.1.5:8001/services", { headers: { host: "192.168.1.5:8001" } }));
    expect({ status: other.status, body: await other.json() }).toEqual({ status: 403, body: { message: REBINDING("192.168.1.5:8001") } });
  });
});

describe("with an admin token: the token is the protection", () => {
  const TOKEN = "listener-test-token";
  let admin: AdminHarness;
  let listener: Awaited<ReturnType<typeof listenAdmin>>;
  beforeAll(async () => {
    admin = openAdmin({ adminToken: TOKEN });
    listener = await listenAdmin(admin);
  });
  afterAll(async () => {
    await listener.server.stop(1000);
    admin.close();
  });
  const foreign = { host: "admin.example.net", origin: "http://evil.example", "sec-fetch-site": "cross-site", "content-type": "application/json" };

  test("a valid token works from any Host and any Origin", async () => {
    const response = await fetch(`${listener.base}/consumers`, { method: "POST", headers: { ...foreign, authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ username: "remote" }) });
    expect(response.status).toBe(201);
    expect(admin.core.store.count("consumers")).toBe(1);
  });

  test("the same request without the token is a 401 and creates nothing", async () => {
    const response = await fetch(`${listener.base}/consumers`, { method: "POST", headers: foreign, body: JSON.stringify({ username: "evil" }) });
    expect(response.status).toBe(401);
    expect(admin.core.store.count("consumers")).toBe(1);
  });

  test("a CORS preflight gets no Access-Control-Allow-* header, so a page cannot send the token cross-site", async () => {
    const response = await fetch(`${listener.base}/consumers`, {
      method: "OPTIONS",
      headers: { origin: "http://evil.example", "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" },
    });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect([...response.headers.keys()].filter((name) => name.startsWith("access-control-"))).toEqual([]);
  });
});
