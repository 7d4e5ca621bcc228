// Admin API success paths, entity by entity: Kong's URL shapes, status codes and whole
// entities in every answer.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { type AdminHarness, ES256_PUBLIC_KEY, openAdmin } from "./admin-harness.ts";

let admin: AdminHarness;
beforeEach(() => {
  admin = openAdmin();
});
afterEach(() => admin.close());

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function seed() {
  const service = (await admin.call("POST", "/services", { name: "orders", url: "http://orders.internal:8080/v1" })).body;
  const route = (await admin.call("POST", "/services/orders/routes", { name: "orders-api", paths: ["/orders"] })).body;
  const consumer = (await admin.call("POST", "/consumers", { username: "alice", custom_id: "a-1" })).body;
  return { service, route, consumer };
}

describe("services", () => {
  test("POST creates (201) and returns the whole entity with defaults", async () => {
    const reply = await admin.call("POST", "/services", { name: "orders", url: "http://orders.internal:8080/v1" });
    expect(reply.status).toBe(201);
    expect(reply.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(reply.body).toMatchObject({ name: "orders", protocol: "http", host: "orders.internal", port: 8080, path: "/v1", retries: 5, connect_timeout: 60000, enabled: true, tags: [] });
    expect(reply.body.id).toMatch(UUID);
    expect(typeof reply.body.created_at).toBe("number");
  });

  test("GET by id and by name, list, PATCH, PUT replace (200) and create (201), DELETE (204)", async () => {
    const { service } = await seed();
    expect((await admin.call("GET", `/services/${service.id}`)).body.name).toBe("orders");
    expect((await admin.call("GET", "/services/orders")).body.id).toBe(service.id);
    const list = await admin.call("GET", "/services");
    expect(list.status).toBe(200);
    expect(list.body).toEqual({ data: [expect.objectContaining({ id: service.id })], next: null });

    const patched = await admin.call("PATCH", "/services/orders", { read_timeout: 1500 });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ id: service.id, read_timeout: 1500, host: "orders.internal" });

    const replaced = await admin.call("PUT", "/services/orders", { host: "orders-2.internal" });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ id: service.id, name: "orders", host: "orders-2.internal", read_timeout: 60000, created_at: service.created_at });

    const created = await admin.call("PUT", "/services/billing", { url: "http://billing.internal" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: "billing", host: "billing.internal", port: 80 });

    expect((await admin.call("DELETE", "/services/billing")).status).toBe(204);
    expect((await admin.call("GET", "/services/billing")).status).toBe(404);
  });

  test("DELETE of a missing service is 404 (not Kong's 204)", async () => {
    const reply = await admin.call("DELETE", "/services/nothing-here");
    expect(reply.status).toBe(404);
    expect(reply.body.message).toContain("nothing-here");
  });

  test("a service with routes is kept (409) unless ?cascade=true", async () => {
    const { route } = await seed();
    const refused = await admin.call("DELETE", "/services/orders");
    expect(refused.status).toBe(409);
    expect(refused.body.message).toContain("cascade=true");
    expect((await admin.call("DELETE", "/services/orders?cascade=maybe")).status).toBe(400);
    expect((await admin.call("DELETE", "/services/orders?cascade=true")).status).toBe(204);
    expect((await admin.call("GET", `/routes/${route.id}`)).status).toBe(404);
  });

  test("/services/{service}/routes lists and creates that service's routes only", async () => {
    await seed();
    await admin.call("POST", "/services", { name: "billing", url: "http://billing.internal" });
    await admin.call("POST", "/services/billing/routes", { paths: ["/billing"] });
    const list = await admin.call("GET", "/services/orders/routes");
    expect(list.body.data.map((r: { name: string }) => r.name)).toEqual(["orders-api"]);
    expect((await admin.call("GET", "/services/nope/routes")).status).toBe(404);
    expect((await admin.call("POST", "/services/nope/routes", { paths: ["/x"] })).status).toBe(404);
  });
});

describe("routes", () => {
  test("the service reference may be {id}, {name} or a bare string", async () => {
    const { service } = await seed();
    for (const [i, ref] of [{ id: service.id }, { name: "orders" }, "orders"].entries()) {
      const reply = await admin.call("POST", "/routes", { service: ref, paths: [`/r${i}`] });
      expect(reply.status).toBe(201);
      expect(reply.body.service).toEqual({ id: service.id });
    }
  });

  test("CRUD by name, and /routes/{route}/service", async () => {
    const { service, route } = await seed();
    expect((await admin.call("GET", "/routes/orders-api")).body.id).toBe(route.id);
    expect((await admin.call("PATCH", "/routes/orders-api", { methods: ["GET"] })).body.methods).toEqual(["GET"]);
    const replaced = await admin.call("PUT", "/routes/orders-api", { service: { name: "orders" }, hosts: ["api.example.com"] });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ paths: null, hosts: ["api.example.com"], methods: null, strip_path: true });
    expect((await admin.call("GET", "/routes/orders-api/service")).body.id).toBe(service.id);
    expect((await admin.call("DELETE", "/routes/orders-api")).status).toBe(204);
    expect((await admin.call("GET", "/routes")).body.data).toEqual([]);
  });
});

describe("consumers", () => {
  test("CRUD by id, username and custom_id", async () => {
    const { consumer } = await seed();
    expect(consumer).toMatchObject({ username: "alice", custom_id: "a-1" });
    expect((await admin.call("GET", "/consumers/alice")).body.id).toBe(consumer.id);
    expect((await admin.call("GET", "/consumers/a-1")).body.id).toBe(consumer.id);
    expect((await admin.call("PATCH", "/consumers/alice", { tags: ["x"] })).body).toMatchObject({ tags: ["x"], custom_id: "a-1" });
    const put = await admin.call("PUT", "/consumers/bob", {});
    expect(put.status).toBe(201);
    expect(put.body.username).toBe("bob");
    expect((await admin.call("DELETE", `/consumers/${consumer.id}`)).status).toBe(204);
    expect((await admin.call("GET", "/consumers")).body.data.map((c: { username: string }) => c.username)).toEqual(["bob"]);
  });

  test("deleting a consumer deletes its credentials and ACL entries", async () => {
    await seed();
    await admin.call("POST", "/consumers/alice/jwt", {});
    await admin.call("POST", "/consumers/alice/acls", { group: "finance" });
    expect((await admin.call("DELETE", "/consumers/alice")).status).toBe(204);
    expect((await admin.call("GET", "/jwts")).body.data).toEqual([]);
    expect((await admin.call("GET", "/acls")).body.data).toEqual([]);
  });
});

describe("JWT credentials", () => {
  test("POST generates a key and a 32-character secret and returns them", async () => {
    const { consumer } = await seed();
    const reply = await admin.call("POST", "/consumers/alice/jwt", {});
    expect(reply.status).toBe(201);
    expect(reply.body).toMatchObject({ consumer: { id: consumer.id }, algorithm: "HS256", rsa_public_key: null });
    expect(reply.body.key).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(reply.body.secret).toMatch(/^[A-Za-z0-9]{32}$/);
  });

  test("nested CRUD by key, scoped to the consumer", async () => {
    await seed();
    await admin.call("POST", "/consumers", { username: "bob" });
    const created = (await admin.call("POST", "/consumers/alice/jwt", { key: "alice-key", secret: "s".repeat(32) })).body;
    expect((await admin.call("GET", "/consumers/alice/jwt/alice-key")).body.id).toBe(created.id);
    expect((await admin.call("GET", `/consumers/alice/jwt/${created.id}`)).body.key).toBe("alice-key");
    expect((await admin.call("GET", "/consumers/bob/jwt/alice-key")).status).toBe(404);
    expect((await admin.call("GET", "/consumers/alice/jwt")).body.data).toHaveLength(1);
    expect((await admin.call("GET", "/consumers/bob/jwt")).body.data).toHaveLength(0);
    expect((await admin.call("PATCH", "/consumers/alice/jwt/alice-key", { algorithm: "HS512" })).body).toMatchObject({ algorithm: "HS512", secret: "s".repeat(32) });
    const put = await admin.call("PUT", "/consumers/alice/jwt/second-key", { algorithm: "ES256", rsa_public_key: ES256_PUBLIC_KEY });
    expect(put.status).toBe(201);
    expect(put.body).toMatchObject({ key: "second-key", algorithm: "ES256", secret: null });
    expect((await admin.call("DELETE", "/consumers/alice/jwt/alice-key")).status).toBe(204);
    expect((await admin.call("DELETE", "/consumers/alice/jwt/alice-key")).status).toBe(404);
  });

  test("top-level /jwts: list, create naming the consumer, read by key, its consumer", async () => {
    const { consumer } = await seed();
    const created = await admin.call("POST", "/jwts", { consumer: { username: "alice" }, key: "https://issuer.example", algorithm: "ES256", rsa_public_key: ES256_PUBLIC_KEY });
    expect(created.status).toBe(201);
    expect((await admin.call("GET", "/jwts")).body.data).toHaveLength(1);
    expect((await admin.call("GET", `/jwts/${encodeURIComponent("https://issuer.example")}`)).body.id).toBe(created.body.id);
    expect((await admin.call("GET", `/jwts/${created.body.id}/consumer`)).body.id).toBe(consumer.id);
    expect((await admin.call("PATCH", `/jwts/${created.body.id}`, { tags: ["t"] })).body.tags).toEqual(["t"]);
    expect((await admin.call("DELETE", `/jwts/${created.body.id}`)).status).toBe(204);
  });
});

describe("ACLs", () => {
  test("nested by group, top-level by id, and the entry's consumer", async () => {
    const { consumer } = await seed();
    const created = await admin.call("POST", "/consumers/alice/acls", { group: "finance" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ group: "finance", consumer: { id: consumer.id } });
    expect((await admin.call("GET", "/consumers/alice/acls/finance")).body.id).toBe(created.body.id);
    expect((await admin.call("POST", "/consumers/alice/acls", { group: "finance" })).status).toBe(409);
    const put = await admin.call("PUT", "/consumers/alice/acls/auditors", {});
    expect(put.status).toBe(201);
    expect(put.body.group).toBe("auditors");
    expect((await admin.call("GET", "/acls")).body.data).toHaveLength(2);
    expect((await admin.call("GET", `/acls/${created.body.id}`)).body.group).toBe("finance");
    expect((await admin.call("GET", "/acls/finance")).status).toBe(404);
    expect((await admin.call("GET", `/acls/${created.body.id}/consumer`)).body.username).toBe("alice");
    const viaTop = await admin.call("POST", "/acls", { consumer: "alice", group: "reporting" });
    expect(viaTop.status).toBe(201);
    expect((await admin.call("PATCH", `/acls/${viaTop.body.id}`, { group: "reporters" })).body.group).toBe("reporters");
    expect((await admin.call("DELETE", "/consumers/alice/acls/auditors")).status).toBe(204);
  });
});

describe("plugins", () => {
  test("global and scoped instances, lists per scope, one per name per scope", async () => {
    const { service, route, consumer } = await seed();
    const global = await admin.call("POST", "/plugins", { name: "test-stamp" });
    expect(global.status).toBe(201);
    expect(global.body).toMatchObject({ name: "test-stamp", enabled: true, service: null, route: null, consumer: null, config: { header: "X-Stamp", ttl: 60, methods: [], strict: false } });
    const onService = await admin.call("POST", "/services/orders/plugins", { name: "test-stamp", config: { ttl: 5 } });
    expect(onService.body.service).toEqual({ id: service.id });
    const onRoute = await admin.call("POST", "/routes/orders-api/plugins", { name: "test-stamp" });
    expect(onRoute.body.route).toEqual({ id: route.id });
    const onConsumer = await admin.call("POST", "/consumers/alice/plugins", { name: "test-stamp" });
    expect(onConsumer.body.consumer).toEqual({ id: consumer.id });
    expect((await admin.call("POST", "/plugins", { name: "test-stamp" })).status).toBe(409);

    expect((await admin.call("GET", "/plugins")).body.data).toHaveLength(4);
    for (const [path, id] of [["/services/orders/plugins", onService.body.id], ["/routes/orders-api/plugins", onRoute.body.id], ["/consumers/alice/plugins", onConsumer.body.id]]) {
      expect((await admin.call("GET", path)).body.data.map((p: { id: string }) => p.id)).toEqual([id]);
    }
  });

  test("by id: GET, PATCH merges config, PUT replaces, DELETE; a name is not an id", async () => {
    const created = (await admin.call("POST", "/plugins", { name: "test-stamp", config: { ttl: 5, header: "X-A" } })).body;
    expect((await admin.call("GET", `/plugins/${created.id}`)).body.id).toBe(created.id);
    const patched = await admin.call("PATCH", `/plugins/${created.id}`, { config: { ttl: 7 }, enabled: false });
    expect(patched.body).toMatchObject({ enabled: false, config: { ttl: 7, header: "X-A" } });
    const replaced = await admin.call("PUT", `/plugins/${created.id}`, { name: "test-stamp", config: { ttl: 1 } });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ enabled: true, config: { ttl: 1, header: "X-Stamp" } });
    expect((await admin.call("GET", "/plugins/test-stamp")).status).toBe(404);
    const badPut = await admin.call("PUT", "/plugins/test-stamp", { name: "test-stamp" });
    expect(badPut.status).toBe(400);
    expect(badPut.body.fields).toHaveProperty("id");
    expect((await admin.call("DELETE", `/plugins/${created.id}`)).status).toBe(204);
  });

  test("/plugins/enabled and /plugins/schema/{name} come from the registry", async () => {
    const enabled = await admin.call("GET", "/plugins/enabled");
    expect(enabled.body.enabled_plugins).toEqual(expect.arrayContaining(["test-stamp", "test-fallback"]));
    const schema = await admin.call("GET", "/plugins/schema/test-stamp");
    expect(schema.status).toBe(200);
    expect(schema.body).toMatchObject({ name: "test-stamp", priority: 10, consumer_scope: true, config: { type: "object", properties: { ttl: { type: "integer" } } } });
    expect((await admin.call("GET", "/plugins/schema/test-fallback")).body.consumer_scope).toBe(false);
    const unknown = await admin.call("GET", "/plugins/schema/no-such-plugin");
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toContain("no-such-plugin");
  });
});

describe("keys", () => {
  test("POST generates a key; no answer ever carries the private half", async () => {
    const created = await admin.call("POST", "/keys", { alg: "ES256", kid: "k1" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ kid: "k1", alg: "ES256", status: "active", retire_after: null, public_jwk: { kty: "EC", crv: "P-256", kid: "k1" } });
    expect(created.body).not.toHaveProperty("private_jwk");
    expect(admin.core.store.get("keys", "k1").private_jwk).toHaveProperty("d");

    const rsa = await admin.call("POST", "/keys", { alg: "RS256" });
    expect(rsa.body.kid).toBeString();
    const answers = [
      created,
      rsa,
      await admin.call("GET", "/keys"),
      await admin.call("GET", "/keys/k1"),
      await admin.call("GET", `/keys/${rsa.body.id}`),
      await admin.call("PATCH", "/keys/k1", { status: "retired", retire_after: 1900000000 }),
      await admin.call("GET", "/config?format=json"),
      await admin.call("GET", "/config"),
    ];
    for (const answer of answers) {
      expect(answer.status).toBeLessThan(300);
      expect(answer.text).not.toContain("private_jwk");
      expect(answer.text).not.toMatch(/"d"\s*:|\bd:\s/);
    }
    expect(answers[5]!.body).toMatchObject({ status: "retired", retire_after: 1900000000 });
  });

  test("PATCH checks its fields, PUT does not exist (405), DELETE removes", async () => {
    await admin.call("POST", "/keys", { alg: "EdDSA", kid: "ed" });
    expect((await admin.call("PATCH", "/keys/ed", { status: "gone" })).status).toBe(400);
    expect((await admin.call("PATCH", "/keys/ed", { alg: "ES256" })).body.fields).toEqual({ alg: "unknown field" });
    expect((await admin.call("PUT", "/keys/ed", { alg: "ES256" })).status).toBe(405);
    expect((await admin.call("POST", "/keys", { alg: "ES256", kid: "ed" })).status).toBe(409);
    expect((await admin.call("POST", "/keys", { alg: "HS256" })).body.fields).toHaveProperty("alg");
    expect((await admin.call("DELETE", "/keys/ed")).status).toBe(204);
    expect((await admin.call("GET", "/keys/ed")).status).toBe(404);
  });
});

describe("pagination", () => {
  test("?size= and ?offset= walk the list through `next`", async () => {
    for (let i = 0; i < 5; i++) await admin.call("POST", "/consumers", { username: `user-${i}` });
    const seen: string[] = [];
    let next: string | null = "/consumers?size=2";
    while (next) {
      const page: { body: { data: { username: string }[]; next: string | null } } = await admin.call("GET", next);
      expect(page.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.data.map((c) => c.username));
      next = page.body.next;
    }
    expect(seen).toEqual(["user-0", "user-1", "user-2", "user-3", "user-4"]);
    expect((await admin.call("GET", "/consumers")).body.next).toBeNull();
  });

  test.each(["size=0", "size=1001", "size=abc", "size=1.5", "offset=-1", "offset=x"])("?%s is a 400 naming the parameter", async (query) => {
    const reply = await admin.call("GET", `/consumers?${query}`);
    expect(reply.status).toBe(400);
    expect(Object.keys(reply.body.fields)).toEqual([query.split("=")[0]!]);
  });

  test("size=1000 is allowed", async () => {
    expect((await admin.call("GET", "/consumers?size=1000")).status).toBe(200);
  });
});

describe("form-encoded bodies (Kong and EdgeX tutorials)", () => {
  const form = (body: string) => ({ body, headers: { "content-type": "application/x-www-form-urlencoded" } });

  test("curl -d username=x creates a consumer", async () => {
    const reply = await admin.call("POST", "/consumers", undefined, form("username=edgex-user&custom_id=42"));
    expect(reply.status).toBe(201);
    expect(reply.body).toMatchObject({ username: "edgex-user", custom_id: "42" });
  });

  test("arrays as paths[]= or repeated keys, nested refs, numbers and booleans coerced", async () => {
    await admin.call("POST", "/services", undefined, form("name=orders&url=http://orders.internal&retries=3"));
    expect((await admin.call("GET", "/services/orders")).body.retries).toBe(3);
    const route = await admin.call("POST", "/routes", undefined, form("service.name=orders&paths[]=/a&paths[]=/b&methods=GET&methods=POST&strip_path=false&regex_priority=2"));
    expect(route.status).toBe(201);
    expect(route.body).toMatchObject({ paths: ["/a", "/b"], methods: ["GET", "POST"], strip_path: false, regex_priority: 2 });
    const single = await admin.call("POST", "/services/orders/routes", undefined, form("paths=/single"));
    expect(single.body.paths).toEqual(["/single"]);
  });

  test("plugin config fields are coerced by the plugin's own schema", async () => {
    const reply = await admin.call("POST", "/plugins", undefined, form("name=test-stamp&config.ttl=30&config.methods=GET&config.strict=true&enabled=false"));
    expect(reply.status).toBe(201);
    expect(reply.body).toMatchObject({ enabled: false, config: { ttl: 30, methods: ["GET"], strict: true } });
    const patched = await admin.call("PATCH", `/plugins/${reply.body.id}`, undefined, form("config.ttl=45"));
    expect(patched.body.config.ttl).toBe(45);
  });

  test("multipart/form-data works the same way", async () => {
    const body = new FormData();
    body.append("username", "multi");
    body.append("tags[]", "a");
    body.append("tags[]", "b");
    const reply = await admin.call("POST", "/consumers", undefined, { body });
    expect(reply.status).toBe(201);
    expect(reply.body).toMatchObject({ username: "multi", tags: ["a", "b"] });
  });

  test("a form field that is not in the schema is named", async () => {
    const reply = await admin.call("POST", "/consumers", undefined, form("username=x&nickname=y"));
    expect(reply.status).toBe(400);
    expect(reply.body.fields).toEqual({ nickname: "unknown field" });
  });
});
