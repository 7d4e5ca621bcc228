// jwt-signer's response phase through the real proxy: which upstream responses are signed and
// which pass byte for byte, Content-Length and the headers that describe the old bytes, the
// flattened JSON serialization, and the 500 a missing signing key causes. Key sources: the
// keystore (newest active key, or one named by kid), a JWK set file, a JWK set URL.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { gzipSync } from "node:zlib";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type FlattenedJWS, compactVerify, decodeProtectedHeader, flattenedVerify, importJWK } from "jose";
import { MAX_SIGNED_BODY_BYTES } from "../plugins/jwt-signer/handler.ts";
import { generateKeyRecord } from "../src/keystore/generate.ts";
import { now } from "../src/entities/common.ts";
import { type KeyRecord } from "../src/entities/key.ts";
import { SIGNING_ALGORITHMS } from "../src/jose/algorithms.ts";
import { type TestGateway, startTestGateway } from "./support/gateway.ts";
import { type TestUpstream, startUpstream } from "./support/upstream.ts";

const CLAIMS = { sub: "user-1", scope: ["read"], nested: { deep: true } };
/** A JSON object just over the signing limit, with an object to sign in it. */
const HUGE = JSON.stringify({ token: CLAIMS, padding: "x".repeat(MAX_SIGNED_BODY_BYTES) });
const JSON_TYPE = { "content-type": "application/json" };

/** Upstream answers by path: `[status, headers, body bytes or text]`. */
const ANSWERS: Record<string, [number, Record<string, string>, string | Uint8Array]> = {
  "/ok": [200, { ...JSON_TYPE, etag: '"v1"', "x-kept": "yes" }, JSON.stringify({ token: CLAIMS, other: { n: 1 }, exp: 99 })],
  "/created": [201, { "content-type": "application/json; charset=utf-8" }, JSON.stringify({ token: CLAIMS })],
  "/problem": [200, { "content-type": "application/problem+json" }, JSON.stringify({ token: CLAIMS })],
  "/error": [400, JSON_TYPE, JSON.stringify({ token: CLAIMS })],
  "/server-error": [500, JSON_TYPE, JSON.stringify({ token: CLAIMS })],
  "/text": [200, { "content-type": "text/plain" }, JSON.stringify({ token: CLAIMS })],
  "/no-type": [200, {}, JSON.stringify({ token: CLAIMS })],
  "/invalid": [200, JSON_TYPE, '{"token": {"sub": '],
  "/array": [200, JSON_TYPE, JSON.stringify([{ token: CLAIMS }])],
  "/not-objects": [200, JSON_TYPE, '{ "token": "already-a-string",  "other": [1, 2] }'],
  "/compressed": [200, { ...JSON_TYPE, "content-encoding": "gzip" }, gzipSync(JSON.stringify({ token: CLAIMS }))],
  "/partial": [206, { ...JSON_TYPE, "content-range": "bytes 0-9/100" }, '{"token":{}'],
  "/no-content": [204, JSON_TYPE, ""],
  "/one-of-two": [200, JSON_TYPE, JSON.stringify({ token: CLAIMS, other: "plain" })],
};

let upstream: TestUpstream;
let gateway: TestGateway;
let dir: string;
let logFile: string;
let logRead = 0;

/** The gateway's log lines (access log and plugin events) written since the last call. */
function newLogLines(): string[] {
  gateway.accessLog.flush();
  const text = readFileSync(logFile, "utf8");
  const fresh = text.slice(logRead);
  logRead = text.length;
  return fresh.split("\n").filter(Boolean);
}

function bytesOf(body: string | Uint8Array): Uint8Array<ArrayBuffer> {
  return typeof body === "string" ? new TextEncoder().encode(body) : new Uint8Array(body);
}

/** A route `/<name>` to the upstream with a jwt-signer config. */
function signerRoute(name: string, config: Record<string, unknown>): void {
  const route = gateway.store.create("routes", { name, service: { name: "upstream" }, paths: [`/${name}`] });
  gateway.store.create("plugins", { name: "jwt-signer", route: { id: route.id }, config });
}

async function publicKeyOf(record: KeyRecord) {
  return importJWK(record.public_jwk as never, record.alg);
}

let es256: KeyRecord;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "signer-"));
  upstream = startUpstream((request) => {
    const path = new URL(request.url).pathname;
    if (path === "/huge") return new Response(HUGE, { headers: JSON_TYPE });
    if (path === "/huge-chunked") {
      // A stream has no Content-Length: the gateway finds out the size only while reading.
      const bytes = new TextEncoder().encode(HUGE);
      let at = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (at >= bytes.length) return controller.close();
          controller.enqueue(bytes.subarray(at, (at += 256 * 1024)));
        },
      });
      return new Response(body, { headers: JSON_TYPE });
    }
    const answer = ANSWERS[path];
    if (!answer) return Response.json({ message: "no such answer" }, { status: 404 });
    const [status, headers, body] = answer;
    return new Response(status === 204 ? null : bytesOf(body), { status, headers });
  });
  logFile = join(dir, "gateway.log");
  gateway = startTestGateway({ accessLog: logFile });
  es256 = gateway.store.insert("keys", generateKeyRecord({ alg: "ES256", kid: "es-key" }));
  gateway.store.create("services", { name: "upstream", url: upstream.url });
  signerRoute("sign", { alg: "ES256", keys_to_sign: ["token", "other", "__proto__", "constructor"] });
});

afterAll(async () => {
  await gateway.close();
  await upstream.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("responses that pass untouched", () => {
  const cases: [string, string][] = [
    ["a 4xx", "/error"],
    ["a 5xx", "/server-error"],
    ["a text/plain body", "/text"],
    ["a body without content type", "/no-type"],
    ["invalid JSON", "/invalid"],
    ["a JSON array", "/array"],
    ["listed keys that are not objects", "/not-objects"],
    ["a compressed body", "/compressed"],
    ["206 Partial Content", "/partial"],
  ];
  for (const [what, path] of cases) {
    test(`${what} → the upstream's bytes, status and Content-Length`, async () => {
      const [status, , body] = ANSWERS[path]!;
      // The client must not decompress either: the gzip bytes are what passes.
      const response = await gateway.request(`/sign${path}`, { decompress: false } as RequestInit);
      const received = new Uint8Array(await response.arrayBuffer());
      expect(response.status).toBe(status);
      expect(received).toEqual(bytesOf(body));
      expect(response.headers.get("content-length")).toBe(String(received.byteLength));
    });
  }

  for (const path of ["/huge", "/huge-chunked"]) {
    test(`a body over ${MAX_SIGNED_BODY_BYTES} bytes (${path}) streams through unsigned, byte for byte, and the skip is logged`, async () => {
      newLogLines();
      const response = await gateway.request(`/sign${path}`);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe(HUGE);
      expect(newLogLines().join("\n")).toContain("upstream response is too large to sign; passed unsigned");
    });
  }

  test("204 No Content and HEAD pass", async () => {
    expect((await gateway.request("/sign/no-content")).status).toBe(204);
    const head = await gateway.request("/sign/ok", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("etag")).toBe('"v1"');
  });

  test("the compressed response keeps its Content-Encoding, and the skip is logged", async () => {
    newLogLines();
    const response = await gateway.request("/sign/compressed", { headers: { "accept-encoding": "gzip" } });
    expect(response.headers.get("content-encoding")).toBe("gzip");
    expect(newLogLines().join("\n")).toContain("upstream response is compressed; passed unsigned");
  });

  test("listed keys that are missing or not objects are logged by name and type, never by value", async () => {
    newLogLines();
    await (await gateway.request("/sign/not-objects")).arrayBuffer();
    const lines = newLogLines();
    const line = JSON.parse(lines.find((l) => l.includes("keys_to_sign not signed"))!);
    expect(line).toMatchObject({ plugin: "jwt-signer", level: "warn" });
    expect(line.keys).toEqual([
      { key: "token", type: "string" },
      { key: "other", type: "array" },
      { key: "__proto__", type: "missing" },
      { key: "constructor", type: "missing" },
    ]);
    expect(lines.join("\n")).not.toContain("already-a-string");
  });
});

describe("signed responses", () => {
  test("each listed object becomes a compact JWS over its JSON, with kid, alg and typ", async () => {
    const response = await gateway.request("/sign/ok");
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(["token", "other", "exp"]);
    expect(body.exp).toBe(99);
    const key = await publicKeyOf(es256);
    for (const [name, claims] of [["token", CLAIMS], ["other", { n: 1 }]] as const) {
      const verified = await compactVerify(body[name] as string, key);
      expect(verified.protectedHeader).toEqual({ alg: "ES256", kid: "es-key", typ: "JWT" });
      expect(JSON.parse(new TextDecoder().decode(verified.payload))).toEqual(claims);
    }
  });

  test("Content-Length is the new body's; ETag is dropped; other headers stay", async () => {
    const response = await gateway.request("/sign/ok");
    const received = new Uint8Array(await response.arrayBuffer());
    expect(response.headers.get("content-length")).toBe(String(received.byteLength));
    expect(response.headers.get("etag")).toBeNull();
    expect(response.headers.get("x-kept")).toBe("yes");
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(response.headers.get("x-request-id")).toBeTruthy();
  });

  test("201 and a +json media type are signed too; a listed string next to an object stays", async () => {
    for (const path of ["/created", "/problem", "/one-of-two"]) {
      const body = (await (await gateway.request(`/sign${path}`)).json()) as Record<string, unknown>;
      expect(decodeProtectedHeader(body.token as string).kid).toBe("es-key");
      if (path === "/one-of-two") expect(body.other).toBe("plain");
    }
  });

  test("full: true → flattened JWS JSON serialization that jose's flattenedVerify accepts", async () => {
    signerRoute("full", { alg: "ES256", kid: "es-key", keys_to_sign: ["token"], full: true });
    const body = (await (await gateway.request("/full/ok")).json()) as { token: FlattenedJWS; other: unknown };
    expect(Object.keys(body.token).sort()).toEqual(["payload", "protected", "signature"]);
    const verified = await flattenedVerify(body.token, await publicKeyOf(es256));
    expect(verified.protectedHeader).toEqual({ alg: "ES256", kid: "es-key" });
    expect(JSON.parse(new TextDecoder().decode(verified.payload))).toEqual(CLAIMS);
    expect(body.other).toEqual({ n: 1 });
  });
});

describe("which key signs", () => {
  test.each(SIGNING_ALGORITHMS.filter((alg) => alg !== "ES256"))("a keystore %s key signs; the JWS verifies with its public half", async (alg) => {
    // Retired (without retire_after: still published, still signing when named), so that no
    // algorithm gains an active key the other tests do not expect.
    const record = gateway.store.insert("keys", generateKeyRecord({ alg, kid: `every-${alg}`, status: "retired" }));
    signerRoute(`every-${alg.toLowerCase()}`, { alg, kid: record.kid, keys_to_sign: ["token"] });
    const body = (await (await gateway.request(`/every-${alg.toLowerCase()}/ok`)).json()) as { token: string };
    const verified = await compactVerify(body.token, await publicKeyOf(record), { algorithms: [alg] });
    expect(verified.protectedHeader).toEqual({ alg, kid: record.kid, typ: "JWT" });
  });


  test("without kid: the newest active key of alg; with kid: that key", async () => {
    const older = gateway.store.insert("keys", { ...generateKeyRecord({ alg: "PS256", kid: "ps-old" }), created_at: now() - 100 });
    gateway.store.insert("keys", generateKeyRecord({ alg: "PS256", kid: "ps-retired", status: "retired" }));
    const newest = gateway.store.insert("keys", generateKeyRecord({ alg: "PS256", kid: "ps-new" }));
    signerRoute("newest", { alg: "PS256", keys_to_sign: ["token"] });
    signerRoute("named", { alg: "PS256", kid: "ps-old", keys_to_sign: ["token"] });
    const byNewest = (await (await gateway.request("/newest/ok")).json()) as { token: string };
    await compactVerify(byNewest.token, await publicKeyOf(newest));
    const byName = (await (await gateway.request("/named/ok")).json()) as { token: string };
    await compactVerify(byName.token, await publicKeyOf(older));
  });

  test("a named retired key signs until its retire_after, then the route answers 500", async () => {
    const record = gateway.store.insert("keys", generateKeyRecord({ alg: "ES384", kid: "es384", status: "retired", retire_after: now() + 3600 }));
    signerRoute("retiring", { alg: "ES384", kid: "es384", keys_to_sign: ["token"] });
    const body = (await (await gateway.request("/retiring/ok")).json()) as { token: string };
    await compactVerify(body.token, await publicKeyOf(record));
    gateway.store.replaceRow("keys", { ...record, retire_after: now() - 1 });
    newLogLines();
    const response = await gateway.request("/retiring/ok");
    expect([response.status, await response.text()]).toEqual([500, '{"message":"An unexpected error occurred"}']);
    expect(newLogLines().join("\n")).toContain("keystore key 'es384' is retired and past its retire_after");
  });

  test("no key for alg → 500 with the proxy's message and request id, the reason logged", async () => {
    signerRoute("keyless", { alg: "EdDSA", keys_to_sign: ["token"] });
    newLogLines();
    const response = await gateway.request("/keyless/ok", { headers: { "x-request-id": "req-keyless" } });
    expect(response.status).toBe(500);
    expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(response.headers.get("x-request-id")).toBe("req-keyless");
    expect(await response.text()).toBe('{"message":"An unexpected error occurred"}');
    const line = JSON.parse(newLogLines().find((l) => l.includes("no key to sign with"))!);
    expect(line).toMatchObject({ level: "error", request_id: "req-keyless", reason: "the keystore has no active EdDSA key with a private half" });
  });

  test("without a listed object the key is not needed: no 500", async () => {
    const response = await gateway.request("/keyless/not-objects");
    expect(response.status).toBe(200);
  });
});

describe("JWK sets kept outside the keystore", () => {
  const jwkSet = (...records: KeyRecord[]) => JSON.stringify({ keys: records.map((r) => r.private_jwk) });

  test("jwk_file: read when the plugin is created, the kid chosen from the set, re-read after cache_duration", async () => {
    const [a, b] = [generateKeyRecord({ alg: "ES256", kid: "file-a" }), generateKeyRecord({ alg: "ES256", kid: "file-b" })];
    const file = join(dir, "signing.jwks.json");
    writeFileSync(file, jwkSet(b, a));
    signerRoute("file", { alg: "ES256", kid: "file-a", jwk_file: file, cache_duration: 1, keys_to_sign: ["token"] });
    const first = (await (await gateway.request("/file/ok")).json()) as { token: string };
    await compactVerify(first.token, await publicKeyOf(a));
    const a2 = generateKeyRecord({ alg: "ES256", kid: "file-a" });
    writeFileSync(file, jwkSet(a2));
    await Bun.sleep(1100);
    // The first request after the TTL starts the re-read and is served with the cached key.
    await (await gateway.request("/file/ok")).arrayBuffer();
    await Bun.sleep(50);
    const second = (await (await gateway.request("/file/ok")).json()) as { token: string };
    await compactVerify(second.token, await publicKeyOf(a2));
  });

  test("jwk_url: fetched in the background; a request never waits for a slow URL", async () => {
    const key = generateKeyRecord({ alg: "RS256", kid: "remote" });
    const slow = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: async () => {
        await Bun.sleep(700);
        return new Response(jwkSet(key), { headers: JSON_TYPE });
      },
    });
    try {
      signerRoute("remote", { alg: "RS256", kid: "remote", jwk_url: `http://127.0.0.1:${slow.port}/keys`, disable_jwk_security: true, keys_to_sign: ["token"] });
      newLogLines();
      const started = performance.now();
      const cold = await gateway.request("/remote/ok");
      expect(performance.now() - started).toBeLessThan(500);
      expect(cold.status).toBe(500);
      expect(newLogLines().join("\n")).toContain("is still loading");
      await Bun.sleep(900);
      const warm = (await (await gateway.request("/remote/ok")).json()) as { token: string };
      await compactVerify(warm.token, await publicKeyOf(key));
    } finally {
      slow.stop(true);
    }
  });

  test("a key of the set without its private part (refused on write when the file is readable), or an unreadable file → 500 with the reason logged", async () => {
    const record = generateKeyRecord({ alg: "ES256", kid: "public-only" });
    const file = join(dir, "public.jwks.json");
    writeFileSync(file, JSON.stringify({ keys: [record.public_jwk] }));
    expect(() => signerRoute("public-only-refused", { alg: "ES256", kid: "public-only", jwk_file: file, keys_to_sign: ["token"] })).toThrow("has no private part");
    // The file changes after the write: the request says why it cannot sign.
    writeFileSync(file, JSON.stringify({ keys: [record.private_jwk] }));
    signerRoute("public-only", { alg: "ES256", kid: "public-only", jwk_file: file, cache_duration: 1, keys_to_sign: ["token"] });
    writeFileSync(file, JSON.stringify({ keys: [record.public_jwk] }));
    await Bun.sleep(1100);
    await (await gateway.request("/public-only/ok")).arrayBuffer();
    await Bun.sleep(50);
    signerRoute("missing-file", { alg: "ES256", kid: "x", jwk_file: join(dir, "absent.json"), keys_to_sign: ["token"] });
    newLogLines();
    for (const path of ["/public-only/ok", "/missing-file/ok"]) expect((await gateway.request(path)).status).toBe(500);
    const logged = newLogLines().join("\n");
    expect(logged).toContain("key 'public-only' of JWK set");
    expect(logged).toContain("has no private part");
    expect(logged).toContain("absent.json could not be read");
  });
});
