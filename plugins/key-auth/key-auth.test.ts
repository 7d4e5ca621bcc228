// key-auth: Kong 3.x's behaviour table through the real proxy (statuses, bodies, headers), the
// digest-only storage through the admin API, declarative files and exports, and the interplay
// with acl and anonymous.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { builtinPlugins } from "../index.ts";
import { exportDeclarative, parseDeclarative } from "../../src/config/declarative.ts";
import { type AdminHarness, openAdmin } from "../../tests/admin-harness.ts";
import { type AuthRig, echoOf, startAuthRig } from "../../tests/support/auth.ts";
import { keyDigest } from "./credential.ts";

const KEY = "alice-secret-key-0123456789";
const MISSING = '{"message":"No API key found in request"}';
const INVALID = '{"message":"Invalid authentication credentials"}';

function rig(plugins: { name: string; config?: Record<string, unknown> }[]): AuthRig {
  const r = startAuthRig([]);
  const store = r.gateway.store;
  const alice = store.create("consumers", { username: "alice", custom_id: "a-1" });
  store.create("keyauth_credentials", { key: KEY }, { kind: "consumers", id: alice.id });
  store.create("consumers", { username: "guest" });
  for (const plugin of plugins) store.create("plugins", { ...plugin, route: { id: r.routeId } });
  return r;
}

describe("Kong's key-auth table", () => {
  let r: AuthRig;
  beforeAll(() => {
    r = rig([{ name: "key-auth" }]);
  });
  afterAll(() => r.close());

  const cases: [string, string, Record<string, string>, number, string | null][] = [
    ["no key → 401 No API key found", "/api", {}, 401, MISSING],
    ["an empty apikey header → 401 No API key found", "/api", { apikey: "" }, 401, MISSING],
    ["an unknown key → 401 Invalid authentication credentials", "/api", { apikey: "nope" }, 401, INVALID],
    ["an unknown key in the query → 401", "/api?apikey=nope", {}, 401, INVALID],
    ["a repeated query parameter → 401 Duplicate API key found", `/api?apikey=${KEY}&apikey=x`, {}, 401, '{"message":"Duplicate API key found"}'],
    ["the key in the apikey header → 200", "/api", { apikey: KEY }, 200, null],
    ["the key in the query → 200", `/api?apikey=${KEY}`, {}, 200, null],
    ["the header wins over the query", "/api?apikey=nope", { apikey: KEY }, 200, null],
  ];
  for (const [name, path, headers, status, body] of cases) {
    test(name, async () => {
      const response = await r.get(path, headers);
      expect(response.status).toBe(status);
      if (body !== null) {
        expect(await response.text()).toBe(body);
        expect(response.headers.get("www-authenticate")).toBe('Key realm="kong"');
        expect(response.headers.get("content-type")).toContain("application/json");
      }
    });
  }

  test("success → consumer headers, X-Credential-Identifier is the credential id, key still forwarded", async () => {
    const echo = await echoOf(await r.get("/api", { apikey: KEY, "x-consumer-id": "spoofed", "x-credential-identifier": "spoofed" }));
    const [credential] = r.gateway.store.list("keyauth_credentials", { size: 10, offset: 0 }).data;
    expect(echo.headers["x-consumer-username"]).toBe("alice");
    expect(echo.headers["x-consumer-custom-id"]).toBe("a-1");
    expect(echo.headers["x-consumer-id"]).toBe(r.gateway.store.get("consumers", "alice").id);
    expect(echo.headers["x-credential-identifier"]).toBe(credential!.id);
    expect(echo.headers["x-anonymous-consumer"]).toBeUndefined();
    expect(echo.headers.apikey).toBe(KEY);
  });
});

describe("key-auth config", () => {
  test("hide_credentials removes the key from the header and the query", async () => {
    const r = rig([{ name: "key-auth", config: { hide_credentials: true } }]);
    try {
      const fromHeader = await echoOf(await r.get("/api?keep=1", { apikey: KEY }));
      expect(fromHeader.headers.apikey).toBeUndefined();
      const fromQuery = await echoOf(await r.get(`/api?apikey=${KEY}&keep=1`));
      expect(fromQuery.query).toBe("?keep=1");
    } finally {
      await r.close();
    }
  });

  test("key_names, key_in_header: false, key_in_query: false and realm", async () => {
    const r = rig([{ name: "key-auth", config: { key_names: ["x-api-key", "token"], key_in_query: false, realm: "billing" } }]);
    try {
      expect((await r.get("/api", { "x-api-key": KEY })).status).toBe(200);
      expect((await r.get("/api", { token: KEY })).status).toBe(200);
      const query = await r.get(`/api?token=${KEY}`);
      expect(query.status).toBe(401);
      expect(query.headers.get("www-authenticate")).toBe('Key realm="billing"');
    } finally {
      await r.close();
    }
    const q = rig([{ name: "key-auth", config: { key_in_header: false } }]);
    try {
      expect((await q.get("/api", { apikey: KEY })).status).toBe(401);
      expect((await q.get(`/api?apikey=${KEY}`)).status).toBe(200);
    } finally {
      await q.close();
    }
  });

  test("run_on_preflight: false lets OPTIONS through without a key", async () => {
    const r = rig([{ name: "key-auth", config: { run_on_preflight: false } }]);
    try {
      expect((await r.get("/api", {}, { method: "OPTIONS" })).status).toBe(200);
      expect((await r.get("/api")).status).toBe(401);
    } finally {
      await r.close();
    }
  });

  test("refused on write: an identity header as a key name, an unknown anonymous consumer (key_in_body is accepted)", () => {
    const r = rig([]);
    try {
      const create = (config: Record<string, unknown>) => () => r.gateway.store.create("plugins", { name: "key-auth", config });
      expect(create({ key_in_body: true, hide_credentials: true })).not.toThrow();
      expect(create({ key_in_body: "yes" })).toThrow(/key_in_body/);
      expect(create({ key_names: ["X-Consumer-ID"] })).toThrow(/identity header/);
      expect(create({ anonymous: "nobody" })).toThrow(/no consumer/);
    } finally {
      void r.close();
    }
  });
});

describe("key-auth with anonymous and acl, as jwt", () => {
  const setup = (plugins: { name: string; config?: Record<string, unknown> }[]) => {
    const r = rig([]);
    const store = r.gateway.store;
    store.create("acls", { group: "everyone" }, { kind: "consumers", id: store.get("consumers", "guest").id });
    store.create("acls", { group: "staff" }, { kind: "consumers", id: store.get("consumers", "alice").id });
    for (const plugin of plugins) store.create("plugins", { ...plugin, route: { id: r.routeId } });
    return r;
  };

  test("key-auth.anonymous: no key or a bad key → the anonymous consumer, without X-Credential-Identifier", async () => {
    const r = setup([{ name: "key-auth", config: { anonymous: "guest" } }]);
    try {
      for (const headers of [{}, { apikey: "wrong" }] as Record<string, string>[]) {
        const echo = await echoOf(await r.get("/api", headers));
        expect(echo.headers["x-consumer-username"]).toBe("guest");
        expect(echo.headers["x-anonymous-consumer"]).toBe("true");
        expect(echo.headers["x-credential-identifier"]).toBeUndefined();
      }
    } finally {
      await r.close();
    }
  });

  test("the anonymous plugin (on: missing): no key → guest; a bad key keeps its 401", async () => {
    const r = setup([{ name: "key-auth" }, { name: "anonymous", config: { consumer: "guest" } }, { name: "acl", config: { allow: ["everyone", "staff"] } }]);
    try {
      expect((await echoOf(await r.get("/api"))).headers["x-consumer-groups"]).toBe("everyone");
      const bad = await r.get("/api", { apikey: "wrong" });
      expect(bad.status).toBe(401);
      expect(await bad.text()).toBe(INVALID);
      expect((await echoOf(await r.get("/api", { apikey: KEY }))).headers["x-consumer-groups"]).toBe("staff");
    } finally {
      await r.close();
    }
  });

  test("acl after key-auth: a consumer outside the allowed groups → 403", async () => {
    const r = setup([{ name: "key-auth" }, { name: "acl", config: { allow: ["admins"] } }]);
    try {
      const response = await r.get("/api", { apikey: KEY });
      expect(response.status).toBe(403);
      expect(await response.text()).toBe('{"message":"You cannot consume this service"}');
    } finally {
      await r.close();
    }
  });
});

describe("keys are stored as digests", () => {
  let admin: AdminHarness;
  beforeAll(async () => {
    admin = openAdmin();
    await admin.call("POST", "/consumers", { username: "alice" });
  });
  afterAll(() => admin.close());

  test("a generated key is in the create response only; reads and lists show neither key nor digest", async () => {
    const created = await admin.call("POST", "/consumers/alice/key-auth", {});
    expect(created.status).toBe(201);
    expect(created.body.key).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(created.body.key_digest).toBeUndefined();
    const read = await admin.call("GET", `/consumers/alice/key-auth/${created.body.id}`);
    expect(read.status).toBe(200);
    expect(read.body.key).toBeUndefined();
    expect(read.body.key_digest).toBeUndefined();
    const list = await admin.call("GET", "/key-auths");
    expect(list.text).not.toContain(created.body.key);
    expect(list.text).not.toContain(keyDigest(created.body.key));
    expect(admin.state()).not.toContain(created.body.key);
    expect(admin.state()).toContain(keyDigest(created.body.key));
  });

  test("a given key is echoed once; a duplicate key is a 409; items are addressed by id only", async () => {
    const created = await admin.call("POST", "/key-auths", { consumer: { username: "alice" }, key: "my-own-key-123" });
    expect(created.status).toBe(201);
    expect(created.body.key).toBe("my-own-key-123");
    expect((await admin.call("POST", "/consumers/alice/key-auth", { key: "my-own-key-123" })).status).toBe(409);
    expect((await admin.call("GET", "/consumers/alice/key-auth/my-own-key-123")).status).toBe(404);
    const patched = await admin.call("PATCH", `/key-auths/${created.body.id}`, { tags: ["x"] });
    expect(patched.body.key).toBeUndefined();
    expect(patched.body.tags).toEqual(["x"]);
  });
});

describe("declarative files", () => {
  const file = `_format_version: "3.0"
consumers:
  - username: alice
    keyauth_credentials:
      - key: file-key-123
keyauth_credentials:
  - consumer: alice
    key_digest: ${keyDigest("digest-only-key")}
`;

  test("plaintext keys are digested at load; the export carries digests, and loads back the same", () => {
    const state = parseDeclarative(file, builtinPlugins);
    expect(JSON.stringify(state)).not.toContain("file-key-123");
    expect(state.keyauth_credentials.map((c) => c.key_digest).sort()).toEqual([keyDigest("file-key-123"), keyDigest("digest-only-key")].sort());
    const exported = exportDeclarative(state, { format: "yaml" });
    expect(exported).not.toContain("file-key-123");
    expect(exported).toContain(`key_digest: ${keyDigest("file-key-123")}`);
    const again = parseDeclarative(exported, builtinPlugins);
    expect(again.keyauth_credentials).toEqual(state.keyauth_credentials.map((c) => ({ ...c, created_at: expect.any(Number), updated_at: expect.any(Number) })) as never);
  });

  test("an entry with neither key nor key_digest is refused", () => {
    expect(() => parseDeclarative(`_format_version: "3.0"\nconsumers:\n  - username: a\n    keyauth_credentials: [{}]\n`, builtinPlugins)).toThrow(/consumers\[0\]\.keyauth_credentials\[0\]/);
  });
});
