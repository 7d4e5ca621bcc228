// request-transformer on what the upstream is asked (a real Node `http` upstream records the
// request line as it arrived): Kong 3.x's querystring table, the order of operations and its
// interplay with jwt/key-auth hide_credentials, `http_method`, `replace.uri`, the WebSocket
// handshake; refusals on write (admin API and declarative file).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { checkDeclarative } from "../../src/config/check.ts";
import { parseDeclarative } from "../../src/config/declarative.ts";
import { builtinPlugins } from "../../src/gateway.ts";
import { type AdminHarness, openAdmin } from "../../tests/admin-harness.ts";
import { sign, signingKey } from "../../tests/support/auth.ts";
import { type TestGateway, startTestGateway } from "../../tests/support/gateway.ts";
import { type NodeEcho, type NodeUpstream, startNodeUpstream } from "../../tests/support/node-upstream.ts";
import { startByteRecorder, talk } from "../../tests/support/raw-socket.ts";
import { startUpstream } from "../../tests/support/upstream.ts";
import { startBunWebSocketUpstream } from "../../tests/support/websocket-upstreams.ts";
import { rawUpgradeHead } from "../../tests/support/websocket-client.ts";

type Plugins = { name: string; config?: Record<string, unknown> }[];

let node: NodeUpstream;
let gateway: TestGateway;
let routes = 0;

/** A route `/rN` (path kept) to the Node upstream with `plugins`; its path. */
function route(plugins: Plugins, fields: Record<string, unknown> = {}, service = "node"): string {
  const path = `/r${routes++}`;
  const created = gateway.store.create("routes", { name: path.slice(1), service: { name: service }, paths: [path], strip_path: false, ...fields });
  for (const plugin of plugins) gateway.store.create("plugins", { ...plugin, route: { id: created.id } });
  return path;
}

async function upstreamSaw(target: string, init: RequestInit = {}): Promise<NodeEcho> {
  const response = await gateway.request(target, init);
  if (response.status !== 200) throw new Error(`expected 200, got ${response.status}: ${await response.text()}`);
  return (await response.json()) as NodeEcho;
}

const transformer = (config: Record<string, unknown>): Plugins => [{ name: "request-transformer", config }];

beforeAll(async () => {
  node = await startNodeUpstream("none");
  gateway = startTestGateway();
  gateway.store.create("services", { name: "node", url: node.url });
});

afterAll(async () => {
  await gateway.close();
  await node.stop();
});

describe("querystring: Kong 3.x's table", () => {
  // [what, config, the client's target's query, the upstream's]
  const table: [string, Record<string, unknown>, string, string][] = [
    ["no query operation: the client's query byte for byte", { add: { headers: ["x-a:1"] } }, "?b=%20x&a=1&b", "?b=%20x&a=1&b"],
    ["remove of an absent parameter: byte for byte", { remove: { querystring: ["zz"] } }, "?b=%20x", "?b=%20x"],
    ["remove takes every value of a repeated parameter", { remove: { querystring: ["a"] } }, "?a=1&b=2&a=3", "?b=2"],
    ["remove of the last parameter leaves no '?'", { remove: { querystring: ["a"] } }, "?a=1", ""],
    ["rename keeps every value, where it was", { rename: { querystring: ["a:c"] } }, "?a=1&b=2&a=3", "?c=1&b=2&c=3"],
    ["rename of an absent parameter: nothing, byte for byte", { rename: { querystring: ["a:c"] } }, "?c=%20x", "?c=%20x"],
    ["rename onto a present parameter replaces its values", { rename: { querystring: ["a:c"] } }, "?c=old&a=1", "?c=1"],
    ["rename to the same name: nothing", { rename: { querystring: ["a:a"] } }, "?a=%20x", "?a=%20x"],
    ["replace of a repeated parameter: one value, in its first place", { replace: { querystring: ["a:9"] } }, "?a=1&b=2&a=3", "?a=9&b=2"],
    ["replace of an absent parameter: nothing", { replace: { querystring: ["a:9"] } }, "?b=%20x", "?b=%20x"],
    ["replace of an empty value counts as present", { replace: { querystring: ["a:9"] } }, "?a=", "?a=9"],
    ["replace with an empty value removes (Kong's nil)", { replace: { querystring: ["a:"] } }, "?a=1&b=2", "?b=2"],
    ["add of an absent parameter goes last", { add: { querystring: ["a:1"] } }, "?b=2", "?b=2&a=1"],
    ["add of a present parameter (even empty): nothing", { add: { querystring: ["a:1"] } }, "?a=&b=%20x", "?a=&b=%20x"],
    ["add to a request without a query", { add: { querystring: ["a:1"] } }, "", "?a=1"],
    ["add with an empty value: nothing (Kong's nil)", { add: { querystring: ["a:"] } }, "?b=%20x", "?b=%20x"],
    ["a value keeps its colons and is encoded", { add: { querystring: ["u:http://x/y z"] } }, "", "?u=http%3A%2F%2Fx%2Fy+z"],
    ["append to a present parameter adds a value", { append: { querystring: ["a:2"] } }, "?a=1", "?a=1&a=2"],
    ["append to an absent parameter", { append: { querystring: ["a:2", "a:3"] } }, "?b=1", "?b=1&a=2&a=3"],
    [
      "order: remove, rename, replace, add, append",
      { remove: { querystring: ["a"] }, rename: { querystring: ["b:a"] }, replace: { querystring: ["a:replaced"] }, add: { querystring: ["a:added", "n:new"] }, append: { querystring: ["a:appended"] } },
      "?a=orig&b=moved",
      "?a=replaced&n=new&a=appended",
    ],
  ];
  const paths: string[] = [];
  beforeAll(() => {
    for (const [, config] of table) paths.push(route(transformer(config)));
  });

  for (const [i, [what, , client, upstream]] of table.entries()) {
    test(`${what}: '${client}' → '${upstream}'`, async () => {
      const echo = await upstreamSaw(paths[i]! + client);
      expect(echo.url).toBe(paths[i]! + upstream);
    });
  }
});

describe("querystring after hide_credentials (jwt 1450 and key-auth 1250 run first, as in Kong)", () => {
  let token: string;
  let withJwt: string;
  let withKeyAuth: string;
  let keyAuthOnly: string;
  beforeAll(async () => {
    const key = await signingKey("HS256");
    const alice = gateway.store.create("consumers", { username: "alice" });
    gateway.store.create("jwt_secrets", { key: "issuer", ...key.credential }, { kind: "consumers", id: alice.id });
    gateway.store.create("keyauth_credentials", { key: "key-of-alice" }, { kind: "consumers", id: alice.id });
    token = await sign(key, { iss: "issuer" });
    withJwt = route([{ name: "jwt", config: { hide_credentials: true } }, ...transformer({ add: { querystring: ["jwt:for-the-upstream"] }, rename: { querystring: ["x:y"] } })]);
    withKeyAuth = route([{ name: "key-auth", config: { hide_credentials: true } }, ...transformer({ rename: { querystring: ["apikey:k"] }, append: { querystring: ["x:2"] } })]);
    keyAuthOnly = route([{ name: "key-auth", config: { hide_credentials: true } }]);
  });

  test("jwt hid the token from the query: add sees it absent and adds its own", async () => {
    const echo = await upstreamSaw(`${withJwt}?x=1&jwt=${token}`);
    expect(echo.url).toBe(`${withJwt}?y=1&jwt=for-the-upstream`);
    expect(echo.url).not.toContain(token);
  });

  test("key-auth hid the key: rename of it does nothing, the rest still applies", async () => {
    const echo = await upstreamSaw(`${withKeyAuth}?apikey=key-of-alice&x=1`);
    expect(echo.url).toBe(`${withKeyAuth}?x=1&x=2`);
  });

  test("a key sent in a header leaves the query byte for byte (nothing was removed from it)", async () => {
    const echo = await upstreamSaw(`${keyAuthOnly}?b=%20x&c`, { headers: { apikey: "key-of-alice" } });
    expect(echo.url).toBe(`${keyAuthOnly}?b=%20x&c`);
    expect(echo.rawHeaders.find(([name]) => name.toLowerCase() === "apikey")).toBeUndefined();
  });

  test("a key in the query alone is removed as before", async () => {
    const echo = await upstreamSaw(`${keyAuthOnly}?apikey=key-of-alice&b=%20x`);
    expect(echo.url).toBe(`${keyAuthOnly}?b=+x`);
  });
});

describe("http_method and replace.uri", () => {
  test("http_method: the upstream gets the configured method, a bodiless one with Content-Length: 0", async () => {
    const path = route(transformer({ http_method: "POST" }));
    const echo = await upstreamSaw(`${path}?a=1`);
    expect(echo.method).toBe("POST");
    expect(echo.url).toBe(`${path}?a=1`);
    expect(echo.rawHeaders).toContainEqual(["content-length", "0"]);
  });

  test("http_method DELETE on a balanced service (its own client and retries use the new method)", async () => {
    const pool = gateway.store.create("upstreams", { name: "node-pool" });
    gateway.store.create("targets", { target: `127.0.0.1:${node.port}` }, { kind: "upstreams", id: pool.id });
    gateway.store.create("services", { name: "pooled", host: "node-pool", port: node.port });
    const path = route(transformer({ http_method: "DELETE" }), {}, "pooled");
    const echo = await upstreamSaw(path);
    expect(echo.method).toBe("DELETE");
  });

  test("replace.uri replaces the path from route and service handling; the query stays", async () => {
    gateway.store.create("services", { name: "based", url: `${node.url}/base` });
    const path = route(transformer({ replace: { uri: "/v2/users" }, add: { querystring: ["via:gw"] } }), { strip_path: true }, "based");
    const echo = await upstreamSaw(`${path}/ignored?x=%20y`);
    expect(echo.url).toBe("/v2/users?x=+y&via=gw");
  });

  test("an empty replace.uri is no uri (Kong): the route's path", async () => {
    const path = route(transformer({ replace: { uri: "" } }));
    expect((await upstreamSaw(`${path}/a`)).url).toBe(`${path}/a`);
  });

  test("a body is forwarded with the new method (PUT), and left behind with GET, its Content-Length too", async () => {
    const echo = startUpstream();
    try {
      gateway.store.create("services", { name: "bun-echo", url: echo.url });
      const put = route(transformer({ http_method: "PUT" }), {}, "bun-echo");
      const get = route(transformer({ http_method: "GET" }), {}, "bun-echo");
      const sent = { method: "POST", body: '{"a":1}', headers: { "content-type": "application/json" } };
      const asPut = (await (await gateway.request(put, sent)).json()) as { method: string; body: string; headers: Record<string, string> };
      expect(asPut).toMatchObject({ method: "PUT", body: '{"a":1}' });
      expect(asPut.headers["content-length"]).toBe("7");
      const asGet = (await (await gateway.request(get, sent)).json()) as { method: string; body: string; headers: Record<string, string> };
      expect(asGet).toMatchObject({ method: "GET", body: "" });
      expect(asGet.headers["content-length"]).toBeUndefined();
    } finally {
      await echo.stop();
    }
  });

  test("a HEAD client of a GET upstream gets a bodiless answer, and the next request on the connection its own", async () => {
    const recorder = startByteRecorder(() => "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello");
    try {
      gateway.store.create("services", { name: "recorder", url: recorder.url });
      const path = route(transformer({ http_method: "GET" }), {}, "recorder");
      const port = new URL(gateway.proxyUrl).port;
      // Not pipelined: Bun.serve drops a connection whose requests arrive in one packet, with or without plugins.
      const answer = await talk(Number(port), [`HEAD ${path} HTTP/1.1\r\nHost: a\r\n\r\n`, 200, `GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`], 2000, (raw) => raw.split("HTTP/1.1 200").length === 3 && raw.endsWith("hello"));
      expect(answer.raw.split("HTTP/1.1 200").length).toBe(3);
      expect(answer.raw.split("hello").length).toBe(2);
      expect(answer.raw.endsWith("hello")).toBe(true);
      expect(recorder.received).not.toContain("HEAD ");
      expect(recorder.received.split(`GET ${path} HTTP/1.1`).length).toBe(3);
    } finally {
      recorder.stop();
    }
  });

  test("the WebSocket handshake goes to replace.uri with the edited query, as a GET whatever http_method says", async () => {
    const ws = startBunWebSocketUpstream();
    try {
      gateway.store.create("services", { name: "ws", url: ws.url });
      const path = route(transformer({ replace: { uri: "/socket" }, add: { querystring: ["via:gw"] }, remove: { querystring: ["secret"] }, http_method: "POST" }), {}, "ws");
      const session = ws.nextSession();
      const head = await rawUpgradeHead(Number(new URL(gateway.proxyUrl).port), `${path}/x?secret=1&a=b`);
      expect(head).toStartWith("HTTP/1.1 101");
      const opened = await session;
      expect(opened.path).toBe("/socket");
      expect(opened.query).toBe("?a=b&via=gw");
    } finally {
      await ws.stop();
    }
  });
});

describe("refused on write", () => {
  let admin: AdminHarness;
  beforeAll(() => {
    admin = openAdmin();
  });
  afterAll(() => admin.close());

  const refusals: [string, Record<string, unknown>, Record<string, string>][] = [
    ["a '..' segment in replace.uri", { replace: { uri: "/a/../admin" } }, { "config.replace.uri": "'/a/../admin' is not in canonical form: write '/admin'" }],
    ["'//' in replace.uri", { replace: { uri: "/a//b" } }, { "config.replace.uri": "'/a//b' is not in canonical form: write '/a/b'" }],
    [
      "a relative replace.uri",
      { replace: { uri: "users" } },
      { "config.replace.uri": "'users' is not a path the gateway can send: expected '/' then segments without '.' or '..', '//', '?', '#', ';', encoded '/', whitespace or control characters" },
    ],
    [
      "a query in replace.uri",
      { replace: { uri: "/a?b=1" } },
      { "config.replace.uri": "'/a?b=1' is not a path the gateway can send: expected '/' then segments without '.' or '..', '//', '?', '#', ';', encoded '/', whitespace or control characters" },
    ],
    [
      "an encoded dot segment in replace.uri",
      { replace: { uri: "/%2e%2e/admin" } },
      { "config.replace.uri": "'/%2e%2e/admin' is not a path the gateway can send: expected '/' then segments without '.' or '..', '//', '?', '#', ';', encoded '/', whitespace or control characters" },
    ],
    ["a method Kong cannot set", { http_method: "FETCH" }, { "config.http_method": "invalid method 'FETCH': expected one of GET, PUT, POST, DELETE, OPTIONS, MKCOL, COPY, MOVE, PROPFIND, PROPPATCH, LOCK, UNLOCK, PATCH" }],
    [
      "HEAD as the upstream's method",
      { http_method: "HEAD" },
      { "config.http_method": "'HEAD' is not supported: the gateway cannot send it in place of the client's method (a HEAD's answer has no body for the client to read, a TRACE cannot carry the client's)" },
    ],
    ["a rename to nothing", { rename: { querystring: ["a:"] } }, { "config.rename.querystring[0]": "expected '<name>:<new name>'" }],
    ["a template in a header value", { add: { headers: ["x-host:$(headers.host)"] } }, { "config.add.headers[0]": "not supported: Kong's $(...) templates are not evaluated" }],
    ["a template in a query value", { append: { querystring: ["a:1", "b:$(query_params.a)"] } }, { "config.append.querystring[1]": "not supported: Kong's $(...) templates are not evaluated" }],
    ["a template as a new name", { rename: { querystring: ["a:$(x)"] } }, { "config.rename.querystring[0]": "not supported: Kong's $(...) templates are not evaluated" }],
    ["a template in replace.uri", { replace: { uri: "/users/$(uri_captures[1])" } }, { "config.replace.uri": "not supported: Kong's $(...) templates are not evaluated" }],
    ["a template in a body value", { add: { body: ["a:$(x)"] } }, { "config.add.body[0]": "not supported: Kong's $(...) templates are not evaluated" }],
    ["a body field name with a quote", { add: { body: ['a"b:c'] } }, { "config.add.body[0]": "'a\"b' cannot be a body field name: it holds a quote or a control character" }],
  ];
  for (const [what, config, fields] of refusals) {
    test(`${what} → 400 naming the field`, async () => {
      const reply = await admin.call("POST", "/plugins", { name: "request-transformer", config });
      expect(reply.status).toBe(400);
      expect(reply.body.fields).toEqual(fields);
      for (const field of Object.keys(fields)) expect(reply.body.message).toContain(field);
    });
  }

  test("a lower-case method fails the schema's uppercase pattern", async () => {
    const reply = await admin.call("POST", "/plugins", { name: "request-transformer", config: { http_method: "post" } });
    expect(reply.status).toBe(400);
    expect(Object.keys(reply.body.fields)).toEqual(["config.http_method"]);
  });

  test("accepted: every operation on the query, a canonical uri, a settable method; '$(' in a name to remove is not a template", async () => {
    const config = { http_method: "PATCH", remove: { querystring: ["$(x)"] }, rename: { querystring: ["a:b"] }, replace: { uri: "/v2/%C3%A9", querystring: ["c:d"] }, add: { querystring: ["e:f:g"] }, append: { querystring: ["h:i"] } };
    const reply = await admin.call("POST", "/plugins", { name: "request-transformer", config });
    expect(reply.status).toBe(201);
    expect(reply.body.config).toMatchObject(config);
  });

  const file = (config: string) => `_format_version: "3.0"
services:
  - name: s
    url: http://127.0.0.1:9
    routes:
      - name: r
        paths: [/r]
        plugins:
          - name: request-transformer
            config:
${config}
`;

  test("a declarative file with a template is refused naming the field, and config check lists it as missing", () => {
    const text = file("              add:\n                querystring: [\"a:$(headers.host)\"]");
    expect(() => parseDeclarative(text, builtinPlugins)).toThrow("plugin 'request-transformer' at services[0].routes[0].plugins[0]: config.add.querystring[0]: not supported: Kong's $(...) templates are not evaluated");
    const report = checkDeclarative(text, builtinPlugins);
    expect(report.ok).toBe(false);
    expect(report.missing.map((finding) => finding.message).join("\n")).toContain("config.add.querystring[0]: not supported: Kong's $(...) templates are not evaluated");
  });

  test("a declarative file with a bad replace.uri is refused naming it; a good one loads", () => {
    expect(() => parseDeclarative(file("              replace:\n                uri: /a/./b"), builtinPlugins)).toThrow("replace.uri: '/a/./b' is not in canonical form: write '/a/b'");
    const state = parseDeclarative(file("              replace:\n                uri: /a/b\n              http_method: PUT"), builtinPlugins);
    expect(state.plugins[0]!.config).toMatchObject({ http_method: "PUT", replace: { uri: "/a/b" } });
  });
});
