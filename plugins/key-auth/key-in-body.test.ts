// key-auth key_in_body: Kong 3.x's lookup order (per key name: header, query, body field), the
// body formats (urlencoded, JSON top-level string, multipart), what is not a key, the 1 MiB
// bound, and hide_credentials on the body, through the gateway to a Node upstream that records
// the bytes it got.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { MAX_BUFFERED_BODY_BYTES } from "../../src/pipeline/request-body.ts";
import { type BodyRig, startBodyRig } from "../../tests/support/body-rig.ts";
import { tempDir } from "../../tests/support/gateway.ts";

const KEY = "alice-secret-key-0123456789";
const MISSING = '{"message":"No API key found in request"}';
const INVALID = '{"message":"Invalid authentication credentials"}';
const DUPLICATE = '{"message":"Duplicate API key found"}';
const FORM = { "content-type": "application/x-www-form-urlencoded" };
const JSON_TYPE = { "content-type": "application/json; charset=utf-8" };
const BOUNDARY = "----gatewayBoundary7MA4YWxk";
const MULTIPART = { "content-type": `multipart/form-data; boundary=${BOUNDARY}` };

function multipart(fields: [name: string, value: string, extraHeaders?: string][]): string {
  let text = "";
  for (const [name, value, extra] of fields) text += `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"${extra ?? ""}\r\n\r\n${value}\r\n`;
  return `${text}--${BOUNDARY}--\r\n`;
}

/** A route with key-auth (`config`) and alice's key. */
function keyAuthRig(config: Record<string, unknown>): Promise<BodyRig> {
  return startBodyRig((gateway, routeId) => {
    const alice = gateway.store.create("consumers", { username: "alice" });
    gateway.store.create("keyauth_credentials", { key: KEY }, { kind: "consumers", id: alice.id });
    gateway.store.create("plugins", { name: "key-auth", route: { id: routeId }, config });
  });
}

describe("key-auth key_in_body: Kong's table", () => {
  let r: BodyRig;
  beforeAll(async () => {
    r = await keyAuthRig({ key_in_body: true, key_names: ["apikey", "second"] });
  });
  afterAll(() => r.close());

  const oversized = JSON.stringify({ apikey: KEY, pad: "x".repeat(MAX_BUFFERED_BODY_BYTES) });
  const cases: [string, string | null, Record<string, string>, { chunked?: boolean; path?: string }, number, string | null][] = [
    ["urlencoded field → 200", `a=1&apikey=${KEY}`, FORM, {}, 200, null],
    ["JSON top-level string → 200", JSON.stringify({ apikey: KEY }), JSON_TYPE, {}, 200, null],
    ["multipart field → 200", multipart([["note", "hi"], ["apikey", KEY]]), MULTIPART, {}, 200, null],
    ["chunked urlencoded body under the bound → 200", `apikey=${KEY}`, FORM, { chunked: true }, 200, null],
    ["the second key name, in the body → 200", `second=${KEY}`, FORM, {}, 200, null],
    ["an unknown key in the body → 401 Invalid", "apikey=nope", FORM, {}, 401, INVALID],
    ["an empty field → 401 No API key found", "apikey=", FORM, {}, 401, MISSING],
    ["a repeated urlencoded field → 401 Duplicate", `apikey=${KEY}&apikey=x`, FORM, {}, 401, DUPLICATE],
    ["a repeated multipart field → 401 Duplicate", multipart([["apikey", KEY], ["apikey", "x"]]), MULTIPART, {}, 401, DUPLICATE],
    ["a JSON array → 401 Duplicate (a table in Kong)", JSON.stringify({ apikey: [KEY] }), JSON_TYPE, {}, 401, DUPLICATE],
    ["a JSON object → 401 Duplicate (a table in Kong)", JSON.stringify({ apikey: { key: KEY } }), JSON_TYPE, {}, 401, DUPLICATE],
    ["a JSON number is no key → 401 No API key found", '{"apikey":12345}', JSON_TYPE, {}, 401, MISSING],
    ["a urlencoded name without '=' is no key → 401 No API key found", "apikey", FORM, {}, 401, MISSING],
    ["JSON that does not parse → 401 No API key found", `{"apikey":"${KEY}"`, JSON_TYPE, {}, 401, MISSING],
    ["a body of another content type → 401 No API key found", `apikey=${KEY}`, { "content-type": "text/plain" }, {}, 401, MISSING],
    ["no Content-Type → 401 No API key found", `apikey=${KEY}`, {}, {}, 401, MISSING],
    ["no body → 401 No API key found", null, FORM, {}, 401, MISSING],
    ["a body over 1 MiB (Content-Length) → key not found → 401", oversized, JSON_TYPE, {}, 401, MISSING],
    ["a chunked body over 1 MiB → key not found → 401", oversized, JSON_TYPE, { chunked: true }, 401, MISSING],
    ["the header comes before the body field of the same name", `apikey=${KEY}`, { ...FORM, apikey: "nope" }, {}, 401, INVALID],
    ["the query comes before the body field of the same name", `apikey=${KEY}`, FORM, { path: "/api?apikey=nope" }, 401, INVALID],
    ["the first name's body field comes before the second name's header", `apikey=${KEY}`, { ...FORM, second: "nope" }, {}, 200, null],
  ];
  for (const [name, body, headers, options, status, answer] of cases) {
    test(name, async () => {
      const got = await r.send(body, { headers, ...options });
      expect(got.status).toBe(status);
      if (answer !== null) expect(got.text).toBe(answer);
    });
  }

  test("without hide_credentials the body reaches the upstream byte for byte", async () => {
    const body = `a=1&apikey=${KEY}&b=%20+x`;
    const got = await r.send(body, { headers: FORM });
    expect(got.status).toBe(200);
    expect(got.body.toString("latin1")).toBe(body);
    expect(got.header("x-consumer-username")).toEqual(["alice"]);
  });

  test("a chunked body read past the bound (for the first name) reaches the upstream whole and in order", async () => {
    const body = Buffer.from(`a=${"y".repeat(MAX_BUFFERED_BODY_BYTES)}&apikey=${KEY}&end=1`);
    const got = await r.send(body, { headers: { ...FORM, second: KEY }, chunked: true });
    expect(got.status).toBe(200);
    expect(got.body.equals(body)).toBe(true);
  });
});

describe("key-auth key_in_body with hide_credentials", () => {
  let r: BodyRig;
  beforeAll(async () => {
    r = await keyAuthRig({ key_in_body: true, hide_credentials: true });
  });
  afterAll(() => r.close());

  const cases: [string, string, Record<string, string>, boolean, string][] = [
    ["urlencoded: the field goes, the others stay as sent", `a=1&apikey=${KEY}&b=%20+x`, FORM, false, "a=1&b=%20+x"],
    ["JSON: the key goes", JSON.stringify({ a: 1, apikey: KEY, b: [true] }), JSON_TYPE, false, '{"a":1,"b":[true]}'],
    ["multipart: the part goes", multipart([["a", "1"], ["apikey", KEY], ["f", "bytes", '; filename="f.txt"\r\nContent-Type: text/plain']]), MULTIPART, false, multipart([["a", "1"], ["f", "bytes", '; filename="f.txt"\r\nContent-Type: text/plain']])],
    ["a chunked body: sent with its new Content-Length", `apikey=${KEY}&keep=1`, FORM, true, "keep=1"],
  ];
  for (const [name, body, headers, chunked, expected] of cases) {
    test(`${name}; Content-Length follows, no Transfer-Encoding`, async () => {
      const got = await r.send(body, { headers, chunked });
      expect(got.status).toBe(200);
      expect(got.body.toString("latin1")).toBe(expected);
      expect(got.header("content-length")).toEqual([String(Buffer.byteLength(expected))]);
      expect(got.header("transfer-encoding")).toEqual([]);
    });
  }

  test("a key found in the header is removed from the header and from the body (Kong)", async () => {
    const got = await r.send(`apikey=${KEY}&keep=1`, { headers: { ...FORM, apikey: KEY } });
    expect(got.status).toBe(200);
    expect(got.header("apikey")).toEqual([]);
    expect(got.body.toString()).toBe("keep=1");
  });

  test("a body without the field is sent as it came", async () => {
    const got = await r.send('{ "keep" : 1 }', { headers: { ...JSON_TYPE, apikey: KEY } });
    expect(got.status).toBe(200);
    expect(got.body.toString()).toBe('{ "keep" : 1 }');
  });
});

describe("key-auth without key_in_body", () => {
  test("a body field is never a key, and the body is not read", async () => {
    const r = await keyAuthRig({});
    try {
      const got = await r.send(`apikey=${KEY}`, { headers: FORM });
      expect(got.status).toBe(401);
      expect(got.text).toBe(MISSING);
    } finally {
      await r.close();
    }
  });
});

describe("key-auth key_in_body and a client that goes away", () => {
  test("mid-body: logged as 499 client_gone, not as an internal error", async () => {
    const file = join(tempDir(), "access.log");
    const r = await startBodyRig((gateway, routeId) => {
      gateway.store.create("plugins", { name: "key-auth", route: { id: routeId }, config: { key_in_body: true } });
    }, { accessLog: file });
    try {
      const port = new URL(r.gateway.proxyUrl).port;
      const socket = createConnection({ host: "127.0.0.1", port: Number(port) });
      await new Promise((resolve) => socket.once("connect", resolve));
      socket.write("POST /api HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"api\r\n");
      await Bun.sleep(100);
      socket.destroy();
      let lines: Record<string, unknown>[] = [];
      for (let i = 0; i < 50 && lines.length === 0; i++) {
        await Bun.sleep(50);
        r.gateway.accessLog.flush();
        lines = readFileSync(file, "utf8").trim().split("\n").filter(Boolean).map((line) => JSON.parse(line));
      }
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ path: "/api", status: 499, error_code: "client_gone" });
    } finally {
      await r.close();
    }
  });
});
