// Node endpoints (/, /status, /metrics) and the whole-configuration endpoint /config.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { type AdminHarness, openAdmin } from "./admin-harness.ts";

let admin: AdminHarness;
beforeEach(() => {
  admin = openAdmin();
});
afterEach(() => admin.close());

const yaml = (body: string) => ({ body, headers: { "content-type": "application/yaml" } });

describe("node", () => {
  test("GET / reports version, mode, counts and the configuration version", async () => {
    await admin.call("POST", "/consumers", { username: "alice" });
    const reply = await admin.call("GET", "/");
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      version: "0.0.0-test",
      mode: "database",
      config_version: admin.core.state.current.version,
      counts: { services: 0, routes: 0, consumers: 1, jwt_secrets: 0, acls: 0, plugins: 0, keys: 0 },
      plugins: { available_on_server: expect.arrayContaining(["test-stamp"]) },
    });
    expect(reply.body.uptime_seconds).toBeGreaterThanOrEqual(5);
  });

  test("GET /status is 200 when healthy and 503 with reasons when the database is gone", async () => {
    const healthy = await admin.call("GET", "/status");
    expect(healthy.status).toBe(200);
    expect(healthy.body).toMatchObject({ status: "ok", reasons: [], database: { reachable: true } });

    const broken = openAdmin();
    broken.core.opened.sqlite.close();
    const reply = await broken.call("GET", "/status");
    expect(reply.status).toBe(503);
    expect(reply.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(reply.body.status).toBe("unavailable");
    expect(reply.body.reasons[0]).toStartWith("database unreachable");
    expect(reply.body.database.reachable).toBe(false);
    broken.close();
  });

  test("GET /metrics renders requests, auth failures, latency and the config version as Prometheus text", async () => {
    admin.deps.metrics.recordRequest("orders-api", 200);
    admin.deps.metrics.recordRequest("orders-api", 200);
    admin.deps.metrics.recordRequest("orders-api", 401);
    admin.deps.metrics.recordAuthFailure("token expired");
    admin.deps.metrics.observeUpstreamLatency(12);
    await admin.call("POST", "/consumers", { username: "alice" });
    const reply = await admin.call("GET", "/metrics");
    expect(reply.status).toBe(200);
    expect(reply.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
    expect(reply.text).toContain('gateway_http_requests_total{route="orders-api",status="200"} 2');
    expect(reply.text).toContain('gateway_http_requests_total{route="orders-api",status="401"} 1');
    expect(reply.text).toContain('gateway_auth_failures_total{reason="token expired"} 1');
    expect(reply.text).toContain('gateway_upstream_latency_ms_bucket{le="25"} 1');
    expect(reply.text).toContain(`gateway_config_version ${admin.core.state.current.version}`);
    expect(admin.core.state.current.version).toBeGreaterThan(1);
  });
});

describe("/config", () => {
  const CONFIG = `_format_version: "3.0"
services:
  - name: billing
    url: http://billing.internal:8080
    routes:
      - name: billing-route
        paths: ["/billing"]
consumers:
  - username: reporting-app
    jwt_secrets:
      - key: reporting-app-issuer
        secret: change-me-to-a-long-random-secret
    acls:
      - group: finance
`;

  test("POST replaces everything (YAML), GET exports it as YAML or JSON", async () => {
    await admin.call("POST", "/consumers", { username: "to-be-replaced" });
    const reply = await admin.call("POST", "/config", undefined, yaml(CONFIG));
    expect(reply.status).toBe(201);
    expect(reply.body).toMatchObject({ counts: { services: 1, routes: 1, consumers: 1, jwt_secrets: 1, acls: 1, plugins: 0, keys: 0 }, config_version: admin.core.state.current.version });
    expect((await admin.call("GET", "/consumers")).body.data.map((c: { username: string }) => c.username)).toEqual(["reporting-app"]);
    expect((await admin.call("GET", "/consumers/reporting-app/jwt/reporting-app-issuer")).status).toBe(200);

    const exported = await admin.call("GET", "/config");
    expect(exported.headers.get("content-type")).toBe("application/yaml; charset=utf-8");
    expect(exported.text).toContain("name: billing");
    const json = await admin.call("GET", "/config?format=json");
    expect(json.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(json.body).toMatchObject({ _format_version: "3.0", services: [{ name: "billing", routes: [{ name: "billing-route" }] }] });
  });

  test("POST takes JSON, Kong's multipart `config` file, and `{\"config\": \"<yaml>\"}`", async () => {
    const asJson = await admin.call("POST", "/config", { _format_version: "3.0", consumers: [{ username: "json-user" }] });
    expect(asJson.status).toBe(201);
    expect(admin.core.store.get("consumers", "json-user")).toBeDefined();

    const form = new FormData();
    form.append("config", new Blob([CONFIG], { type: "application/yaml" }), "kong.yml");
    expect((await admin.call("POST", "/config", undefined, { body: form })).status).toBe(201);
    expect(admin.core.store.count("services")).toBe(1);

    expect((await admin.call("POST", "/config", { config: '_format_version: "3.0"\nconsumers: [{username: wrapped}]\n' })).status).toBe(201);
    expect(admin.core.store.loadAll().consumers.map((c) => c.username)).toEqual(["wrapped"]);
  });

  test.each([
    ["not YAML", "services: [unclosed", "@file"],
    ["no format version", "consumers: []\n", "@file._format_version"],
    ["an unknown field", '_format_version: "3.0"\nconsumers:\n  - username: a\n    nickname: b\n', "consumers[0].nickname"],
    ["a duplicate username", '_format_version: "3.0"\nconsumers:\n  - username: a\n  - username: a\n', "consumers[1].username"],
    ["a reference to a missing consumer", '_format_version: "3.0"\nacls:\n  - consumer: ghost\n    group: g\n', "acls[0].consumer"],
    ["an RS256 credential without a key", '_format_version: "3.0"\nconsumers:\n  - username: a\n    jwt_secrets:\n      - algorithm: RS256\n', "consumers[0].jwt_secrets[0].rsa_public_key"],
  ])("an import with %s is a 400 naming the place, and changes nothing", async (_, body, field) => {
    await admin.call("POST", "/consumers", { username: "kept" });
    const before = admin.state();
    const reply = await admin.call("POST", "/config", undefined, yaml(body));
    expect(reply.status).toBe(400);
    expect(reply.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(reply.body.fields).toHaveProperty([field]);
    expect(admin.state()).toBe(before);
  });

  test("a multipart import without a config field, or of an unsupported type, is refused", async () => {
    const form = new FormData();
    form.append("other", "x");
    const missing = await admin.call("POST", "/config", undefined, { body: form });
    expect(missing.status).toBe(400);
    expect(missing.body.fields).toEqual({ config: "required field missing" });
    expect((await admin.call("POST", "/config", undefined, { body: "x", headers: { "content-type": "image/png" } })).status).toBe(415);
  });

  test("a configuration larger than the import limit is a 413", async () => {
    const reply = await admin.call("POST", "/config", undefined, { body: "x".repeat(33 * 1024 * 1024), headers: { "content-type": "application/yaml" } });
    expect(reply.status).toBe(413);
  });

  test("exporting and importing the export keeps ids and the keystore's private halves", async () => {
    await admin.call("POST", "/config", undefined, yaml(CONFIG));
    await admin.call("POST", "/keys", { alg: "ES256", kid: "signer" });
    const before = admin.core.store.loadAll();
    const exported = await admin.call("GET", "/config");
    expect(exported.text).not.toContain("private_jwk");
    expect((await admin.call("POST", "/config", undefined, yaml(exported.text))).status).toBe(201);
    const after = admin.core.store.loadAll();
    expect(after.keys[0]!.private_jwk).toEqual(before.keys[0]!.private_jwk);
    expect(after.consumers.map((c) => c.id)).toEqual(before.consumers.map((c) => c.id));
    expect(after.jwt_secrets.map((c) => c.secret)).toEqual(before.jwt_secrets.map((c) => c.secret));
  });
});
