// Issue 19's red team: request bodies for plugins (key-auth key_in_body, request-transformer
// body operations), the upstream query, replace.uri / http_method and the log phase, attacked
// through the real gateway against real upstreams (a Node `http` server that echoes the bytes
// it got, a raw byte recorder), on the engine GATEWAY_PROXY_ENGINE names. Findings and their
// fixes: issue19-red-team.md beside this file.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { gzipSync } from "node:zlib";
import { type BodyRig, startBodyRig } from "../support/body-rig.ts";
import { type TestGateway, startTestGateway } from "../support/gateway.ts";
import { startByteRecorder, talk } from "../support/raw-socket.ts";
import { chosenProxyEngine } from "../../src/proxy/engine.ts";

const RAW_ENGINE = chosenProxyEngine() === "raw";
const KEY = "alice-secret-key-0123456789";
/** The value a client smuggles; it must never reach the upstream. */
const SMUGGLED = "smuggled-admin-flag";
const BOUNDARY = "redteamBoundary19";
const MULTIPART = { "content-type": `multipart/form-data; boundary=${BOUNDARY}` };
const FORM = { "content-type": "application/x-www-form-urlencoded" };
const JSON_TYPE = { "content-type": "application/json" };

/** A multipart body of parts given by their Content-Disposition (and any further header lines) and value. */
function multipart(parts: [disposition: string, value: string][]): string {
  let text = "";
  for (const [disposition, value] of parts) text += `--${BOUNDARY}\r\n${disposition}\r\n\r\n${value}\r\n`;
  return `${text}--${BOUNDARY}--\r\n`;
}

describe("request-transformer remove.body: a field the upstream reads under the removed name never reaches it", () => {
  let r: BodyRig;
  beforeAll(async () => {
    r = await startBodyRig((gateway, routeId) => {
      gateway.store.create("plugins", { name: "request-transformer", route: { id: routeId }, config: { remove: { body: ["is_admin"] } } });
    });
  });
  afterAll(() => r.close());

  const cases: [string, string, Record<string, string>][] = [
    // Werkzeug (Flask) and python-multipart read RFC 2231's `name*` as the name.
    ["multipart: name*=UTF-8''is_admin (RFC 2231)", multipart([["Content-Disposition: form-data; name*=UTF-8''is_admin", SMUGGLED]]), MULTIPART],
    // Werkzeug's and busboy's parameter maps keep the last of a repeated parameter.
    ["multipart: name=\"note\"; name=\"is_admin\"", multipart([['Content-Disposition: form-data; name="note"; name="is_admin"', SMUGGLED]]), MULTIPART],
    ["multipart: a second Content-Disposition naming is_admin", multipart([['Content-Disposition: form-data; name="note"\r\nContent-Disposition: form-data; name="is_admin"', SMUGGLED]]), MULTIPART],
    ["multipart: NAME=is_admin, unquoted, upper case", multipart([["content-disposition: form-data; NAME=is_admin", SMUGGLED]]), MULTIPART],
    ["multipart: name=\"is_admin\" beside a filename", multipart([['Content-Disposition: form-data; filename="a.txt"; name="is_admin"', SMUGGLED]]), MULTIPART],
    // Express's body-parser (iconv-lite) and Python's json.loads(bytes) skip a UTF-8 byte order mark.
    ["JSON behind a UTF-8 byte order mark", `\uFEFF${JSON.stringify({ note: "hi", is_admin: SMUGGLED })}`, JSON_TYPE],
    ["JSON: the field twice (the last one is what JSON.parse and most upstreams read)", `{"is_admin":"x","is_admin":"${SMUGGLED}"}`, JSON_TYPE],
    ["JSON: the name written with escapes", `{"is\\u005fadmin":"${SMUGGLED}"}`, JSON_TYPE],
    ["urlencoded: the name percent-encoded", `is%5Fadmin=${SMUGGLED}`, FORM],
    ["urlencoded: the field repeated", `is_admin=${SMUGGLED}&a=1&is_admin=${SMUGGLED}`, FORM],
    ["content type in upper case with parameters", `is_admin=${SMUGGLED}`, { "content-type": "APPLICATION/X-WWW-FORM-URLENCODED ; charset=UTF-8" }],
  ];
  for (const [name, body, headers] of cases) {
    test(name, async () => {
      const got = await r.send(body, { headers });
      expect(got.status).toBe(200);
      expect(got.body.toString("latin1")).not.toContain(SMUGGLED);
    });
  }

  // Finding 3: a body that claims a format but does not parse went on untouched (Kong's way too),
  // so what a more lenient upstream parser reads passed the removal. Now it is refused.
  for (const [name, body, headers] of [
    // Python's json module and Kong's own cjson read NaN and Infinity; JSON.parse does not.
    ["JSON with a NaN (Python's json.loads reads it)", `{"is_admin":"${SMUGGLED}","n":NaN}`, JSON_TYPE],
    // Go's mime/multipart switches to LF line ends when the first boundary line ends in LF.
    ["multipart with LF line ends (Go's mime/multipart reads it)", multipart([['Content-Disposition: form-data; name="is_admin"', SMUGGLED]]).replaceAll("\r\n", "\n"), MULTIPART],
  ] as const) {
    test(`not parsed, not passed on: ${name}`, async () => {
      const got = await r.send(body, { headers });
      expect(got.status).toBe(400);
      expect(got.text).toStartWith('{"message":"the request body does not parse as');
      expect(got.body.length).toBe(0);
    });
  }

  test("two Content-Type fields (an upstream reading the last one parses JSON): 400, nothing upstream; one with a quoted comma is one", async () => {
    const json = JSON.stringify({ is_admin: SMUGGLED });
    for (const types of ["Content-Type: text/plain\r\nContent-Type: application/json", "Content-Type: text/plain, application/json"]) {
      const answer = await talk(r.gateway.proxy.port, [`POST /api HTTP/1.1\r\nHost: gw.test\r\n${types}\r\nContent-Length: ${json.length}\r\nConnection: close\r\n\r\n${json}`], 1500, (raw) => raw.includes("}"));
      expect(answer.raw).toStartWith("HTTP/1.1 400 Bad Request\r\n");
      expect(answer.raw).toEndWith('\r\n\r\n{"message":"the request has more than one Content-Type, so request-transformer cannot tell how the upstream reads its body"}');
    }
    const quoted = `--a,b\r\nContent-Disposition: form-data; name="is_admin"\r\n\r\n${SMUGGLED}\r\n--a,b--\r\n`;
    const got = await r.send(quoted, { headers: { "content-type": 'multipart/form-data; boundary="a,b"' } });
    expect(got.status).toBe(200);
    expect(got.body.toString("latin1")).not.toContain(SMUGGLED);
  });

  // A second red team's cases, each read with is_admin by a real framework it ran (Express 4's
  // body-parser and qs, Flask 3 / Werkzeug 3); the node upstream here records what arrives.
  const readAnotherWay: [string, string, Record<string, string>][] = [
    ["qs and PHP: is_admin[]", `is_admin[]=${SMUGGLED}`, FORM],
    ["qs and Rack 2: [is_admin]", `[is_admin]=${SMUGGLED}`, FORM],
    ["qs: [is_admin]x", `[is_admin]x=${SMUGGLED}`, FORM],
    ["PHP: is.admin", `is.admin=${SMUGGLED}`, FORM],
    ["PHP: is admin", `is+admin=${SMUGGLED}`, FORM],
    ["Python before 3.9.2: a=1;is_admin", `a=1;is_admin=${SMUGGLED}&b=2`, FORM],
    ["multipart: a part named is_admin[]", multipart([['Content-Disposition: form-data; name="is_admin[]"', SMUGGLED]]), MULTIPART],
    ["Express (type application/*+json): application/vnd.api+json", JSON.stringify({ is_admin: SMUGGLED }), { "content-type": "application/vnd.api+json" }],
    ["Flask's get_json: application/merge-patch+json", JSON.stringify({ is_admin: SMUGGLED }), { "content-type": "application/merge-patch+json" }],
    ["text/json", JSON.stringify({ is_admin: SMUGGLED }), { "content-type": "text/json" }],
  ];
  for (const [name, body, headers] of readAnotherWay) {
    test(`read another way upstream, removed here: ${name}`, async () => {
      const got = await r.send(body, { headers });
      expect(got.status).toBe(200);
      expect(got.body.toString("latin1")).not.toContain(SMUGGLED);
    });
  }

  const werkzeug = (body: string, contentType: string): [string, Record<string, string>] => [body, { "content-type": contentType }];
  for (const [name, [body, headers]] of [
    ["a part delimiter after a bare LF", werkzeug(`--A\r\nContent-Disposition: form-data; name="x"\r\n\r\nv\n--A\r\nContent-Disposition: form-data; name="is_admin"\r\n\r\n${SMUGGLED}\r\n--A--\r\n`, "multipart/form-data; boundary=A")],
    ["a part delimiter after a bare CR", werkzeug(`--A\r\nContent-Disposition: form-data; name="x"\r\n\r\nv\r--A\r\nContent-Disposition: form-data; name="is_admin"\r\n\r\n${SMUGGLED}\r\n--A--\r\n`, "multipart/form-data; boundary=A")],
    ["a folded Content-Disposition", werkzeug(`--A\r\nContent-Disposition: form-data;\r\n name="is_admin"\r\n\r\n${SMUGGLED}\r\n--A--\r\n`, "multipart/form-data; boundary=A")],
    ["boundary given twice", werkzeug(`--A\r\nContent-Disposition: form-data; name="x"\r\n\r\n--B\r\nContent-Disposition: form-data; name="is_admin"\r\n\r\n${SMUGGLED}\r\n--B--\r\n\r\n--A--\r\n`, "multipart/form-data; boundary=A; boundary=B")],
    ["boundary and boundary*", werkzeug(`--A\r\nContent-Disposition: form-data; name="x"\r\n\r\n--B\r\nContent-Disposition: form-data; name="is_admin"\r\n\r\n${SMUGGLED}\r\n--B--\r\n\r\n--A--\r\n`, "multipart/form-data; boundary=A; boundary*=utf-8''B")],
    // RFC 2231 continuations, which Werkzeug joins (a later red team).
    ["name*0=\"is\"; name*1=\"_admin\"", werkzeug(`--A\r\nContent-Disposition: form-data; name*0="is"; name*1="_admin"\r\n\r\n${SMUGGLED}\r\n--A--\r\n`, "multipart/form-data; boundary=A")],
    ["name=\"is\"; name*1=\"_admin\"", werkzeug(`--A\r\nContent-Disposition: form-data; name="is"; name*1="_admin"\r\n\r\n${SMUGGLED}\r\n--A--\r\n`, "multipart/form-data; boundary=A")],
    ["NAME*0*=utf-8''is; name*1=\"_admin\"", werkzeug(`--A\r\nContent-Disposition: form-data; NAME*0*=utf-8''is; name*1="_admin"\r\n\r\n${SMUGGLED}\r\n--A--\r\n`, "multipart/form-data; boundary=A")],
  ] as const) {
    test(`Werkzeug reads a part the gateway would not: ${name} → 400, nothing upstream`, async () => {
      const got = await r.send(body, { headers });
      expect({ status: got.status, body: JSON.parse(got.text) }).toEqual({ status: 400, body: { message: "the request body does not parse as multipart/form-data, so request-transformer cannot remove, rename or replace its fields" } });
      expect(got.body.length).toBe(0);
    });
  }

  test("a gzip-encoded form (body-parser inflates it): 415, nothing upstream", async () => {
    const got = await r.send(gzipSync(`is_admin=${SMUGGLED}`), { headers: { ...FORM, "content-encoding": "gzip" } });
    expect({ status: got.status, body: JSON.parse(got.text) }).toEqual({ status: 415, body: { message: "the request body is content-encoded, so request-transformer cannot remove, rename or replace its fields" } });
    expect(got.body.length).toBe(0);
  });

  // A later red team: Express's body-parser decodes any utf-* charset (iconv-lite), UTF-7 included.
  for (const contentType of ["application/json; charset=utf-7", "application/vnd.api+json; charset=UTF-7", 'application/json; charset="utf-7"', "application/json; charset=utf-8; charset=utf-7"]) {
    test(`a JSON body in another charset (${contentType}): 415, nothing upstream`, async () => {
      const got = await r.send('{"+AGk-s_admin":true,"a":2}', { headers: { "content-type": contentType } });
      expect({ status: got.status, body: JSON.parse(got.text) }).toEqual({ status: 415, body: { message: "the request body's charset is utf-7, so request-transformer cannot remove, rename or replace its fields" } });
      expect(got.body.length).toBe(0);
    });
  }

  test("a JSON body declared UTF-8 or US-ASCII is read and transformed", async () => {
    for (const contentType of ["application/json; charset=utf-8", 'application/json; charset="UTF-8"', "application/json;charset=us-ascii"]) {
      const got = await r.send(JSON.stringify({ is_admin: SMUGGLED, note: "hi" }), { headers: { "content-type": contentType } });
      expect({ status: got.status, body: got.body.toString("utf8") }).toEqual({ status: 200, body: '{"note":"hi"}' });
    }
  });

  test("chunked: the same body in pieces is transformed as well", async () => {
    const got = await r.send(multipart([['Content-Disposition: form-data; name="note"; name="is_admin"', SMUGGLED]]), { headers: MULTIPART, chunked: true });
    expect(got.status).toBe(200);
    expect(got.body.toString("latin1")).not.toContain(SMUGGLED);
  });

  test("a JSON __proto__ field stays a field, and the removed one is gone", async () => {
    const got = await r.send(`{"__proto__":{"is_admin":true},"is_admin":"${SMUGGLED}"}`, { headers: JSON_TYPE });
    expect(got.status).toBe(200);
    expect(JSON.parse(got.body.toString("utf8"))).toEqual(JSON.parse('{"__proto__":{"is_admin":true}}'));
  });
});

describe("key-auth hide_credentials: the key is never forwarded in a spelling the upstream reads", () => {
  let r: BodyRig;
  beforeAll(async () => {
    r = await startBodyRig((gateway, routeId) => {
      const alice = gateway.store.create("consumers", { username: "alice" });
      gateway.store.create("keyauth_credentials", { key: KEY }, { kind: "consumers", id: alice.id });
      gateway.store.create("plugins", { name: "key-auth", route: { id: routeId }, config: { key_in_body: true, hide_credentials: true } });
    });
  });
  afterAll(() => r.close());

  test("key in the header, and again in a multipart part named apikey only by name*: neither reaches the upstream", async () => {
    const got = await r.send(multipart([["Content-Disposition: form-data; name*=UTF-8''apikey", KEY]]), { headers: { ...MULTIPART, apikey: KEY } });
    expect(got.status).toBe(200);
    expect(got.header("apikey")).toEqual([]);
    expect(got.body.toString("latin1")).not.toContain(KEY);
  });

  test("key in the query spelt api%6Bey: authenticated, and removed from the upstream's query", async () => {
    const got = await r.send(null, { method: "GET", path: `/api?a=1&api%6Bey=${KEY}` });
    expect(got.status).toBe(200);
    expect(got.text).not.toContain(KEY);
  });

  test("key in a JSON body behind a byte order mark: read as Express reads it, and hidden", async () => {
    const got = await r.send(`\uFEFF${JSON.stringify({ apikey: KEY, note: "hi" })}`, { headers: JSON_TYPE });
    expect(got.status).toBe(200);
    expect(JSON.parse(got.body.toString("utf8"))).toEqual({ note: "hi" });
  });
});

/** The requests (head and body) the recorder got since `from`, split at each request line (no test body holds one). */
function requestsSince(received: string, from: number): string[] {
  return received.slice(from).split(/(?=(?:GET|POST) \/\S* HTTP\/1\.1\r\n)/).filter((each) => each !== "");
}

describe("framing of a body the plugins read, replaced or dropped (raw byte recorder upstream)", () => {
  let gateway: TestGateway;
  let upstream: ReturnType<typeof startByteRecorder>;
  const H = "Host: gw.test\r\n";
  const form = (path: string, body: string, extra = "") => `POST ${path} HTTP/1.1\r\n${H}Content-Type: application/x-www-form-urlencoded\r\n${extra}Content-Length: ${body.length}\r\n\r\n${body}`;
  const chunked = (path: string, body: string, extra = "") => `POST ${path} HTTP/1.1\r\n${H}Content-Type: application/x-www-form-urlencoded\r\n${extra}Transfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
  /** A request that must reach the upstream only as itself, never inside another one's body. */
  const inner = `GET /open/SMUGGLED HTTP/1.1\r\n${H}\r\n`;

  beforeAll(async () => {
    upstream = startByteRecorder(() => "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    gateway = startTestGateway();
    gateway.store.create("services", { name: "up", url: upstream.url });
    gateway.store.create("routes", { name: "open", service: { name: "up" }, paths: ["/open"], strip_path: false });
    const ka = gateway.store.create("routes", { name: "ka", service: { name: "up" }, paths: ["/ka"], strip_path: false }) as { id: string };
    const alice = gateway.store.create("consumers", { username: "alice" }) as { id: string };
    gateway.store.create("keyauth_credentials", { key: KEY }, { kind: "consumers", id: alice.id });
    gateway.store.create("plugins", { name: "key-auth", route: { id: ka.id }, config: { key_in_body: true, hide_credentials: true } });
    const get = gateway.store.create("routes", { name: "to-get", service: { name: "up" }, paths: ["/to-get"], strip_path: false }) as { id: string };
    gateway.store.create("plugins", { name: "request-transformer", route: { id: get.id }, config: { http_method: "GET" } });
    const post = gateway.store.create("routes", { name: "to-post", service: { name: "up" }, paths: ["/to-post"], strip_path: false }) as { id: string };
    gateway.store.create("plugins", { name: "request-transformer", route: { id: post.id }, config: { http_method: "POST" } });
    await Bun.sleep(150);
  });
  afterAll(async () => {
    await gateway.close();
    upstream.stop();
  });

  for (const [name, request] of [
    ["Content-Length", form("/ka", `apikey=${KEY}&a=1`)],
    ["chunked", chunked("/ka", `apikey=${KEY}&a=1`)],
    // Bun.serve answers a trailer section with its own bare 400 (finding 5), so only the raw engine reads one.
    ...(RAW_ENGINE ? [["chunked with a trailer", chunked("/ka", `apikey=${KEY}&a=1`).replace(/0\r\n\r\n$/, "0\r\nX-Trailer: evil\r\n\r\n")] as const] : []),
  ] as const) {
    test(`hide_credentials on a ${name} body: one Content-Length matching the bytes, no Transfer-Encoding, no trailer, no key`, async () => {
      const from = upstream.received.length;
      const answer = await talk(gateway.proxy.port, [request], 1500, (raw) => raw.includes("\r\n\r\nok"));
      expect(answer.raw).toStartWith("HTTP/1.1 200 OK\r\n");
      const [sent] = requestsSince(upstream.received, from);
      const [head, body] = sent!.split("\r\n\r\n") as [string, string];
      expect(head.match(/^content-length: *(\d+)$/gim)).toEqual(["Content-Length: 3"]);
      expect(head).not.toMatch(/transfer-encoding|x-trailer/i);
      expect(body).toBe("a=1");
      expect(sent).not.toContain(KEY);
    });
  }

  // Finding 5: Bun's parser refuses the trailer only after the plugin read the body to its last chunk.
  test.todo("serve engine: a chunked body with a trailer that Bun refuses (400) never reaches the upstream", async () => {
    const from = upstream.received.length;
    const answer = await talk(gateway.proxy.port, [chunked("/ka", `apikey=${KEY}&a=1`).replace(/0\r\n\r\n$/, "0\r\nX-Trailer: evil\r\n\r\n")], 1500);
    expect(answer.raw).toStartWith("HTTP/1.1 400 Bad Request\r\n");
    expect(upstream.received.slice(from)).toBe("");
  });

  test("http_method GET on a POST whose body is a request: the upstream gets a bodiless GET, the body never becomes a request", async () => {
    const from = upstream.received.length;
    const answer = await talk(gateway.proxy.port, [`POST /to-get HTTP/1.1\r\n${H}Content-Length: ${inner.length}\r\n\r\n${inner}`], 1500, (raw) => raw.includes("\r\n\r\nok"));
    expect(answer.raw).toStartWith("HTTP/1.1 200 OK\r\n");
    const sent = requestsSince(upstream.received, from);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toStartWith("GET /to-get HTTP/1.1\r\n");
    expect(sent[0]).not.toMatch(/content-length|transfer-encoding/i);
    expect(upstream.received.slice(from)).not.toContain("SMUGGLED");
  });

  test("http_method POST on a GET: Content-Length: 0, so the upstream waits for no body", async () => {
    const from = upstream.received.length;
    const answer = await talk(gateway.proxy.port, [`GET /to-post HTTP/1.1\r\n${H}\r\n`], 1500, (raw) => raw.includes("\r\n\r\nok"));
    expect(answer.raw).toStartWith("HTTP/1.1 200 OK\r\n");
    const [sent] = requestsSince(upstream.received, from);
    expect(sent).toMatch(/^POST \/to-post HTTP\/1\.1\r\n/);
    expect(sent!.match(/^content-length: *\d+$/gim)).toEqual(["content-length: 0"]);
  });

  // Bun.serve writes its own 100 Continue as the request arrives; the raw engine's is the gateway's to decide.
  test.skipIf(!RAW_ENGINE)("raw engine: Expect: 100-continue and key_in_body: no 100 for a body key-auth never reads, 100 for one it reads", async () => {
    const expect100 = "Expect: 100-continue\r\n";
    const unread = await talk(gateway.proxy.port, [`POST /ka HTTP/1.1\r\n${H}Content-Type: text/plain\r\n${expect100}Content-Length: 9\r\n\r\n`], 1500, (raw) => raw.includes("}"));
    expect(unread.raw).toStartWith("HTTP/1.1 401 Unauthorized\r\n");
    expect(unread.raw).toContain('{"message":"No API key found in request"}');
    const body = `apikey=${KEY}&a=1`;
    const read = await talk(gateway.proxy.port, [`POST /ka HTTP/1.1\r\n${H}Content-Type: application/x-www-form-urlencoded\r\n${expect100}Content-Length: ${body.length}\r\n\r\n`, 300, body], 1500, (raw) => raw.includes("\r\n\r\nok"));
    expect(read.raw).toStartWith("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n");
  });

  // Bun.serve closes a connection that pipelines behind a forwarded request (oven-sh/bun#38128, README).
  test.skipIf(!RAW_ENGINE)("raw engine: the request pipelined after a buffered, rewritten body is read from the right byte", async () => {
    const from = upstream.received.length;
    const next = `GET /open/next HTTP/1.1\r\n${H}\r\n`;
    for (const first of [form("/ka", `apikey=${KEY}&a=1`), chunked("/ka", `apikey=${KEY}&a=1`), `POST /to-get HTTP/1.1\r\n${H}Content-Length: ${inner.length}\r\n\r\n${inner}`]) {
      const answer = await talk(gateway.proxy.port, [first + next], 1500, (raw) => raw.split("\r\n\r\nok").length === 3);
      expect(answer.raw.match(/HTTP\/1\.1 200 OK\r\n/g), answer.raw).toHaveLength(2);
    }
    const paths = requestsSince(upstream.received, from).map((each) => each.split(" ", 2)[1]);
    expect(paths).toEqual(["/ka", "/open/next", "/ka", "/open/next", "/to-get", "/open/next"]);
  });
});

describe("prometheus in the log phase: what a client controls", () => {
  let gateway: TestGateway;
  let upstream: ReturnType<typeof startByteRecorder>;
  const route = `metrics-${process.pid}`;
  beforeAll(async () => {
    upstream = startByteRecorder(() => "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    gateway = startTestGateway();
    gateway.store.create("services", { name: route, url: upstream.url });
    const r = gateway.store.create("routes", { name: route, service: { name: route }, paths: [`/${route}`] }) as { id: string };
    const alice = gateway.store.create("consumers", { username: "alice" }) as { id: string };
    gateway.store.create("keyauth_credentials", { key: KEY }, { kind: "consumers", id: alice.id });
    gateway.store.create("plugins", { name: "key-auth", route: { id: r.id } });
    gateway.store.create("plugins", { name: "prometheus", route: { id: r.id }, config: { status_code_metrics: true, bandwidth_metrics: true, per_consumer: true } });
    const inBody = gateway.store.create("routes", { name: `${route}-body`, service: { name: route }, paths: [`/${route}-body`] }) as { id: string };
    gateway.store.create("plugins", { name: "key-auth", route: { id: inBody.id }, config: { key_in_body: true } });
    gateway.store.create("plugins", { name: "prometheus", route: { id: inBody.id }, config: { bandwidth_metrics: true } });
    await Bun.sleep(150);
  });
  afterAll(async () => {
    await gateway.close();
    upstream.stop();
  });
  const seriesOf = () => gateway.metrics.render(gateway.state.current.version).split("\n").filter((line) => line.includes(`route="${route}"`));

  test("paths, methods, queries and spoofed consumer headers add no series and cannot break a line", async () => {
    const spoof = 'mallory"} 1 kong_http_requests_total{x="';
    for (let i = 0; i < 20; i++) {
      const method = ["GET", "POST", "DELETE", "PATCH"][i % 4]!;
      const response = await gateway.request(`/${route}/p${i}?q=${i}&consumer=${encodeURIComponent(spoof)}`, { method, headers: { apikey: KEY, "x-consumer-username": spoof, "x-consumer-id": spoof } });
      expect(response.status).toBe(200);
      await response.text();
    }
    const requests = seriesOf().filter((line) => line.startsWith("kong_http_requests_total{"));
    expect(requests).toEqual([`kong_http_requests_total{service="${route}",route="${route}",code="200",source="service",workspace="default",consumer="alice"} 20`]);
    for (const line of seriesOf()) expect(line).toMatch(/^\w+\{[^{}]*\} \d+$/);
  });

  const ingress = () => Number(seriesOf().find((line) => line.includes('direction="ingress"'))?.split(" ").pop() ?? 0);

  // Finding 6: ingress was the client's declared Content-Length, counted though no byte of it came.
  test("a Content-Length the client never sends is not counted as ingress bytes", async () => {
    const before = ingress();
    const answer = await talk(gateway.proxy.port, [`POST /${route} HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 1000000000000\r\n\r\n`], 1500, (raw) => raw.includes("}"));
    expect(answer.raw).toStartWith("HTTP/1.1 401 Unauthorized\r\n");
    expect(answer.raw).toContain('"message":"No API key found in request"');
    expect(ingress()).toBe(before);
  });

  test("ingress counts the body bytes that came: a Content-Length body, a chunked one (its data, not its framing)", async () => {
    const before = ingress();
    const sent = await talk(gateway.proxy.port, [`POST /${route} HTTP/1.1\r\nHost: gw.test\r\napikey: ${KEY}\r\nContent-Length: 10\r\n\r\n0123456789`], 1500, (raw) => raw.endsWith("ok"));
    expect(sent.raw).toStartWith("HTTP/1.1 200 OK\r\n");
    expect(ingress()).toBe(before + 10);
    const chunked = await talk(gateway.proxy.port, [`POST /${route} HTTP/1.1\r\nHost: gw.test\r\napikey: ${KEY}\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n3;x=y\r\ncde\r\n1\r\nf\r\n0\r\n\r\n`], 1500, (raw) => raw.endsWith("ok"));
    expect(chunked.raw).toStartWith("HTTP/1.1 200 OK\r\n");
    expect(ingress()).toBe(before + 16);
  });

  test("a body a plugin read and the upstream then got counts once", async () => {
    const bodyIngress = () => Number(gateway.metrics.render(gateway.state.current.version).split("\n").find((line) => line.includes(`route="${route}-body",direction="ingress"`))?.split(" ").pop() ?? 0);
    const form = `apikey=${KEY}&a=1`;
    const answer = await talk(gateway.proxy.port, [`POST /${route}-body HTTP/1.1\r\nHost: gw.test\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${form.length}\r\n\r\n${form}`], 1500, (raw) => raw.endsWith("ok"));
    expect(answer.raw).toStartWith("HTTP/1.1 200 OK\r\n");
    expect(bodyIngress()).toBe(form.length);
  });
});
