// The keystore behind jwt-signer: lifecycle rules (published, newest active), rotation, the
// JWKS endpoint on the proxy listener, and that no private key material leaves the gateway
// through the admin API, an export without --include-private-keys, a log line or an error body.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createAdminApp } from "../src/admin/server.ts";
import { parseDeclarative } from "../src/config/declarative.ts";
import { exportDeclarative } from "../src/config/export.ts";
import { openCore } from "../src/gateway.ts";
import { ValidationError } from "../src/errors.ts";
import { generateKeyRecord } from "../src/keystore/generate.ts";
import { JWKS_PATH, createJwksEndpoint } from "../src/keystore/jwks.ts";
import { isPublished, newestActiveKey, nextExpiry } from "../src/keystore/lifecycle.ts";
import { DEFAULT_ROTATION_GRACE_SECONDS, rotateKey } from "../src/keystore/rotate.ts";
import { now } from "../src/entities/common.ts";
import type { KeyRecord } from "../src/entities/key.ts";
import type { Snapshot } from "../src/state/snapshot.ts";
import { type TestGateway, startTestGateway, tempDir } from "./support/gateway.ts";
import { type TestUpstream, startUpstream } from "./support/upstream.ts";

const T0 = 1_800_000_000;
const key = (fields: Partial<KeyRecord>): KeyRecord => ({ ...generateKeyRecord({ alg: "ES256" }), ...fields });

describe("key lifecycle", () => {
  test.each([
    ["active", null, true],
    ["active", T0 - 1, true],
    ["retired", null, true],
    ["retired", T0 + 1, true],
    ["retired", T0, false],
    ["retired", T0 - 1, false],
  ] as const)("%s with retire_after %p → published: %p", (status, retireAfter, published) => {
    expect(isPublished({ status, retire_after: retireAfter }, T0)).toBe(published);
  });

  test("newest active key: latest created_at with a private half; a tie goes to the one stored last", () => {
    const keys = [
      key({ kid: "old", created_at: T0 - 10 }),
      key({ kid: "tie-1", created_at: T0 }),
      key({ kid: "tie-2", created_at: T0 }),
      key({ kid: "retired", created_at: T0 + 5, status: "retired" }),
      key({ kid: "public-only", created_at: T0 + 5, private_jwk: null }),
      { ...generateKeyRecord({ alg: "RS256", kid: "other-alg" }), created_at: T0 + 9 },
    ];
    expect(newestActiveKey(keys, "ES256")?.kid).toBe("tie-2");
    expect(newestActiveKey(keys, "EdDSA")).toBeUndefined();
  });

  test("next expiry: the earliest future retire_after of a retired key", () => {
    const keys = [key({ status: "retired", retire_after: T0 + 50 }), key({ status: "retired", retire_after: T0 + 20 }), key({ status: "retired", retire_after: T0 - 5 }), key({ retire_after: T0 + 1 })];
    expect(nextExpiry(keys, T0)).toBe(T0 + 20);
    expect(nextExpiry([key({})], T0)).toBeNull();
  });
});

describe("rotateKey", () => {
  let gateway: TestGateway;
  beforeAll(() => (gateway = startTestGateway()));
  afterAll(() => gateway.close());

  test("a new active key; the active keys of the same alg are retired for `grace`; other algs untouched", () => {
    const { store } = gateway;
    for (const kid of ["es-1", "es-2"]) store.insert("keys", generateKeyRecord({ alg: "ES256", kid }));
    store.insert("keys", generateKeyRecord({ alg: "RS256", kid: "rs-1" }));
    const before = now();
    const { key: created, retired } = rotateKey(store, { alg: "ES256", kid: "es-3", grace: 600 });
    expect([created.kid, created.status, created.alg]).toEqual(["es-3", "active", "ES256"]);
    expect(retired.map((k) => k.kid)).toEqual(["es-1", "es-2"]);
    for (const kid of ["es-1", "es-2"]) {
      const stored = store.get("keys", kid);
      expect(stored.status).toBe("retired");
      expect(stored.retire_after! - before).toBeGreaterThanOrEqual(600);
      expect(stored.retire_after! - before).toBeLessThanOrEqual(601);
    }
    expect(store.get("keys", "rs-1").status).toBe("active");
    expect(newestActiveKey(gateway.state.current.keys, "ES256")?.kid).toBe("es-3");
  });

  test("default grace is one day; a generated kid when none is given; a bad grace changes nothing", () => {
    const { key: created, retired } = rotateKey(gateway.store, { alg: "ES256" });
    expect(created.kid.length).toBeGreaterThan(0);
    expect(retired.map((k) => k.kid)).toEqual(["es-3"]);
    expect(retired[0]!.retire_after! - now()).toBeGreaterThan(DEFAULT_ROTATION_GRACE_SECONDS - 5);
    const count = gateway.store.count("keys");
    expect(() => rotateKey(gateway.store, { alg: "ES256", grace: -1 })).toThrow(ValidationError);
    expect(gateway.store.count("keys")).toBe(count);
  });
});

describe(`GET ${JWKS_PATH}`, () => {
  let gateway: TestGateway;
  beforeAll(() => {
    gateway = startTestGateway();
    const { store } = gateway;
    store.insert("keys", generateKeyRecord({ alg: "ES256", kid: "active-es" }));
    store.insert("keys", generateKeyRecord({ alg: "RS256", kid: "active-rs" }));
    store.insert("keys", generateKeyRecord({ alg: "EdDSA", kid: "retired-later", status: "retired", retire_after: now() + 3600 }));
    store.insert("keys", generateKeyRecord({ alg: "ES384", kid: "retired-expired", status: "retired", retire_after: now() - 1 }));
    store.insert("keys", { ...generateKeyRecord({ alg: "PS256", kid: "public-only" }), private_jwk: null });
  });
  afterAll(() => gateway.close());

  test("the public halves of active, retired-but-not-expired and public-only keys", async () => {
    const response = await gateway.request(JWKS_PATH);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
    const { keys } = (await response.json()) as { keys: Record<string, unknown>[] };
    expect(keys.map((k) => [k.kid, k.alg, k.use])).toEqual([
      ["active-es", "ES256", "sig"],
      ["active-rs", "RS256", "sig"],
      ["retired-later", "EdDSA", "sig"],
      ["public-only", "PS256", "sig"],
    ]);
    const allowed = new Set(["kty", "crv", "x", "y", "n", "e", "kid", "alg", "use"]);
    for (const jwk of keys) expect(Object.keys(jwk).filter((member) => !allowed.has(member))).toEqual([]);
  });

  test("Cache-Control: public, max-age=300 while no listed key expires sooner", async () => {
    expect((await gateway.request(JWKS_PATH)).headers.get("cache-control")).toBe("public, max-age=300");
  });

  test("HEAD answers the headers without a body; other methods 405 with Allow", async () => {
    const head = await gateway.request(JWKS_PATH, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("cache-control")).toBe("public, max-age=300");
    expect(await head.text()).toBe("");
    const post = await gateway.request(JWKS_PATH, { method: "POST", body: "{}" });
    expect([post.status, post.headers.get("allow"), await post.text()]).toEqual([405, "GET, HEAD", '{"message":"Method not allowed"}']);
  });

  test("a key change shows in the next response (a new snapshot)", async () => {
    const record = gateway.store.get("keys", "active-rs");
    gateway.store.replaceRow("keys", { ...record, status: "retired", retire_after: now() - 1 });
    const { keys } = (await (await gateway.request(JWKS_PATH)).json()) as { keys: { kid: string }[] };
    expect(keys.map((k) => k.kid)).toEqual(["active-es", "retired-later", "public-only"]);
  });

  test("built once per snapshot, again when a retired key expires; max-age counts down to it", async () => {
    let clock = T0;
    const endpoint = createJwksEndpoint(() => clock);
    const keys = [key({ kid: "live" }), key({ kid: "leaving", status: "retired", retire_after: T0 + 100 })];
    const snapshot = { keys } as unknown as Snapshot;
    const read = async () => {
      const response = await endpoint(new Request("http://gateway/.well-known/jwks.json"), snapshot);
      const { keys: listed } = (await response.json()) as { keys: { kid: string }[] };
      return [listed.map((k) => k.kid), response.headers.get("cache-control")];
    };
    expect(await read()).toEqual([["live", "leaving"], "public, max-age=100"]);
    // The snapshot's key list is immutable; a change here shows only that the body was kept.
    keys.push(key({ kid: "not-rebuilt" }));
    clock = T0 + 99;
    expect(await read()).toEqual([["live", "leaving"], "public, max-age=1"]);
    clock = T0 + 100;
    expect(await read()).toEqual([["live", "not-rebuilt"], "public, max-age=300"]);
  });
});

describe("private key material stays inside", () => {
  let dir: string;
  let gateway: TestGateway;
  let upstream: TestUpstream;
  const outputs: [string, string][] = [];

  const admin = () =>
    createAdminApp({ store: gateway.store, state: gateway.state, metrics: gateway.metrics, registry: gateway.registry, mode: "database", version: "0.0.0-test", startedAt: Date.now() });
  async function record(what: string, response: Response | Promise<Response>): Promise<Response> {
    const resolved = await response;
    outputs.push([`${what} (${resolved.status})`, `${JSON.stringify([...resolved.headers])}\n${await resolved.clone().text()}`]);
    return resolved;
  }

  beforeAll(() => {
    dir = tempDir();
    upstream = startUpstream(() => Response.json({ access_token: { sub: "u" }, refresh_token: "not an object" }));
    gateway = startTestGateway({ accessLog: join(dir, "access.log") });
    const { store } = gateway;
    for (const alg of ["ES256", "RS256", "EdDSA"] as const) store.insert("keys", generateKeyRecord({ alg, kid: `k-${alg}` }));
    store.create("services", { name: "issuer", url: upstream.url });
    const token = store.create("routes", { name: "token", service: { name: "issuer" }, paths: ["/token"] });
    store.create("plugins", { name: "jwt-signer", route: { id: token.id }, config: { alg: "RS256", keys_to_sign: ["access_token", "refresh_token"] } });
    const broken = store.create("routes", { name: "broken", service: { name: "issuer" }, paths: ["/broken"] });
    store.create("plugins", { name: "jwt-signer", route: { id: broken.id }, config: { alg: "ES512", keys_to_sign: ["access_token"] } });
  });
  afterAll(async () => {
    await gateway.close();
    await upstream.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("admin API, exports, proxy responses, logs and error bodies hold no private JWK member", async () => {
    const app = admin();
    const call = (method: string, path: string, body?: unknown) =>
      record(`admin ${method} ${path}`, app.handle(new Request(`http://localhost${path}`, { method, headers: { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) })));
    expect((await call("POST", "/keys", { alg: "PS384", kid: "k-admin" })).status).toBe(201);
    expect((await call("POST", "/keys", { alg: "PS384", kid: "k-admin" })).status).toBe(409);
    for (const path of ["/keys", "/keys/k-ES256", "/keys/k-admin", "/config", "/config?format=json", "/plugins"]) expect((await call("GET", path)).status).toBe(200);
    expect((await call("PATCH", "/keys/k-EdDSA", { status: "retired", retire_after: now() + 60 })).status).toBe(200);
    rotateKey(gateway.store, { alg: "ES256", kid: "k-rotated" });

    for (const path of ["/token", "/broken", JWKS_PATH]) await record(`proxy GET ${path}`, gateway.request(path));
    await record(`proxy POST ${JWKS_PATH}`, gateway.request(JWKS_PATH, { method: "POST" }));
    const data = gateway.store.loadAll();
    for (const format of ["yaml", "json"] as const) outputs.push([`export ${format}`, exportDeclarative(data, { format })]);
    gateway.accessLog.flush();
    const accessLog = readFileSync(join(dir, "access.log"), "utf8");
    outputs.push(["access log", accessLog]);

    const secrets = data.keys.flatMap((k) => ["d", "p", "q", "dp", "dq", "qi"].map((member) => k.private_jwk?.[member]).filter((v): v is string => typeof v === "string"));
    // Two RSA keys (d, p, q, dp, dq, qi) and three EC/OKP keys (d).
    expect(data.keys.length).toBe(5);
    expect(secrets.length).toBe(2 * 6 + 3);
    // The checks can see a leak: with the flag the export does hold the private halves.
    expect(exportDeclarative(data, { format: "json", includePrivateKeys: true })).toContain(secrets[0]!);
    // And the outputs are the ones expected: a signed token, a 500, their log lines and events.
    expect(outputs.find(([what]) => what === "proxy GET /token (200)")).toBeDefined();
    expect(outputs.find(([what]) => what === "proxy GET /broken (500)")).toBeDefined();
    for (const line of ['"path":"/broken","status":500', "keys_to_sign not signed", "no key to sign with"]) expect(accessLog).toContain(line);

    const leaks = outputs.filter(([, text]) => secrets.some((secret) => text.includes(secret))).map(([what]) => what);
    expect(leaks).toEqual([]);
  });
});

describe("write-time key references", () => {
  test("a jwt-signer naming a kid that is not in the keystore is refused by the store and by a declarative file", () => {
    const core = openCore({ db: ":memory:" });
    try {
      const config = { alg: "ES256", kid: "missing", keys_to_sign: ["access_token"] };
      expect(() => core.store.create("plugins", { name: "jwt-signer", config })).toThrow(/config\.kid: no key 'missing' in the keystore/);
      const file = `_format_version: "3.0"\nplugins:\n  - name: jwt-signer\n    config: { alg: ES256, kid: missing, keys_to_sign: [access_token] }\n`;
      expect(() => parseDeclarative(file, core.registry)).toThrow(/no key 'missing' in the keystore/);
      core.store.insert("keys", generateKeyRecord({ alg: "ES256", kid: "missing" }));
      expect(core.store.create("plugins", { name: "jwt-signer", config }).config.kid).toBe("missing");
    } finally {
      core.opened.sqlite.close();
    }
  });
});
