// Kong 3.x's fields through the admin API: defaults on read, each new field's refusals (status
// and JSON body), features the gateway lacks refused in Kong's words, service `url` together
// with its parts as Kong resolves it, `?tags=` filtering, and the migration on a database that
// holds rows written before these fields existed.
import { Database } from "bun:sqlite";
import { afterAll, afterEach, beforeEach, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkDeclarative } from "../src/config/check.ts";
import { exportDeclarative, parseDeclarative } from "../src/config/declarative.ts";
import { applyMigrations, embeddedMigrations } from "../src/db/migrations.ts";
import { defineEntity } from "../src/entities/definition.ts";
import { checkPluginConfig } from "../src/entities/plugin.ts";
import { t } from "../src/entities/t.ts";
import { definePlugin } from "../src/pipeline/contract.ts";
import { createRegistry } from "../src/pipeline/registry.ts";
import { rowsOf } from "../src/state/data.ts";
import { builtinPlugins, openCore } from "../src/gateway.ts";
import { type AdminHarness, openAdmin } from "./admin-harness.ts";
import { startTestGateway, tempDir } from "./support/gateway.ts";
import { type Echo, startUpstream } from "./support/upstream.ts";

let admin: AdminHarness;
beforeEach(async () => {
  admin = openAdmin();
  await admin.call("POST", "/services", { name: "s", url: "http://127.0.0.1:9/base" });
});
afterEach(() => admin.close());

describe("route fields Kong writes", () => {
  test("defaults on create: headers null, path_handling v0, request and response buffering true", async () => {
    const reply = await admin.call("POST", "/services/s/routes", { name: "r", paths: ["/a"] });
    expect(reply.status).toBe(201);
    expect(reply.body).toMatchObject({ headers: null, path_handling: "v0", request_buffering: true, response_buffering: true });
  });

  test("headers: names lower-cased; a route may match on headers alone", async () => {
    const reply = await admin.call("POST", "/services/s/routes", { name: "h", headers: { "X-Version": ["v2", "~*^beta"] } });
    expect(reply.status).toBe(201);
    expect(reply.body.headers).toEqual({ "x-version": ["v2", "~*^beta"] });
  });

  const refused: [string, Record<string, unknown>, Record<string, string>][] = [
    ["path_handling other than v0/v1", { paths: ["/a"], path_handling: "v2" }, { path_handling: "expected one of: v0, v1" }],
    ["headers with Host", { headers: { Host: ["x"] } }, { headers: "cannot contain 'host' header, which must be specified in the 'hosts' attribute" }],
    ["a header without values", { headers: { "x-a": [] } }, { "headers.x-a": "length should be between 1 and 64" }],
    ["a header value that is not a list", { headers: { "x-a": "v" } }, { "headers.x-a": "expected an array" }],
    ["a bad header regex", { headers: { "x-a": ["~*("] } }, { "headers.x-a[0]": expect.stringMatching(/^invalid regex: /) as unknown as string }],
    ["request_buffering not a boolean", { paths: ["/a"], request_buffering: "yes" }, { request_buffering: "expected a boolean" }],
    ["snis (stream and TLS routing)", { paths: ["/a"], snis: ["a.example"] }, { snis: "matching on the TLS server name (snis) is not supported by this gateway" }],
    ["sources", { paths: ["/a"], sources: [{ ip: "10.0.0.0/8" }] }, { sources: "sources (tcp/tls routing) is not supported by this gateway" }],
    ["destinations", { paths: ["/a"], destinations: [{ port: 99 }] }, { destinations: "destinations (tcp/tls routing) is not supported by this gateway" }],
    ["an expression", { expression: 'http.path == "/a"' }, { expression: "the expressions router (expression) is not supported by this gateway" }],
    ["a priority", { paths: ["/a"], priority: 5 }, { priority: "the expressions router (priority) is not supported by this gateway" }],
    ["a grpc protocol", { paths: ["/a"], protocols: ["grpc", "http"] }, { protocols: "protocol 'grpc' is not supported" }],
    ["nothing to match on", { name: "empty" }, { "@entity": "must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http'" }],
    ["a path without / or ~", { paths: ["api"] }, { "paths[0]": "invalid value: expected a path that starts with / (a prefix) or ~ (a regex)" }],
  ];
  for (const [name, body, fields] of refused) {
    test(`${name} → 400 naming the field; nothing stored`, async () => {
      const reply = await admin.call("POST", "/services/s/routes", body);
      expect(reply.status).toBe(400);
      expect(reply.body.fields).toEqual(fields);
      expect(reply.body.message).not.toMatch(/union|Expected|schema violation \(\/|must match pattern/);
      expect((await admin.call("GET", "/routes")).body.data).toEqual([]);
    });
  }

  test("empty stream fields and a priority of 0 are accepted as Kong writes them, and not stored", async () => {
    const reply = await admin.call("POST", "/services/s/routes", { paths: ["/a"], snis: [], sources: null, destinations: [], priority: 0, expression: null });
    expect(reply.status).toBe(201);
    expect(reply.body.snis).toBeUndefined();
  });
});

describe("plugin fields Kong writes", () => {
  test("instance_name and protocols stored with Kong's defaults; ordering refused", async () => {
    const created = await admin.call("POST", "/plugins", { name: "cors", instance_name: "cors-main" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ instance_name: "cors-main", protocols: ["grpc", "grpcs", "http", "https"] });
    const twice = await admin.call("POST", "/services/s/plugins", { name: "cors", instance_name: "cors-main" });
    expect(twice.status).toBe(409);
    const ordering = await admin.call("POST", "/plugins", { name: "acl", config: { allow: ["a"] }, ordering: { before: { access: ["jwt"] } } });
    expect(ordering.status).toBe(400);
    expect(ordering.body.fields).toEqual({ ordering: "dynamic plugin ordering (ordering) is not supported by this gateway" });
    const bad = await admin.call("POST", "/plugins", { name: "acl", config: { allow: ["a"] }, instance_name: "has space" });
    expect(bad.status).toBe(400);
    expect(bad.body.fields).toEqual({ instance_name: "invalid value: expected letters, digits and . _ ~ -" });
  });
});

test("a plugin config value that asks for a missing Kong feature → 400 in the same words (rate-limiting's redis policy); Kong 3.0-3.5's flat redis_* fields load", async () => {
  const redis = await admin.call("POST", "/plugins", { name: "rate-limiting", config: { minute: 5, policy: "redis", redis_host: "cache" } });
  expect(redis.status).toBe(400);
  expect(redis.body.fields).toEqual({ "config.policy": "'redis' is not supported: the gateway has no Redis client (use local or cluster)" });
  const local = await admin.call("POST", "/plugins", { name: "rate-limiting", config: { minute: 5, policy: "local", redis_host: null, redis_port: 6379, redis_ssl: false } });
  expect(local.status).toBe(201);
});

describe("service url with its parts, as Kong resolves it", () => {
  test("the url's protocol, host, port and path win over the parts given beside it", async () => {
    const reply = await admin.call("POST", "/services", { name: "both", url: "https://api.example:8443/v2", protocol: "http", host: "other", port: 80, path: "/old" });
    expect(reply.status).toBe(201);
    expect(reply.body).toMatchObject({ protocol: "https", host: "api.example", port: 8443, path: "/v2" });
  });

  test("a url without a path or port: path null, the protocol's port (Kong's shorthand sets all four)", async () => {
    const reply = await admin.call("POST", "/services", { name: "bare", url: "http://api.example", path: "/kept?" });
    expect(reply.status).toBe(201);
    expect(reply.body).toMatchObject({ protocol: "http", host: "api.example", port: 80, path: null });
  });

  test("a url naming a protocol the gateway lacks → 400 in Kong's words", async () => {
    const reply = await admin.call("POST", "/services", { name: "g", url: "grpc://api.example:50051" });
    expect(reply.status).toBe(400);
    expect(reply.body.fields).toEqual({ url: "protocol 'grpc' is not supported" });
  });
});

describe("?tags= filtering (Kong: a,b all of them, a/b any of them)", () => {
  beforeEach(async () => {
    await admin.call("POST", "/consumers", { username: "ab", tags: ["a", "b"] });
    await admin.call("POST", "/consumers", { username: "a", tags: ["a"] });
    await admin.call("POST", "/consumers", { username: "c", tags: ["c"] });
  });
  const names = async (query: string) => ((await admin.call("GET", `/consumers${query}`)).body.data as { username: string }[]).map((c) => c.username);

  test("one tag, all of several, any of several", async () => {
    expect(await names("?tags=a")).toEqual(["ab", "a"]);
    expect(await names("?tags=a,b")).toEqual(["ab"]);
    expect(await names("?tags=b/c")).toEqual(["ab", "c"]);
    expect(await names("?tags=nope")).toEqual([]);
  });

  test("on every collection, nested ones and plugins too; the next page keeps the filter", async () => {
    await admin.call("POST", "/services/s/routes", { name: "tagged", paths: ["/t"], tags: ["edge"] });
    await admin.call("POST", "/services/s/routes", { name: "plain", paths: ["/p"] });
    expect((await admin.call("GET", "/services/s/routes?tags=edge")).body.data.map((r: { name: string }) => r.name)).toEqual(["tagged"]);
    await admin.call("POST", "/plugins", { name: "cors", tags: ["edge"] });
    expect((await admin.call("GET", "/plugins?tags=edge")).body.data).toHaveLength(1);
    expect((await admin.call("GET", "/services?tags=edge")).body.data).toEqual([]);
    const page = await admin.call("GET", "/consumers?tags=a&size=1");
    expect(page.body.next).toBe("/consumers?size=1&offset=1&tags=a");
    expect((await admin.call("GET", page.body.next)).body.data.map((c: { username: string }) => c.username)).toEqual(["a"]);
  });

  test("a tag with , or / (the filter's separators) → 400, as Kong refuses it", async () => {
    for (const tag of ["a,b", "a/b"]) {
      const reply = await admin.call("POST", "/consumers", { username: `t-${tag.length}${tag[1]}`, tags: [tag] });
      expect(reply.status).toBe(400);
      expect(reply.body.fields).toEqual({ "tags[0]": "invalid value: expected printable characters except , and /" });
    }
  });

  test("GET /tags lists every entity's tags; GET /tags/{tag} the entities with one, paged", async () => {
    const all = await admin.call("GET", "/tags");
    expect(all.status).toBe(200);
    const consumers = (await admin.call("GET", "/consumers")).body.data as { id: string; username: string }[];
    const id = (username: string) => consumers.find((c) => c.username === username)!.id;
    expect(all.body).toEqual({
      data: [
        { entity_name: "consumers", entity_id: id("ab"), tag: "a" },
        { entity_name: "consumers", entity_id: id("ab"), tag: "b" },
        { entity_name: "consumers", entity_id: id("a"), tag: "a" },
        { entity_name: "consumers", entity_id: id("c"), tag: "c" },
      ],
      next: null,
    });
    const first = await admin.call("GET", "/tags/a?size=1");
    expect(first.body).toEqual({ data: [{ entity_name: "consumers", entity_id: id("ab"), tag: "a" }], next: "/tags/a?size=1&offset=1" });
    expect((await admin.call("GET", first.body.next)).body).toEqual({ data: [{ entity_name: "consumers", entity_id: id("a"), tag: "a" }], next: null });
    const bad = await admin.call("GET", "/tags?size=0");
    expect(bad.status).toBe(400);
    expect(bad.body.fields).toEqual({ size: "must be an integer from 1 to 1000" });
  });

  for (const [query, why] of [
    ["?tags=a,b/c", "use ',' (all of the tags) or '/' (any of them), not both"],
    ["?tags=a,,b", "a tag must not be empty"],
    ["?tags=", "a tag must not be empty"],
    ["?tags=1,2,3,4,5,6", "at most 5 tags"],
  ]) {
    test(`${query} → 400 naming tags`, async () => {
      const reply = await admin.call("GET", `/consumers${query}`);
      expect(reply.status).toBe(400);
      expect(reply.body.fields).toEqual({ tags: why });
    });
  }
});

test("migration 0004 on a database with routes and plugins: Kong's defaults filled in", () => {
  const dir = tempDir();
  const file = join(dir, "old.db");
  try {
    const db = new Database(file);
    const journal = Object.keys(embeddedMigrations).filter((tag) => tag < "0004");
    // The schema as it was before 0004, with rows in it.
    db.run(`CREATE TABLE IF NOT EXISTS "__drizzle_migrations" (id INTEGER PRIMARY KEY AUTOINCREMENT, hash text NOT NULL, created_at numeric)`);
    for (const tag of journal) {
      for (const statement of embeddedMigrations[tag]!.split("--> statement-breakpoint")) if (statement.trim()) db.run(statement);
      db.run(`INSERT INTO "__drizzle_migrations" (hash, created_at) VALUES (?, 0)`, [new Bun.CryptoHasher("sha256").update(embeddedMigrations[tag]!).digest("hex")]);
    }
    db.run(`INSERT INTO services (id, name, protocol, host, port, path, connect_timeout, read_timeout, write_timeout, retries, enabled, created_at, updated_at) VALUES ('00000000-0000-4000-8000-000000000001', 's', 'http', 'h', 80, NULL, 1, 1, 1, 0, 1, 0, 0)`);
    db.run(`INSERT INTO routes (id, name, service_id, paths, protocols, strip_path, preserve_host, regex_priority, created_at, updated_at) VALUES ('00000000-0000-4000-8000-000000000002', 'r', '00000000-0000-4000-8000-000000000001', '["/a"]', '["http","https"]', 1, 0, 0, 0, 0)`);
    const cors = JSON.stringify(checkPluginConfig(builtinPlugins.get("cors")!, {}, { findConsumer: () => undefined, findKey: () => undefined }));
    db.run(`INSERT INTO plugins (id, name, config, enabled, scope_key, created_at, updated_at) VALUES ('00000000-0000-4000-8000-000000000003', 'cors', ?, 1, 'cors|||', 0, 0)`, [cors]);
    expect(applyMigrations(db).applied).toEqual(["0004_kong_fields", "0005_tls_certificates", "0006_service_tls"]);
    db.close();
    const core = openCore({ db: file });
    expect(core.store.find("services", "s")).toMatchObject({ host: "h", tls_verify: null, tls_verify_depth: null, ca_certificates: null, client_certificate: null });
    expect(core.store.find("routes", "r")).toMatchObject({ paths: ["/a"], headers: null, path_handling: "v0", request_buffering: true, response_buffering: true });
    expect(core.store.find("plugins", "00000000-0000-4000-8000-000000000003")).toMatchObject({ instance_name: null, protocols: ["grpc", "grpcs", "http", "https"] });
    core.opened.sqlite.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe("what Kong's files and exports carry", () => {
  test("a Kong field the entity lacks is refused as a missing feature, not as a typo", async () => {
    const reply = await admin.call("POST", "/plugins", { name: "cors", consumer_group: { id: "00000000-0000-4000-8000-000000000009" } });
    expect(reply.status).toBe(400);
    expect(reply.body.fields).toEqual({ consumer_group: "is not supported by this gateway" });
    const typo = await admin.call("POST", "/plugins", { name: "cors", consumer_grop: null });
    expect(reply.status).toBe(400);
    expect(typo.body.fields).toEqual({ consumer_grop: "unknown field" });
  });

  test("created_at and updated_at of a Kong export are accepted; the gateway keeps its own", async () => {
    const reply = await admin.call("POST", "/consumers", { username: "old", created_at: 1500000000, updated_at: 1500000001 });
    expect(reply.status).toBe(201);
    expect(reply.body.created_at).toBeGreaterThan(1700000000);
  });

  test("unquoted _format_version: 3.0, _info, _konnect, _transform, _comment and _ignore load", () => {
    const file = [
      "_format_version: 3.0",
      "_transform: true",
      "_info: { select_tags: [team-a], defaults: { route: { strip_path: false } } }",
      "_konnect: { control_plane_name: default }",
      "_comment: a file",
      "services:",
      "  - name: s",
      "    url: http://127.0.0.1:9",
      "    _comment: the upstream",
      "    _ignore: [anything]",
      "    created_at: 1500000000",
      "    routes: [{ name: r, paths: [/a], path_handling: v1, headers: { X-A: [b] } }]",
    ].join("\n");
    const state = parseDeclarative(file, builtinPlugins);
    expect(state.routes[0]).toMatchObject({ path_handling: "v1", headers: { "x-a": ["b"] } });
    expect(() => parseDeclarative(file.replace("3.0", "4.0"), builtinPlugins)).toThrow("_format_version: must be one of 1.1, 2.1, 3.0");
  });
});

describe("through the proxy", () => {
  test("route headers pick the route; a request without the header goes to the other one", async () => {
    const upstream = startUpstream();
    const gateway = startTestGateway();
    try {
      const service = gateway.store.create("services", { name: "echo", url: upstream.url });
      gateway.store.create("routes", { name: "beta", service: { id: service.id }, paths: ["/api"], headers: { "X-Channel": ["~*^(beta|canary-\\d+)$"] }, strip_path: false });
      gateway.store.create("routes", { name: "stable", service: { id: service.id }, paths: ["/api"], strip_path: true });
      const path = async (headers: Record<string, string>) => ((await (await gateway.request("/api/x", { headers })).json()) as Echo).path;
      expect(await path({ "x-channel": "BETA" })).toBe("/api/x");
      expect(await path({ "X-Channel": "Canary-7" })).toBe("/api/x");
      expect(await path({ "x-channel": "canary-x" })).toBe("/x");
      expect(await path({})).toBe("/x");
    } finally {
      await gateway.close();
      await upstream.stop();
    }
  });

  test("an export carries the new fields and loads back to the same routes", () => {
    const core = openCore({ db: ":memory:" });
    core.store.create("services", { name: "s", url: "http://127.0.0.1:9" });
    core.store.create("routes", { name: "r", service: { name: "s" }, headers: { "x-a": ["1"] }, path_handling: "v1", request_buffering: false });
    core.store.create("plugins", { name: "cors", instance_name: "edge-cors", protocols: ["http", "https"] });
    const exported = exportDeclarative(core.store.loadAll(), { format: "yaml" });
    expect(exported).toContain("path_handling: v1");
    const again = parseDeclarative(exported, builtinPlugins);
    expect(again.routes[0]).toMatchObject({ headers: { "x-a": ["1"] }, path_handling: "v1", request_buffering: false, response_buffering: true });
    expect(again.plugins[0]).toMatchObject({ instance_name: "edge-cors", protocols: ["http", "https"] });
  });
});

describe("gateway config check: its own error paths", () => {
  const dir = tempDir();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const cli = async (args: string[]) => {
    const child = Bun.spawn([process.execPath, join(import.meta.dir, "../src/main.ts"), "config", "check", ...args], { cwd: dir, stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    return { stdout, stderr, code };
  };

  test("no FILE → exit 2 with the usage error", async () => {
    expect(await cli([])).toEqual({ stdout: "", stderr: "gateway: config check: expected one FILE, got 0\n", code: 2 });
  });

  test("a file that does not exist → exit 1 naming it", async () => {
    const result = await cli([join(dir, "nope.yml")]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("nope.yml");
    expect(result.stderr).not.toContain("    at ");
  });

  test("text that is not a declarative file → exit 1, Refused with the reason", async () => {
    writeFileSync(join(dir, "list.yml"), "- a\n- b\n");
    const result = await cli(["--json", join(dir, "list.yml")]);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({ ok: false, works: [], differences: [], missing: [], refused: "the file must be a mapping with _format_version" });
  });

  test("a file that loads → exit 0, what works and what works differently", async () => {
    writeFileSync(join(dir, "ok.yml"), `_format_version: "3.0"\nservices:\n  - name: s\n    url: http://127.0.0.1:9\n    routes: [{ name: r, paths: [/a], path_handling: v1 }]\n    plugins: [{ name: cors, protocols: [https] }]\n`);
    const result = await cli([join(dir, "ok.yml")]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        `${join(dir, "ok.yml")}: everything in it will work here (some of it differently, see below).`,
        "",
        "Will work:",
        "  1 service, 1 route, 1 plugin",
        "  plugins: cors",
        "",
        "Works differently:",
        "  - a service's write_timeout is stored, not enforced; connect_timeout bounds connecting only for requests without a body to http services, and retries repeat only requests without a body (a streamed body cannot be replayed) (README \"Proxy behaviour\")",
        '  - request and response bodies are streamed to and from the service, never buffered, whatever request_buffering and response_buffering say (README "Route fields")',
        "  - plugin 'cors' runs on http and https requests alike: its protocols list does not narrow it (README \"Route fields\")",
        '  - path_handling v1 joins paths as Kong 1.x did (Kong deprecates it; it is honoured here) (README "Route fields")',
        "  - cors headers are added to the service's responses only, not to another plugin's refusal (a jwt 401 has no Access-Control-Allow-Origin); Vary is appended to the upstream's; origin regexes are JavaScript's, not PCRE (README \"`cors` (priority 2000)\")",
        "",
      ].join("\n"),
    );
  });
});

test("POST /config with unsupported Kong features → 400, one message listing each with its position, fields by position; nothing changes", async () => {
  const before = admin.state();
  const file = [
    '_format_version: "3.0"',
    "consumer_groups: [{ name: gold }]",
    "services:",
    "  - name: s2",
    "    url: grpc://127.0.0.1:9",
    "    routes: [{ name: r, paths: [/a], protocols: [tcp] }]",
    "    plugins: [{ name: rate-limiting-advanced }]",
  ].join("\n");
  const reply = await admin.call("POST", "/config", undefined, { body: file, headers: { "content-type": "application/yaml" } });
  expect(reply.status).toBe(400);
  expect(reply.body).toEqual({
    message: [
      "this file uses 4 Kong features this gateway does not have:",
      "  - consumer_groups at consumer_groups is not supported",
      "  - service 's2' at services[0]: protocol 'grpc' is not supported",
      "  - route 'r' at services[0].routes[0]: protocol 'tcp' is not supported",
      "  - plugin 'rate-limiting-advanced' at services[0].plugins[0] is not available in this gateway",
    ].join("\n"),
    fields: {
      consumer_groups: "consumer_groups at consumer_groups is not supported",
      "services[0].url": "service 's2' at services[0]: protocol 'grpc' is not supported",
      "services[0].routes[0].protocols": "route 'r' at services[0].routes[0]: protocol 'tcp' is not supported",
      "services[0].plugins[0]": "plugin 'rate-limiting-advanced' at services[0].plugins[0] is not available in this gateway",
    },
  });
  expect(admin.state()).toBe(before);
});

test("what is supported comes from the build: a Kong entity, once a plugin installs it, is a section with its fields", () => {
  // Kong's vaults entity (the gateway has the env vault built in, not the entity): a stand-in.
  const vaults = defineEntity({
    name: "vaults",
    label: "vault",
    schemaName: "TestVault",
    fields: {
      prefix: { storage: "text", input: t.String(), output: t.String(), required: true, unique: true, endpointKey: true },
      name: { storage: "text", input: t.String(), output: t.String(), required: true },
    },
    example: {},
    declarative: {},
  });
  const vaultPlugin = definePlugin({ name: "test-vaults", priority: 1, configSchema: t.Object({}), create: () => ({}), entities: [vaults] });
  const registry = createRegistry([...builtinPlugins.values(), vaultPlugin]);
  const file = `_format_version: "3.0"\nvaults:\n  - prefix: aws-eu\n    name: aws\n    description: the EU one\n`;
  expect(() => parseDeclarative(file, builtinPlugins)).toThrow("vaults at vaults is not supported");
  // The fields the entity has load; a Kong field it lacks (`description`) is a missing feature, a typo an unknown field.
  expect(() => parseDeclarative(file, registry)).toThrow("this file uses 1 Kong feature this gateway does not have:\n  - vault 'aws' at vaults[0]: description is not supported");
  expect(() => parseDeclarative(file.replace("description", "descripton"), registry)).toThrow("in vault 'aws' at vaults[0]: descripton: unknown field");
  expect(rowsOf(parseDeclarative(file.replace("    description: the EU one\n", ""), registry), "vaults")).toMatchObject([{ prefix: "aws-eu", name: "aws" }]);
});

test("config check names what decK or Kong would have done with _info and _transform: false", () => {
  const file = [
    '_format_version: "3.0"',
    "_transform: false",
    "_info: { select_tags: [team-a] }",
    "consumers:",
    "  - username: dash",
    "    basicauth_credentials: [{ username: dash, password: 5f4dcc3b5aa765d61d8327deb882cf99 }]",
  ].join("\n");
  const report = checkDeclarative(file, builtinPlugins);
  expect(report.ok).toBe(true);
  expect(report.differences.map((difference) => difference.readme)).toEqual(["Coming from Kong", "`basic-auth` (priority 1100) and `basicauth_credentials`"]);
  expect(report.differences[1]!.what).toStartWith("with _transform: false Kong takes a basic-auth password as its own SHA-1 hash");
});

describe("gateway route add: --header and --path-handling", () => {
  const dir = tempDir();
  const db = join(dir, "g.db");
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const gateway = async (...args: string[]) => {
    const child = Bun.spawn([process.execPath, join(import.meta.dir, "../src/main.ts"), ...args], { cwd: dir, stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    return { stdout, stderr, code };
  };

  test("repeated --header NAME:VALUE becomes Kong's map; bad forms are refused naming the flag or field", async () => {
    expect((await gateway("migrate", "--db", db)).code).toBe(0);
    expect((await gateway("service", "add", "--db", db, "--name", "s", "--url", "http://127.0.0.1:9")).code).toBe(0);
    const added = await gateway("route", "add", "--db", db, "--service", "s", "--header", "X-Version:v2", "--header", "x-version:~*^beta", "--path-handling", "v1", "--json");
    expect(added.code).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({ headers: { "x-version": ["v2", "~*^beta"] }, path_handling: "v1", paths: null });
    expect(await gateway("route", "add", "--db", db, "--service", "s", "--header", "nocolon")).toEqual({ stdout: "", stderr: "gateway: --header: expected NAME:VALUE, got 'nocolon'\n", code: 2 });
    const bad = await gateway("route", "add", "--db", db, "--service", "s", "--path", "/a", "--path-handling", "v9");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe("gateway: schema violation (path_handling: expected one of: v0, v1)\n");
  });
});

test("a plugin declared twice at one scope is refused naming the plugin and its scope", () => {
  const file = `_format_version: "3.0"\nservices:\n  - name: s\n    url: http://x\n    plugins: [{name: cors}]\nplugins:\n  - name: cors\n    service: s\n`;
  expect(() => parseDeclarative(file, builtinPlugins)).toThrow(
    /^in plugin 'cors' at plugins\[0\]: name and scope: uniqueness violation: 'plugins' entity with name and scope set to 'cors service=[0-9a-f-]{36}' already declared at services\[0\]\.plugins\[0\]$/,
  );
});
