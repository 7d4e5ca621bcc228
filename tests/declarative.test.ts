// Declarative configuration (SPEC §8): Kong's format in nested and top-level forms, references,
// positioned validation errors, stable generated values, and all-or-nothing replacement.
import { describe, expect, test } from "bun:test";
import { t } from "elysia";
import { exportDeclarative, parseDeclarative } from "../src/config/declarative.ts";
import { openCore } from "../src/gateway.ts";
import { definePlugin } from "../src/pipeline/contract.ts";
import { createRegistry } from "../src/pipeline/registry.ts";
import { aclPlugin } from "../plugins/acl/index.ts";
import { jwtPlugin } from "../plugins/jwt/index.ts";

const tag = definePlugin<{ value: string; consumer?: string }>({
  name: "tag",
  priority: 100,
  configSchema: t.Object({ value: t.String({ default: "x" }), consumer: t.Optional(t.String()) }, { additionalProperties: false }),
  check: (config, lookup) => (config.consumer && !lookup.findConsumer(config.consumer) ? { consumer: `no such consumer '${config.consumer}'` } : undefined),
  create: () => ({}),
});
// jwt_secrets and acls are entities of the jwt and acl plugins: a file may hold them when those are installed.
const registry = createRegistry([tag, jwtPlugin, aclPlugin]);

const NESTED = `
_format_version: "3.0"
_transform: true
services:
  - name: orders
    url: http://127.0.0.1:9000/v1
    routes:
      - name: orders-route
        paths: [/orders]
        plugins:
          - name: tag
            config: { value: on-route }
    plugins:
      - name: tag
consumers:
  - username: alice
    custom_id: a-1
    jwt_secrets:
      - key: alice-issuer
        secret: s3cr3t-value
    acls:
      - group: admins
    plugins:
      - name: tag
        config: { value: for-alice }
`;

const TOP_LEVEL = `
_format_version: "2.1"
services:
  - name: billing
    url: http://127.0.0.1:9001
routes:
  - name: billing-route
    service: billing
    paths: ["/billing", "/invoices/\\\\d+"]
consumers:
  - username: bob
  - id: 8e3b8a36-4b64-4a53-9a0e-0c6c33f2f3a1
    custom_id: carol
jwt_secrets:
  - consumer: bob
    algorithm: HS512
  - consumer: 8e3b8a36-4b64-4a53-9a0e-0c6c33f2f3a1
    key: carol-key
acls:
  - consumer: carol
    group: readers
plugins:
  - name: tag
    route: billing-route
    consumer: bob
    config: { value: both, consumer: bob }
`;

function errorOf(text: string): { message: string; fields: Record<string, string> } {
  try {
    parseDeclarative(text, registry);
  } catch (error) {
    return error as { message: string; fields: Record<string, string> };
  }
  throw new Error("expected a validation error");
}

describe("parsing", () => {
  test("a plugin's entities are sections of the file only when the plugin is installed", () => {
    const file = `_format_version: "3.0"\nconsumers:\n  - username: a\n    acls: [{group: g}]\njwt_secrets:\n  - consumer: a\n    key: k`;
    expect(() => parseDeclarative(file, createRegistry([tag]))).toThrow(
      "this file uses 2 Kong features this gateway does not have:\n  - acls at consumers[0].acls is not supported\n  - jwt_secrets at jwt_secrets is not supported",
    );
    expect(() => parseDeclarative(file, createRegistry([tag, jwtPlugin]))).toThrow("acls at consumers[0].acls is not supported");
    expect(parseDeclarative(file, registry).acls).toHaveLength(1);
  });

  test("nested form: parents filled in", () => {
    const state = parseDeclarative(NESTED, registry);
    const service = state.services[0]!;
    expect(service).toMatchObject({ name: "orders", protocol: "http", host: "127.0.0.1", port: 9000, path: "/v1" });
    expect(state.routes[0]).toMatchObject({ name: "orders-route", service: { id: service.id }, paths: ["/orders"] });
    const alice = state.consumers[0]!;
    expect(state.jwt_secrets[0]).toMatchObject({ key: "alice-issuer", consumer: { id: alice.id }, algorithm: "HS256" });
    expect(state.acls[0]).toMatchObject({ group: "admins", consumer: { id: alice.id } });
    const scopes = state.plugins.map((p) => [p.config.value, !!p.service, !!p.route, !!p.consumer]);
    expect(scopes).toContainEqual(["on-route", false, true, false]);
    expect(scopes).toContainEqual(["x", true, false, false]);
    expect(scopes).toContainEqual(["for-alice", false, false, true]);
  });

  test("top-level form: references by name, username, custom_id and id; legacy regex paths get ~", () => {
    const state = parseDeclarative(TOP_LEVEL, registry);
    expect(state.routes[0]!.paths).toEqual(["/billing", "~/invoices/\\d+"]);
    const [bob, carol] = state.consumers;
    expect(state.jwt_secrets.map((c) => c.consumer.id)).toEqual([bob!.id, carol!.id]);
    expect(state.jwt_secrets[0]!.algorithm).toBe("HS512");
    expect(state.acls[0]!.consumer.id).toBe(carol!.id);
    expect(state.plugins[0]).toMatchObject({ route: { id: state.routes[0]!.id }, consumer: { id: bob!.id } });
  });

  test("generated ids, keys and secrets are stable across reloads of the same file", () => {
    const first = parseDeclarative(TOP_LEVEL, registry);
    const second = parseDeclarative(TOP_LEVEL, registry);
    expect(second.jwt_secrets[0]!.key).toBe(first.jwt_secrets[0]!.key);
    expect(second.jwt_secrets[0]!.secret).toBe(first.jwt_secrets[0]!.secret);
    expect(first.jwt_secrets[0]!.secret).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(second.routes.map((r) => r.id)).toEqual(first.routes.map((r) => r.id));
    expect(second.plugins.map((p) => p.id)).toEqual(first.plugins.map((p) => p.id));
  });

  test("JSON is accepted too, and an export loads back to the same entities", () => {
    const state = parseDeclarative(NESTED, registry);
    const again = parseDeclarative(exportDeclarative(state, { format: "json" }), registry);
    const strip = (s: typeof state) => JSON.stringify(s, (k, v) => (k === "created_at" || k === "updated_at" ? undefined : v));
    expect(strip(again)).toBe(strip(state));
    expect(strip(parseDeclarative(exportDeclarative(state, { format: "yaml" }), registry))).toBe(strip(state));
  });
});

describe("validation errors name the entity, its position and the field", () => {
  const cases: [string, string, RegExp, string][] = [
    ["missing format version", `services: []`, /_format_version/, "@file._format_version"],
    ["unknown format version", `_format_version: "9.9"`, /must be one of/, "@file._format_version"],
    ["unknown top-level key", `_format_version: "3.0"\ncolours: []\nvaults: []`, /^in @file: colours: unknown top-level key$/, "@file.colours"],
    ["bad YAML", `_format_version: "3.0"\nservices: [`, /not valid YAML or JSON/, "@file"],
    ["a key twice in JSON (read without the YAML parser)", `{"_format_version": "3.0", "_format_version": "3.0"}`, /^not valid YAML or JSON: Map keys must be unique: '_format_version' appears twice in one mapping$/, "@file"],
    ["a key twice in a nested JSON object, once escaped", `{"_format_version": "3.0", "consumers": [{"username": "a", "user\\u006eame": "b"}]}`, /Map keys must be unique: 'username'/, "@file"],
    ["unknown field on a nested route", `_format_version: "3.0"\nservices:\n  - name: s\n    url: http://x\n    routes:\n      - name: r\n        paths: [/a]\n        colour: blue`, /route 'r' at services\[0\]\.routes\[0\]/, "services[0].routes[0].colour"],
    ["wrong type", `_format_version: "3.0"\nservices:\n  - name: s\n    url: http://x\n    retries: many`, /service 's' at services\[0\]/, "services[0].retries"],
    ["bad reference", `_format_version: "3.0"\njwt_secrets:\n  - consumer: nobody\n    key: k`, /no such entry in 'consumers'/, "jwt_secrets[0].consumer"],
    ["duplicate jwt key", `_format_version: "3.0"\nconsumers:\n  - username: a\n    jwt_secrets: [{key: k}]\n  - username: b\n    jwt_secrets: [{key: k}]`, /uniqueness violation: 'jwt_secrets' entity with key set to 'k'/, "consumers[1].jwt_secrets[0].key"],
    ["unknown plugin", `_format_version: "3.0"\nplugins:\n  - name: nope`, /plugin 'nope' at plugins\[0\] is not available in this gateway/, "plugins[0]"],
    ["unknown plugin config field", `_format_version: "3.0"\nplugins:\n  - name: tag\n    config: { value: v, extra: 1 }`, /unknown field/, "plugins[0].config.extra"],
    ["plugin check against declared consumers", `_format_version: "3.0"\nplugins:\n  - name: tag\n    config: { consumer: ghost }`, /no such consumer 'ghost'/, "plugins[0].config.consumer"],
    ["RS256 credential without a key", `_format_version: "3.0"\nconsumers:\n  - username: a\n    jwt_secrets: [{key: k, algorithm: RS256}]`, /required field missing/, "consumers[0].jwt_secrets[0].rsa_public_key"],
    ["invalid PEM", `_format_version: "3.0"\nconsumers:\n  - username: a\n    jwt_secrets: [{key: k, algorithm: ES256, rsa_public_key: "-----BEGIN PUBLIC KEY-----\\nnope\\n-----END PUBLIC KEY-----"}]`, /invalid key/, "consumers[0].jwt_secrets[0].rsa_public_key"],
    // The key's tags follow the one definition, as the admin API's do (they were not capped here before).
    ["a key's tags are checked as the admin API checks them", `_format_version: "3.0"\nkeys:\n  - kid: k\n    alg: ES256\n    tags: ["", ""]`, /key at keys\[0\]: tags/, "keys[0].tags"],
    ["route without paths, hosts or methods", `_format_version: "3.0"\nservices:\n  - name: s\n    url: http://x\n    routes: [{name: r}]`, /must set one of 'methods', 'hosts', 'headers', 'paths'/, "services[0].routes[0]"],
  ];
  for (const [name, text, message, field] of cases) {
    test(name, () => {
      const error = errorOf(text);
      expect(error.message).toMatch(message);
      expect(Object.keys(error.fields)).toContain(field);
    });
  }
});

describe("replacing state", () => {
  test("a bad file changes nothing; a good one replaces everything at once", () => {
    const core = openCore({ db: ":memory:", registry });
    core.store.replaceAll(parseDeclarative(NESTED, registry));
    const before = JSON.stringify(core.store.loadAll());
    const version = core.state.current.version;
    expect(() => core.store.replaceAll(parseDeclarative(`${TOP_LEVEL}\n  - name: nope`, registry))).toThrow();
    expect(JSON.stringify(core.store.loadAll())).toBe(before);
    expect(core.state.current.version).toBe(version);
    core.store.replaceAll(parseDeclarative(TOP_LEVEL, registry));
    expect(core.store.loadAll().services.map((s) => s.name)).toEqual(["billing"]);
    expect(core.state.current.version).toBe(version + 1);
    core.opened.sqlite.close();
  });
});
