// Entity, config and migrate commands of the compiled binary on a database file and on a
// running gateway's admin API (with an admin token), and a token from `gateway sign` going
// through the gateway.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { createPublicKey } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { jwtVerify } from "jose";
import { type ServeProcess, ensureBinary, runCli, spawnServe } from "./support/binary.ts";
import { tempDir } from "./support/gateway.ts";
import { type Echo, type TestUpstream, startUpstream } from "./support/upstream.ts";

// Bun 1.4 ignores bunfig's test timeout; the build and the spawned processes need more than 5 s on a busy machine.
setDefaultTimeout(30_000);

const ADMIN_TOKEN = "cli-test-admin-token";
let binary = "";
let dir = "";
let upstream: TestUpstream;
let gateway: ServeProcess;
let gatewayDb = "";

const cli = (args: string[], env?: Record<string, string>) => runCli(binary, args, { cwd: dir, env });

async function succeed(args: string[], env?: Record<string, string>): Promise<string> {
  const result = await cli(args, env);
  if (result.code !== 0) throw new Error(`gateway ${args.join(" ")} → exit ${result.code}: ${result.stderr}`);
  return result.stdout;
}

const json = async (args: string[], env?: Record<string, string>) => JSON.parse(await succeed([...args, "--json"], env));

beforeAll(async () => {
  binary = await ensureBinary();
  dir = tempDir("gateway-cli-entities-");
  upstream = startUpstream();
  gatewayDb = join(dir, "served.db");
  gateway = await spawnServe(binary, ["--db", gatewayDb, "--access-log", "off", "--admin-token", ADMIN_TOKEN], { cwd: dir });
});

afterAll(async () => {
  await gateway?.stop("SIGKILL");
  await upstream?.stop();
});

describe("database file", () => {
  test("migrate creates the schema, then reports it up to date", async () => {
    const db = join(dir, "migrated.db");
    expect(await succeed(["migrate", "--db", db])).toBe(
      `${db}: applied 7 migrations (0000_init, 0001_rate_limiting_counters, 0002_key_auth_basic_auth, 0003_upstreams_targets, 0004_kong_fields, 0005_tls_certificates, 0006_service_tls)\n`,
    );
    expect(await succeed(["migrate", "--db", db])).toBe(`${db}: up to date (7 migrations already applied)\n`);
  });

  test("a read on a database that does not exist is an error, not an empty list (and creates no file)", async () => {
    const result = await cli(["consumer", "list", "--db", join(dir, "typo.db")]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("typo.db does not exist");
    expect(() => readFileSync(join(dir, "typo.db"))).toThrow();
  });

  test("consumers, credentials and ACL groups: add, list, get, delete (GATEWAY_DB names the file)", async () => {
    const env = { GATEWAY_DB: join(dir, "entities.db") };
    const alice = await json(["consumer", "add", "--username", "alice", "--custom-id", "a-1", "--tag", "team-a"], env);
    expect(alice).toMatchObject({ username: "alice", custom_id: "a-1", tags: ["team-a"] });
    const table = await succeed(["consumer", "list"], env);
    expect(table.split("\n")[0]).toMatch(/^USERNAME +CUSTOM_ID +ID +TAGS$/);
    expect(table).toContain(alice.id);
    expect((await json(["consumer", "get", "a-1"], env)).id).toBe(alice.id);

    await succeed(["keygen", "--alg", "ES256", "--out", join(dir, "alice")]);
    const es = await json(["jwt", "add", "--consumer", "alice", "--public-key", join(dir, "alice.pub"), "--key", "alice-issuer"], env);
    expect(es).toMatchObject({ key: "alice-issuer", algorithm: "ES256", secret: null });
    expect(es.rsa_public_key).toBe(readFileSync(join(dir, "alice.pub"), "utf8"));
    const hs = await json(["jwt", "add", "--consumer", alice.id], env);
    expect(hs).toMatchObject({ algorithm: "HS256" });
    expect(hs.key).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(hs.secret).toMatch(/^[A-Za-z0-9]{32}$/);
    expect((await json(["jwt", "list", "--consumer", "alice"], env)).map((c: { key: string }) => c.key)).toEqual(["alice-issuer", hs.key]);

    await succeed(["acl", "add", "--consumer", "alice", "--group", "admins"], env);
    expect((await json(["acl", "list", "--consumer", "alice"], env)).map((a: { group: string }) => a.group)).toEqual(["admins"]);
    expect(await succeed(["acl", "delete", "--consumer", "alice", "--group", "admins"], env)).toBe("deleted acl entry 'admins'\n");
    expect(await succeed(["jwt", "delete", hs.key], env)).toBe(`deleted jwt credential '${hs.key}'\n`);

    expect(await succeed(["consumer", "delete", "alice"], env)).toBe("deleted consumer 'alice'\n");
    expect(await json(["jwt", "list"], env)).toEqual([]);
    const gone = await cli(["consumer", "get", "alice"], env);
    expect(gone).toMatchObject({ code: 1, stderr: "gateway: consumer 'alice' not found\n" });
  });

  test("store validation errors come back as one line naming the field", async () => {
    const env = { GATEWAY_DB: join(dir, "invalid.db") };
    await succeed(["consumer", "add", "--username", "bob"], env);
    const wrongKey = await cli(["jwt", "add", "--consumer", "bob", "--algorithm", "ES384", "--public-key", join(dir, "alice.pub")], env);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toMatch(/^gateway: .*rsa_public_key: .*ES384.*\n$/);
    const duplicate = await cli(["consumer", "add", "--username", "bob"], env);
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toMatch(/^gateway: UNIQUE violation .*username.*\n$/);
  });

  test("services and routes: a service with routes is kept unless --cascade", async () => {
    const env = { GATEWAY_DB: join(dir, "services.db") };
    await succeed(["service", "add", "--name", "orders", "--url", "http://127.0.0.1:9/v1"], env);
    const route = await json(["route", "add", "--name", "orders", "--service", "orders", "--path", "/orders", "--method", "get", "--method", "POST", "--strip-path", "false"], env);
    expect(route).toMatchObject({ paths: ["/orders"], methods: ["GET", "POST"], strip_path: false });
    expect(await succeed(["service", "list"], env)).toContain("http://127.0.0.1:9/v1");
    const refused = await cli(["service", "delete", "orders"], env);
    expect(refused).toMatchObject({ code: 1, stderr: "gateway: service 'orders' still has 1 route(s); delete them first or pass --cascade\n" });
    await succeed(["service", "delete", "orders", "--cascade"], env);
    expect(await json(["route", "list"], env)).toEqual([]);
  });
});

describe("running gateway", () => {
  test("the admin API needs the token: without it a one-line 401 hint, with GATEWAY_ADMIN_URL/TOKEN it works", async () => {
    const denied = await cli(["consumer", "list", "--admin-url", gateway.adminUrl]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/^gateway: .*give --admin-token or GATEWAY_ADMIN_TOKEN\)\n$/);
    const env = { GATEWAY_ADMIN_URL: gateway.adminUrl, GATEWAY_ADMIN_TOKEN: ADMIN_TOKEN };
    await succeed(["consumer", "add", "--username", "via-admin"], env);
    expect((await json(["consumer", "list", "--db", gatewayDb])).map((c: { username: string }) => c.username)).toContain("via-admin");
  });

  test("a token from gateway sign goes through the gateway and verifies in jose", async () => {
    const db = ["--db", gatewayDb];
    await succeed(["service", "add", ...db, "--name", "signed", "--url", upstream.url]);
    await succeed(["route", "add", ...db, "--name", "signed", "--service", "signed", "--path", "/signed"]);
    await succeed(["plugin", "add", ...db, "--name", "jwt", "--route", "signed", "--config", '{"claims_to_verify":["exp","nbf"]}']);
    await succeed(["keygen", "--alg", "PS256", "--out", join(dir, "signer")]);
    await succeed(["consumer", "add", ...db, "--username", "signer"]);
    await succeed(["jwt", "add", ...db, "--consumer", "signer", "--algorithm", "PS256", "--public-key", join(dir, "signer.pub"), "--key", "signer-iss"]);
    const token = (await succeed(["sign", "--alg", "PS256", "--key", join(dir, "signer.key"), "--iss", "signer-iss", "--sub", "user-7", "--nbf", "0", "--exp", "5m"])).trim();
    await jwtVerify(token, createPublicKey(readFileSync(join(dir, "signer.pub"), "utf8")), { algorithms: ["PS256"] });

    const deadline = Date.now() + 1000;
    let response: Response;
    do {
      response = await fetch(`${gateway.proxyUrl}/signed/x`, { headers: { authorization: `Bearer ${token}` } });
      if (response.status === 200) break;
      await response.arrayBuffer();
      await Bun.sleep(25);
    } while (Date.now() < deadline);
    expect(response.status).toBe(200);
    expect(((await response.json()) as Echo).headers["x-consumer-username"]).toBe("signer");
  });

  test("keygen --store over the admin API: kid and public JWK printed, the key listed by GET /keys", async () => {
    const out = await succeed(["keygen", "--alg", "ES256", "--store", "--kid", "api-key-1", "--admin-url", gateway.adminUrl, "--admin-token", ADMIN_TOKEN]);
    expect(out).toStartWith("kid: api-key-1\npublic JWK: {");
    const keys = (await (await fetch(`${gateway.adminUrl}/keys`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as { data: { kid: string }[] };
    expect(keys.data.map((k) => k.kid)).toContain("api-key-1");
  });
});

describe("config", () => {
  test("init writes a commented example that validates; it never overwrites", async () => {
    const file = join(dir, "kong.yml");
    expect(await succeed(["config", "init", file])).toBe(`wrote ${file}\n`);
    const text = readFileSync(file, "utf8");
    expect(text).toStartWith("# gateway declarative configuration");
    expect(await succeed(["config", "validate", file])).toBe("ok: 1 services, 1 routes, 0 upstreams, 0 targets, 1 consumers, 1 jwt credentials, 1 acl entries, 0 key-auth credentials, 0 basic-auth credentials, 2 plugins, 0 keys, 0 certificates, 0 snis, 0 ca certificates\n");
    const again = await cli(["config", "init", file]);
    expect(again.code).toBe(1);
    expect(readFileSync(file, "utf8")).toBe(text);
  });

  test("validate: exit 1 with the entity, its position and the field", async () => {
    const file = join(dir, "bad.yml");
    writeFileSync(file, '_format_version: "3.0"\nservices:\n  - name: s\n    url: http://127.0.0.1:9\n    routes:\n      - name: r\n        paths: [/x]\n        colour: red\n');
    const result = await cli(["config", "validate", file]);
    expect(result).toEqual({ code: 1, stdout: "", stderr: "gateway: in route 'r' at services[0].routes[0]: colour: unknown field\n" });
  });

  test("import replaces the database atomically; export gives it back; keystore private keys survive an import of their public export", async () => {
    const db = join(dir, "config.db");
    await succeed(["keygen", "--alg", "ES256", "--store", "--kid", "kept", "--db", db]);
    const exported = await succeed(["config", "export", "--db", db]);
    expect(exported).toContain("kid: kept");
    expect(exported).not.toContain('"d"');
    const file = join(dir, "import.yml");
    writeFileSync(file, `${readFileSync(join(dir, "kong.yml"), "utf8")}keys:\n${exported.split("keys:\n")[1]}`);
    expect(await succeed(["config", "import", file, "--db", db])).toBe(
      `imported ${file} into ${db}: 1 services, 1 routes, 0 upstreams, 0 targets, 1 consumers, 1 jwt credentials, 1 acl entries, 0 key-auth credentials, 0 basic-auth credentials, 2 plugins, 1 keys, 0 certificates, 0 snis, 0 ca certificates\n`,
    );
    expect((await cli(["sign", "--kid", "kept", "--db", db])).code).toBe(0);

    const document = JSON.parse(await succeed(["config", "export", "--format", "json", "--db", db]));
    expect(document.services.map((s: { name: string }) => s.name)).toEqual(["my-api-server"]);
    const before = await succeed(["config", "export", "--db", db]);
    const bad = await cli(["config", "import", join(dir, "bad.yml"), "--db", db]);
    expect(bad.code).toBe(1);
    expect(await succeed(["config", "export", "--db", db])).toBe(before);
    expect(await succeed(["config", "export", "--include-private-keys", "--db", db])).toContain("private_jwk");
  });

  test("import and export over the admin API; private keys are never asked of it", async () => {
    const args = ["--admin-url", gateway.adminUrl, "--admin-token", ADMIN_TOKEN];
    expect(await succeed(["config", "import", join(dir, "kong.yml"), ...args])).toContain("1 services, 1 routes, 0 upstreams, 0 targets, 1 consumers");
    expect(await succeed(["config", "export", ...args])).toContain("name: my-api-server");
    const refused = await cli(["config", "export", "--include-private-keys", ...args]);
    expect(refused.code).toBe(2);
  });
});
