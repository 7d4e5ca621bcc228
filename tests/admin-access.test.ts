// Who may do what: the admin token (constant-time, every path but the docs) and declarative
// mode (entity writes refused with 405; POST /config still replaces the state).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { adminOperations } from "../src/admin/server.ts";
import { type AdminHarness, listenAdmin, openAdmin } from "./admin-harness.ts";

describe("admin token", () => {
  const TOKEN = "s3cret-admin-token";
  let admin: AdminHarness;
  beforeAll(() => {
    admin = openAdmin({ adminToken: TOKEN });
  });
  afterAll(() => admin.close());
  const auth = (value: string) => ({ headers: { authorization: value } });

  test.each([
    ["no Authorization header", undefined],
    ["a wrong token", `Bearer wrong-token`],
    ["a token that is a prefix of the right one", `Bearer ${TOKEN.slice(0, -1)}`],
    ["the right token with another scheme", `Basic ${TOKEN}`],
    ["the right token with trailing junk", `Bearer ${TOKEN} extra`],
    ["an empty bearer", "Bearer "],
  ])("%s → 401 JSON with WWW-Authenticate", async (_, header) => {
    for (const [method, path] of [["GET", "/"], ["GET", "/consumers"], ["POST", "/consumers"], ["GET", "/no/such/path"], ["GET", "/metrics"], ["POST", "/config"]] as const) {
      const reply = await admin.call(method, path, method === "POST" ? { username: "x" } : undefined, header ? auth(header) : {});
      expect(reply.status).toBe(401);
      expect(reply.headers.get("content-type")).toBe("application/json; charset=utf-8");
      expect(reply.headers.get("www-authenticate")).toStartWith("Bearer");
      expect(reply.body.message).toContain("Authorization: Bearer");
    }
    expect(admin.core.store.count("consumers")).toBe(0);
  });

  test("the right token opens everything (scheme in any case)", async () => {
    expect((await admin.call("GET", "/", undefined, auth(`Bearer ${TOKEN}`))).status).toBe(200);
    expect((await admin.call("POST", "/consumers", { username: "x" }, auth(`bearer  ${TOKEN} `))).status).toBe(201);
  });

  test("the documentation is readable without the token, over a real listener", async () => {
    const listener = await listenAdmin(admin);
    try {
      for (const path of ["/docs", "/docs/json", "/docs/assets/swagger-ui.css", "/docs/assets/swagger-ui-bundle.js"]) {
        expect({ path, status: (await fetch(listener.base + path)).status }).toEqual({ path, status: 200 });
      }
      expect((await fetch(`${listener.base}/docs/assets/../../consumers`)).status).toBe(401);
      expect((await fetch(`${listener.base}/docs/assets/nope.js`)).status).toBe(404);
    } finally {
      await listener.server.stop();
    }
  });
});

describe("declarative mode", () => {
  let admin: AdminHarness;
  beforeAll(async () => {
    admin = openAdmin({ mode: "declarative" });
    admin.core.store.replaceAll({
      ...admin.core.store.loadAll(),
      consumers: [{ id: "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b", username: "alice", custom_id: null, tags: [], created_at: 1, updated_at: 1 }],
    });
  });
  afterAll(() => admin.close());

  test("every entity write answers 405 naming POST /config, before reading the body", async () => {
    const writes = adminOperations(admin.deps).filter((operation) => operation.write);
    expect(writes.length).toBeGreaterThan(30);
    const before = admin.state();
    for (const operation of writes) {
      const path = operation.path.replace(/:(\w+)/g, (_, name) => (name === "consumer" ? "alice" : "00000000-0000-4000-8000-000000000000"));
      const reply = await admin.call(operation.method, path, operation.body ? { username: "bob", alg: "ES256" } : undefined);
      expect({ operation: `${operation.method} ${operation.path}`, status: reply.status }).toEqual({ operation: `${operation.method} ${operation.path}`, status: 405 });
      expect(reply.body.message).toContain("POST /config");
    }
    expect(writes.map((operation) => `${operation.method} ${operation.path}`)).toContain("POST /keys");
    expect(admin.state()).toBe(before);
  });

  test("reads work, and POST /config replaces the state", async () => {
    expect((await admin.call("GET", "/consumers/alice")).status).toBe(200);
    expect((await admin.call("GET", "/")).body.mode).toBe("declarative");
    const reply = await admin.call("POST", "/config", undefined, { body: '_format_version: "3.0"\nconsumers:\n  - username: bob\n', headers: { "content-type": "application/yaml" } });
    expect(reply.status).toBe(201);
    expect(admin.core.store.loadAll().consumers.map((c) => c.username)).toEqual(["bob"]);
  });
});
