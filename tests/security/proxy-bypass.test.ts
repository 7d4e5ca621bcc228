// Attacks on the proxy path, with upstreams other people wrote: stock nginx with a protected
// location and a protected virtual host, and a plain Node `http` server that trusts
// X-Consumer-ID the way CGI-style applications read it. For each class of the hardening issue:
// the attack, the exact status, and proof that the protected part was not reached and that the
// identity the upstream sees is the gateway's.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { sign, signingKey, type SigningKey } from "../support/auth.ts";
import { type TestGateway, startTestGateway } from "../support/gateway.ts";
import { describeWithNginx, parseRawResponse, rawRequest, type RunningNginx, startNginx } from "../support/nginx.ts";
import { type NodeEcho, type NodeUpstream, startNodeUpstream } from "../support/node-upstream.ts";

const SECRET = "ADMIN-SECRET";
const UNAUTHORIZED = '{"message":"Unauthorized"}';
const INVALID_PATH = JSON.stringify({
  message: "invalid request path: encoded '/' or '\\', control characters, malformed percent-encoding, '..' above the root and dot segments with ';' parameters are refused",
});
const INVALID_HOST = '{"message":"invalid Host header: expected host[:port]"}';
const BODY_ON_GET = '{"message":"a GET or HEAD request must not carry a body (Content-Length or Transfer-Encoding)"}';

let hs: SigningKey;
let token: string;
let gateway: TestGateway;

/** One raw request to the gateway (byte-exact target and headers), parsed. */
async function send(head: string, body = ""): Promise<{ status: number; body: string; headers: Record<string, string> }> {
  const raw = await rawRequest(gateway.proxy.port, `${head}\r\n\r\n${body}`, 3000, "latin1");
  const parsed = parseRawResponse(raw);
  if (!parsed) throw new Error(`no response to ${JSON.stringify(head)}: ${JSON.stringify(raw)}`);
  return parsed;
}

const get = (target: string, host = "127.0.0.1", extra = "") => send(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close${extra}`);

beforeAll(async () => {
  hs = await signingKey("HS256");
  gateway = startTestGateway();
  const alice = gateway.store.create("consumers", { username: "alice" });
  gateway.store.create("jwt_secrets", { key: "alice-key", ...hs.credential }, { kind: "consumers", id: alice.id });
  token = await sign(hs, { iss: "alice-key", sub: "alice-sub" });
});
afterAll(async () => {
  await gateway.close();
});

describeWithNginx("path and host: nginx's protected location and virtual host stay behind jwt", () => {
  let nginx: RunningNginx;
  const accessLog = () => readFileSync(join(nginx.dir, "access.log"), "utf8");
  /** What nginx logged after `before`, once it holds `awaited` (or after 1 s). */
  async function loggedSince(before: string, awaited: string): Promise<string> {
    for (let i = 0; i < 100 && !accessLog().slice(before.length).includes(awaited); i++) await Bun.sleep(10);
    return accessLog().slice(before.length);
  }
  /**
   * The log once nginx has written every line it owes: it logs after it has answered, so a
   * line for the previous test's request, or for a request that leaked, can come later.
   */
  async function settledLog(): Promise<string> {
    let last = accessLog();
    for (let i = 0; i < 20; i++) {
      await Bun.sleep(50);
      const now = accessLog();
      if (now === last) return now;
      last = now;
    }
    return last;
  }

  beforeAll(async () => {
    nginx = await startNginx(`
      default_type text/plain;
      location /admin/ { return 200 "${SECRET} uri=$uri\\n"; }
      location / {
        if ($host = "admin.example") { return 200 "${SECRET} vhost uri=$uri\\n"; }
        return 200 "public uri=$uri\\n";
      }`);
    const store = gateway.store;
    store.create("services", { name: "web", url: nginx.url });
    store.create("routes", { name: "site", service: { name: "web" }, paths: ["/"], strip_path: false, preserve_host: true });
    const admin = store.create("routes", { name: "admin", service: { name: "web" }, paths: ["/admin"], strip_path: false });
    store.create("plugins", { name: "jwt", route: { id: admin.id } });
    const vhost = store.create("routes", { name: "admin-vhost", service: { name: "web" }, hosts: ["admin.example"], paths: ["/"], strip_path: false, preserve_host: true });
    store.create("plugins", { name: "jwt", route: { id: vhost.id } });
  });
  afterAll(async () => {
    await nginx.stop();
  });

  describe("one canonical path: what nginx would resolve into /admin/ is routed to /admin", () => {
    const routedToAdmin = ["/admin/", "//admin/", "///admin//x", "/%61dmin/", "/adm%69n/", "/./admin/", "/x/../admin/", "/x/%2e%2e/admin/", "/x/.%2E/admin/", "/%2e/admin/"];
    for (const target of routedToAdmin) {
      test(`${target} without a token → 401, nginx's /admin/ not reached`, async () => {
        const answer = await get(target);
        expect([answer.status, answer.body]).toEqual([401, UNAUTHORIZED]);
      });
      test(`${target} with a token → 200 from nginx's /admin/ (the canonical path is what is forwarded)`, async () => {
        const answer = await get(target, "127.0.0.1", `\r\nAuthorization: Bearer ${token}`);
        expect(answer.status).toBe(200);
        expect(answer.body).toStartWith(`${SECRET} uri=/admin/`);
      });
    }
    const refused = ["/x/..%2fadmin/", "/%2fadmin/", "/admin%2F", "/x/%2e%2e%2fadmin/", "/x/..%5cadmin/", "/x/..;/admin/", "/admin;x/", "/admin%3bx/", "/x/%00/admin/", "/%zz/admin/"];
    for (const target of refused) {
      test(`${target} → 400 naming the path rule, nginx not asked`, async () => {
        const before = await settledLog();
        const answer = await get(target);
        expect([answer.status, answer.body]).toEqual([400, INVALID_PATH]);
        expect(await settledLog()).toBe(before);
      });
    }
    test("a double-encoded name is not decoded twice: /%2561dmin/ is nginx's public /%61dmin/", async () => {
      const answer = await get("/%2561dmin/");
      expect([answer.status, answer.body]).toEqual([200, "public uri=/%61dmin/\n"]);
    });
  });

  describe("one canonical host: case, trailing dot and port do not leave the protected host", () => {
    for (const host of ["admin.example", "ADMIN.EXAMPLE", "Admin.Example.", "admin.example.", "admin.example:8000", "ADMIN.example.:80"]) {
      test(`Host: ${host} without a token → 401`, async () => {
        const answer = await get("/anything", host);
        expect([answer.status, answer.body]).toEqual([401, UNAUTHORIZED]);
      });
    }
    for (const host of ["a@admin.example", "admin.example@x", "admin .example", "[::1", "admin.example:99999", "admin..example", "%61dmin.example", "x".repeat(300)]) {
      test(`Host: ${JSON.stringify(host.slice(0, 40))} → 400`, async () => {
        const answer = await get("/admin/", host);
        expect([answer.status, answer.body]).toEqual([400, INVALID_HOST]);
      });
    }
    test("two Host headers → 400", async () => {
      const answer = await send("GET / HTTP/1.1\r\nHost: open.example\r\nHost: admin.example\r\nConnection: close");
      expect([answer.status, answer.body]).toEqual([400, INVALID_HOST]);
    });
    test("absolute-form target: routed and forwarded by the Host Bun keeps, the authority never reaches nginx", async () => {
      // Bun.serve drops the authority of an absolute-form target (README "Security"); the
      // upstream gets origin-form with the Host the gateway routed on, so both read one host.
      const answer = await send("GET http://admin.example/x HTTP/1.1\r\nHost: open.example\r\nConnection: close");
      expect([answer.status, answer.body]).toEqual([200, "public uri=/x\n"]);
    });
  });

  describe("framing: a bodiless request never carries framing of its own", () => {
    const smuggled = "GET /admin/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    for (const [name, head, body] of [
      ["GET with Content-Length and a request as its body", `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${smuggled.length}`, smuggled],
      ["HEAD with Content-Length", `HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${smuggled.length}`, smuggled],
      ["GET with Transfer-Encoding: chunked", "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked", `${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`],
    ] as const) {
      test(`${name} → 400, and nginx never sees a request for /admin/`, async () => {
        const before = accessLog();
        const answer = await send(`${head}\r\nConnection: close`, body);
        expect(answer.status).toBe(400);
        if (!head.startsWith("HEAD")) expect(answer.body).toBe(BODY_ON_GET);
        // The next request over the gateway's pooled connection is read as a request of its own.
        expect((await get("/after")).body).toBe("public uri=/after\n");
        // nginx writes its log line after it has sent the response: wait for it.
        const logged = await loggedSince(before, "GET /after ");
        expect(logged).not.toContain("/admin/");
        expect(logged).toContain("GET /after ");
      });
    }
    test("GET with Content-Length: 0 is forwarded without it", async () => {
      const answer = await send("GET /zero HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close");
      expect([answer.status, answer.body]).toEqual([200, "public uri=/zero\n"]);
    });
  });

  describe("pipelined requests on one client connection", () => {
    const pipelined = (...targets: string[]) =>
      targets.map((target, i) => `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${i === targets.length - 1 ? "Connection: close\r\n" : ""}\r\n`).join("");
    const statusesOf = (raw: string) => [...raw.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));

    test("requests the gateway answers itself are each answered, in order", async () => {
      const raw = await rawRequest(gateway.proxy.port, pipelined("/admin/", "/%2fx", "/admin/x"), 3000, "latin1");
      expect(statusesOf(raw)).toEqual([401, 400, 401]);
    });
    test("behind a forwarded request: what comes back is an in-order prefix and the connection closes, never a hang", async () => {
      // Bun.serve 1.4.5 closes a connection on which a request arrives while the response
      // ahead of it is pending, writing nothing (oven-sh/bun#38128): the gateway cannot answer
      // there, and it frees the upstream exchange of the request whose client went away.
      const started = performance.now();
      const raw = await rawRequest(gateway.proxy.port, pipelined("/p1", "/admin/", "/p3"), 3000, "latin1");
      expect(performance.now() - started).toBeLessThan(2000);
      const expected = [200, 401, 200];
      const got = statusesOf(raw);
      expect(got).toEqual(expected.slice(0, got.length));
      if (got.length > 0) expect(raw).toContain("public uri=/p1");
      expect(raw).not.toContain(SECRET);
    });
  });
});

describe("identity headers belong to the gateway (Node upstream reading headers as CGI does)", () => {
  let node: NodeUpstream;
  let boss: { id: string };
  let alice: { id: string };

  beforeAll(async () => {
    const store = gateway.store;
    boss = store.create("consumers", { username: "boss" }) as { id: string };
    alice = store.get("consumers", "alice") as { id: string };
    node = await startNodeUpstream(boss.id);
    store.create("services", { name: "app", url: node.url });
    const guarded = store.create("routes", { name: "app", service: { name: "app" }, paths: ["/app"] });
    store.create("plugins", { name: "jwt", route: { id: guarded.id }, config: { claims_to_headers: { sub: "X-User-Id" } } });
    store.create("routes", { name: "app-open", service: { name: "app" }, paths: ["/open-app"] });
  });
  afterAll(async () => {
    await node.stop();
  });

  async function echo(path: string, headers: Record<string, string>, init: RequestInit = {}): Promise<NodeEcho> {
    const response = await gateway.request(path, { ...init, headers });
    expect(response.status).toBe(200);
    return (await response.json()) as NodeEcho;
  }
  const bearer = () => ({ authorization: `Bearer ${token}` });
  const names = (e: NodeEcho) => e.rawHeaders.map(([name]) => name.toLowerCase());

  test("X_Consumer_ID spelt with underscores is dropped: the CGI view is alice, not the trusted consumer", async () => {
    const e = await echo("/app", { ...bearer(), X_Consumer_ID: boss.id, "X-Consumer_Username": "boss" });
    expect(e.trusted).toBe(false);
    expect(e.cgi.HTTP_X_CONSUMER_ID).toBe(alice.id);
    expect(e.cgi.HTTP_X_CONSUMER_USERNAME).toBe("alice");
    expect(names(e).filter((name) => name.includes("_"))).toEqual([]);
  });

  test("Connection: X-Consumer-ID cannot remove the gateway's header to let an underscore spelling through", async () => {
    const e = await echo("/app", { ...bearer(), connection: "X-Consumer-ID, X-Consumer-Username", X_Consumer_ID: boss.id });
    expect(e.trusted).toBe(false);
    expect(e.rawHeaders.filter(([name]) => name.toLowerCase() === "x-consumer-id")).toEqual([["x-consumer-id", alice.id]]);
    expect(e.cgi.HTTP_X_CONSUMER_USERNAME).toBe("alice");
  });

  test("Connection naming every header the gateway sets removes none of them", async () => {
    const listed = "X-Credential-Identifier, X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host, X-Forwarded-Port, X-Real-IP, X-Request-Id, X-User-Id";
    const e = await echo("/app", { ...bearer(), connection: listed });
    expect(e.cgi.HTTP_X_CREDENTIAL_IDENTIFIER).toBe("alice-key");
    expect(e.cgi.HTTP_X_FORWARDED_FOR).toBe("127.0.0.1");
    expect(e.cgi.HTTP_X_FORWARDED_PROTO).toBe("http");
    expect(e.cgi.HTTP_X_FORWARDED_HOST).toBe("127.0.0.1");
    expect(e.cgi.HTTP_X_FORWARDED_PORT).toBe(String(gateway.proxy.port));
    expect(e.cgi.HTTP_X_REAL_IP).toBe("127.0.0.1");
    expect(e.cgi.HTTP_X_REQUEST_ID).toBeDefined();
    expect(e.cgi.HTTP_X_USER_ID).toBe("alice-sub");
  });

  test("a claims_to_headers header sent by the client, in either spelling, is replaced by the claim", async () => {
    const e = await echo("/app", { ...bearer(), "X-User-Id": "boss-sub", X_User_Id: "boss-sub" });
    expect(e.rawHeaders.filter(([name]) => name.toLowerCase().replaceAll("_", "-") === "x-user-id")).toEqual([["x-user-id", "alice-sub"]]);
  });

  const spoofed = {
    "X-Consumer-ID": "boss",
    X_Consumer_ID: "boss",
    "X-Anonymous-Consumer": "false",
    "X-Consumer-Groups": "admins",
    "X-Authenticated-Groups": "admins",
    "X-Credential-Identifier": "boss-key",
    "X-Forwarded-Prefix": "/evil",
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-Proto": "https",
    "X-Real-IP": "10.9.9.9",
    X_Real_IP: "10.9.9.9",
    X_Forwarded_For: "10.9.9.9",
    X_Request_Id: "forged",
  };
  for (const [path, init] of [
    ["/open-app", {}],
    ["/open-app", { method: "POST", body: "a body takes the fetch path" }],
  ] as const) {
    test(`a route with no plugins (${init.method ?? "GET"}) strips every client-sent identity and forwarding header`, async () => {
      const e = await echo(path, spoofed, init);
      expect(e.trusted).toBe(false);
      const seen = names(e);
      for (const name of ["x-consumer-id", "x-anonymous-consumer", "x-consumer-groups", "x-authenticated-groups", "x-credential-identifier"]) {
        expect(seen).not.toContain(name);
      }
      expect(e.cgi.HTTP_X_FORWARDED_PREFIX).toBe("/open-app");
      expect(seen.filter((name) => name.includes("_"))).toEqual([]);
      expect(e.cgi.HTTP_X_FORWARDED_HOST).toBe("127.0.0.1");
      expect(e.cgi.HTTP_X_FORWARDED_PROTO).toBe("http");
      expect(e.cgi.HTTP_X_REAL_IP).toBe("127.0.0.1");
      expect(e.cgi.HTTP_X_FORWARDED_FOR).toBe("127.0.0.1");
    });
  }

  test("a bodiless POST reaches Node framed as content-length: 0, a GET with no framing header", async () => {
    const post = await echo("/open-app", { "content-length": "0" }, { method: "POST" });
    expect(post.rawHeaders.filter(([name]) => /^(content-length|transfer-encoding)$/i.test(name))).toEqual([["content-length", "0"]]);
    const plain = await echo("/open-app", {});
    expect(plain.rawHeaders.filter(([name]) => /^(content-length|transfer-encoding)$/i.test(name))).toEqual([]);
  });
});
