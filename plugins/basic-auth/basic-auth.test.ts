// basic-auth: Kong 3.x's behaviour table through the real proxy, argon2id storage (never
// returned), the verified-header cache, and anonymous/acl as with jwt.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { builtinPlugins } from "../index.ts";
import { exportDeclarative, parseDeclarative } from "../../src/config/declarative.ts";
import { type AdminHarness, openAdmin } from "../../tests/admin-harness.ts";
import { type AuthRig, echoOf, startAuthRig } from "../../tests/support/auth.ts";
import { VerifiedPasswordCache } from "./verified-cache.ts";

const basic = (text: string) => `Basic ${Buffer.from(text).toString("base64")}`;
const GOOD = basic("alice:s3cret-pass");
const UNAUTHORIZED = '{"message":"Unauthorized"}';
const INVALID = '{"message":"Invalid authentication credentials"}';

function rig(plugins: { name: string; config?: Record<string, unknown> }[]): AuthRig {
  const r = startAuthRig([]);
  const store = r.gateway.store;
  const alice = store.create("consumers", { username: "alice" });
  store.create("basicauth_credentials", { username: "alice", password: "s3cret-pass" }, { kind: "consumers", id: alice.id });
  const guest = store.create("consumers", { username: "guest" });
  store.create("acls", { group: "everyone" }, { kind: "consumers", id: guest.id });
  for (const plugin of plugins) store.create("plugins", { ...plugin, route: { id: r.routeId } });
  return r;
}

describe("Kong's basic-auth table", () => {
  let r: AuthRig;
  beforeAll(() => {
    r = rig([{ name: "basic-auth" }]);
  });
  afterAll(() => r.close());

  const cases: [string, Record<string, string>, number, string | null][] = [
    ["no Authorization → 401 Unauthorized", {}, 401, UNAUTHORIZED],
    ["not Basic → 401 Invalid authentication credentials", { authorization: "Bearer abc" }, 401, INVALID],
    ["no colon → 401 invalid", { authorization: basic("alice") }, 401, INVALID],
    ["unknown user → 401 invalid", { authorization: basic("bob:s3cret-pass") }, 401, INVALID],
    ["wrong password → 401 invalid", { authorization: basic("alice:wrong") }, 401, INVALID],
    ["right password → 200", { authorization: GOOD }, 200, null],
    ["Proxy-Authorization is read when Authorization is absent", { "proxy-authorization": GOOD }, 200, null],
    // Kong reads Proxy-Authorization first, and Authorization when that one names no credential.
    ["both: Proxy-Authorization's credential wins over a bad Authorization", { "proxy-authorization": GOOD, authorization: basic("alice:wrong") }, 200, null],
    ["both: an unknown user in Proxy-Authorization, Authorization is read", { "proxy-authorization": basic("bob:x"), authorization: GOOD }, 200, null],
    ["both: not Basic in Proxy-Authorization, Authorization is read", { "proxy-authorization": "Bearer abc", authorization: GOOD }, 200, null],
    ["both: a wrong password for a known user in Proxy-Authorization is final", { "proxy-authorization": basic("alice:wrong"), authorization: GOOD }, 401, INVALID],
  ];
  for (const [name, headers, status, body] of cases) {
    test(name, async () => {
      const response = await r.get("/api", headers);
      expect(response.status).toBe(status);
      if (body !== null) {
        expect(await response.text()).toBe(body);
        expect(response.headers.get("www-authenticate")).toBe('Basic realm="service"');
      }
    });
  }

  test("success → consumer headers; X-Credential-Identifier is the username; Authorization forwarded", async () => {
    const echo = await echoOf(await r.get("/api", { authorization: GOOD }));
    expect(echo.headers["x-consumer-username"]).toBe("alice");
    expect(echo.headers["x-credential-identifier"]).toBe("alice");
    expect(echo.headers.authorization).toBe(GOOD);
  });

  test("a changed password: the cached verification of the old one no longer holds", async () => {
    expect((await r.get("/api", { authorization: GOOD })).status).toBe(200);
    r.gateway.store.update("basicauth_credentials", "alice", { password: "new-pass" });
    await Bun.sleep(50);
    expect((await r.get("/api", { authorization: GOOD })).status).toBe(401);
    expect((await r.get("/api", { authorization: basic("alice:new-pass") })).status).toBe(200);
    r.gateway.store.update("basicauth_credentials", "alice", { password: "s3cret-pass" });
  });
});

describe("basic-auth config", () => {
  test("hide_credentials and realm", async () => {
    const r = rig([{ name: "basic-auth", config: { hide_credentials: true, realm: "billing" } }]);
    try {
      expect((await echoOf(await r.get("/api", { authorization: GOOD }))).headers.authorization).toBeUndefined();
      expect((await r.get("/api")).headers.get("www-authenticate")).toBe('Basic realm="billing"');
    } finally {
      await r.close();
    }
  });

  test("anonymous + acl: no or wrong credentials → guest", async () => {
    const r = rig([{ name: "basic-auth", config: { anonymous: "guest" } }, { name: "acl", config: { allow: ["everyone"] } }]);
    try {
      for (const headers of [{}, { authorization: basic("alice:wrong") }] as Record<string, string>[]) {
        const echo = await echoOf(await r.get("/api", headers));
        expect(echo.headers["x-consumer-username"]).toBe("guest");
        expect(echo.headers["x-anonymous-consumer"]).toBe("true");
      }
      expect((await r.get("/api", { authorization: GOOD })).status).toBe(403);
    } finally {
      await r.close();
    }
  });
});

describe("the verified-header cache", () => {
  test("bounded in entries and bytes, oldest out first; a hit needs the same credential and hash", () => {
    const cache = new VerifiedPasswordCache(3, 1 << 20);
    for (const n of [1, 2, 3, 4]) cache.add(VerifiedPasswordCache.keyOf(`Basic ${n}`), "c", "h");
    expect(cache.size).toBe(3);
    expect(cache.has(VerifiedPasswordCache.keyOf("Basic 1"), "c", "h")).toBe(false);
    expect(cache.has(VerifiedPasswordCache.keyOf("Basic 4"), "c", "h")).toBe(true);
    expect(cache.has(VerifiedPasswordCache.keyOf("Basic 4"), "c", "other")).toBe(false);
    const small = new VerifiedPasswordCache(1000, 2000);
    for (let n = 0; n < 100; n++) small.add(VerifiedPasswordCache.keyOf(`Basic ${n}`), "c", "h".repeat(100));
    expect(small.byteSize).toBeLessThanOrEqual(2000);
  });

  test("a second request with the same header does not pay argon2 again", async () => {
    const r = rig([{ name: "basic-auth" }]);
    try {
      const header = { authorization: GOOD };
      await r.get("/api", header);
      const started = performance.now();
      for (let i = 0; i < 20; i++) expect((await r.get("/api", header)).status).toBe(200);
      const verify = performance.now();
      await Bun.password.verify("s3cret-pass", r.gateway.store.get("basicauth_credentials", "alice").password_hash);
      const oneArgon2 = performance.now() - verify;
      expect((verify - started) / 20).toBeLessThan(oneArgon2);
    } finally {
      await r.close();
    }
  });
});

describe("storage", () => {
  let admin: AdminHarness;
  beforeAll(async () => {
    admin = openAdmin();
    await admin.call("POST", "/consumers", { username: "alice" });
  });
  afterAll(() => admin.close());

  test("the password is stored as an argon2id hash and never returned", async () => {
    const created = await admin.call("POST", "/consumers/alice/basic-auth", { username: "alice", password: "pw-123456" });
    expect(created.status).toBe(201);
    expect(created.text).not.toContain("pw-123456");
    expect(created.body.password_hash).toBeUndefined();
    const read = await admin.call("GET", "/consumers/alice/basic-auth/alice");
    expect(read.status).toBe(200);
    expect(read.body.password).toBeUndefined();
    expect(read.body.password_hash).toBeUndefined();
    expect(admin.state()).not.toContain("pw-123456");
    expect(admin.state()).toContain("$argon2id$");
    expect((await admin.call("POST", "/consumers/alice/basic-auth", { username: "nopass" })).status).toBe(400);
  });

  test("declarative: plaintext hashed at load, the export carries the hash and loads back", async () => {
    const file = `_format_version: "3.0"\nconsumers:\n  - username: a\n    basicauth_credentials:\n      - username: a\n        password: file-pass\n`;
    const state = parseDeclarative(file, builtinPlugins);
    const exported = exportDeclarative(state, { format: "yaml" });
    expect(exported).not.toContain("file-pass");
    expect(exported).toContain("password_hash: $argon2id$");
    const again = parseDeclarative(exported, builtinPlugins);
    expect(await Bun.password.verify("file-pass", again.basicauth_credentials[0]!.password_hash)).toBe(true);
  });
});
