// Config values that would be used literally (security hardening item 8): Kong's
// `{vault://env/NAME}` references are resolved from the environment at load, everything else that
// looks like one (another vault, `$VAR`, `${VAR}`) is refused naming the field, and what is stored
// and exported is the reference, never the value.
import type { JwtCredential } from "../../plugins/jwt/credential.ts";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { createHmac, randomBytes } from "node:crypto";
import { exportDeclarative, parseDeclarative } from "../../src/config/declarative.ts";
import { openCore } from "../../src/gateway.ts";
import { type AdminHarness, openAdmin } from "../admin-harness.ts";
import { type TestGateway, startTestGateway } from "../support/gateway.ts";
import { type TestUpstream, startUpstream } from "../support/upstream.ts";

const SECRET = randomBytes(24).toString("hex");
const REALM = "realm-from-env";
/** Variables this file sets; each test leaves the environment as it found it. */
const SET = { GW_REF_SECRET: SECRET, GW_REF_REALM: REALM, GW_REF_HOST: "127.0.0.1", GW_REF_CREDS: JSON.stringify({ password: "from-json", port: 1 }) };

beforeAll(() => Object.assign(process.env, SET));
afterAll(() => {
  for (const name of Object.keys(SET)) delete process.env[name];
});

function hs256(key: string, secret: string): string {
  const input = `${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString("base64url")}.${Buffer.from(JSON.stringify({ iss: key })).toString("base64url")}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
}

/** A declarative file: an upstream whose host comes from the environment, a jwt route, one credential. */
function file(port: number, secret: string): string {
  return `_format_version: "3.0"
services:
  - name: orders
    host: "{vault://env/gw-ref-host}"
    port: ${port}
    routes:
      - name: orders-route
        paths: [/orders]
    plugins:
      - name: jwt
        config:
          realm: "{vault://env/GW_REF_REALM}"
consumers:
  - username: alice
    jwt_secrets:
      - key: alice-key
        secret: ${JSON.stringify(secret)}
`;
}

function errorOf(run: () => unknown): { message: string; fields: Record<string, string> } {
  try {
    run();
  } catch (error) {
    return error as { message: string; fields: Record<string, string> };
  }
  throw new Error("expected an error");
}

describe("declarative files", () => {
  let upstream: TestUpstream;
  let gateway: TestGateway;
  const load = (text: string) => gateway.store.replaceAll(parseDeclarative(text, gateway.registry, { previous: gateway.store.loadStored() }));
  const get = (token?: string) => gateway.request("/orders", token ? { headers: { authorization: `Bearer ${token}` } } : {});

  beforeAll(() => {
    upstream = startUpstream();
    gateway = startTestGateway();
    load(file(upstream.port, "{vault://env/gw-ref-secret}"));
  });
  afterAll(async () => {
    await gateway.close();
    await upstream.stop();
  });

  test("{vault://env/NAME} in a secret, a service host and a plugin config: the proxy uses the environment's values", async () => {
    expect((await get(hs256("alice-key", SECRET))).status).toBe(200);
    // The reference text itself is no secret anyone can sign with.
    expect((await get(hs256("alice-key", "{vault://env/gw-ref-secret}"))).status).toBe(401);
    const missing = await get();
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toBe(`Bearer realm="${REALM}"`);
  });

  test("what is stored and exported is the reference; only the running state holds the value", () => {
    const stored = gateway.store.loadStored();
    expect(stored.jwt_secrets[0]!.secret).toBe("{vault://env/gw-ref-secret}");
    expect(stored.services[0]!.host).toBe("{vault://env/gw-ref-host}");
    expect(stored.plugins[0]!.config.realm).toBe("{vault://env/GW_REF_REALM}");
    const exported = exportDeclarative(stored, { format: "yaml" });
    expect(exported).toContain("{vault://env/gw-ref-secret}");
    expect(exported).not.toContain(SECRET);
    expect(gateway.state.current.uniqueIndex<JwtCredential>("jwt_secrets", "key").get("alice-key")!.secret).toBe(SECRET);
    expect(gateway.state.current.services.get(stored.services[0]!.id)!.host).toBe("127.0.0.1");
  });

  test("{vault://env/NAME/KEY} takes a string field of a JSON value", () => {
    const state = parseDeclarative(file(1, "{vault://env/gw-ref-creds/password}"), gateway.registry);
    const core = openCore({ db: ":memory:" });
    try {
      core.store.replaceAll(state);
      expect(core.state.current.uniqueIndex<JwtCredential>("jwt_secrets", "key").get("alice-key")!.secret).toBe("from-json");
    } finally {
      core.opened.sqlite.close();
    }
    expect(errorOf(() => parseDeclarative(file(1, "{vault://env/gw-ref-creds/port}"), gateway.registry)).message).toBe(
      "in jwt_secret 'alice-key' at consumers[0].jwt_secrets[0]: secret: environment variable GW_REF_CREDS is not a JSON object with a string field 'port' (referenced as {vault://env/gw-ref-creds/port})",
    );
  });

  const refused: [string, string, string, string][] = [
    [
      "a missing variable",
      "{vault://env/gw-ref-unset}",
      "consumers[0].jwt_secrets[0].secret",
      "in jwt_secret 'alice-key' at consumers[0].jwt_secrets[0]: secret: environment variable GW_REF_UNSET is not set (referenced as {vault://env/gw-ref-unset})",
    ],
    [
      "a ${VAR} placeholder",
      "${SECRET}",
      "consumers[0].jwt_secrets[0].secret",
      "in jwt_secret 'alice-key' at consumers[0].jwt_secrets[0]: secret: looks like an unexpanded environment variable placeholder (${SECRET}); use {vault://env/SECRET} or expand it before loading",
    ],
    [
      "a $VAR placeholder",
      "$JWT_SECRET",
      "consumers[0].jwt_secrets[0].secret",
      "in jwt_secret 'alice-key' at consumers[0].jwt_secrets[0]: secret: looks like an unexpanded environment variable placeholder ($JWT_SECRET); use {vault://env/JWT_SECRET} or expand it before loading",
    ],
    [
      "another vault",
      "{vault://aws/prod/jwt-secret}",
      "consumers[0].jwt_secrets[0].secret",
      "this file uses 1 Kong feature this gateway does not have:\n  - jwt_secret 'alice-key' at consumers[0].jwt_secrets[0]: secret: vault 'aws' is not supported (only {vault://env/...})",
    ],
    [
      "a reference that is not the whole value",
      "prefix-{vault://env/gw-ref-secret}",
      "consumers[0].jwt_secrets[0].secret",
      "in jwt_secret 'alice-key' at consumers[0].jwt_secrets[0]: secret: a vault reference must be the whole value, as in {vault://env/NAME}",
    ],
    [
      "a malformed env reference",
      "{vault://env/a/b/c}",
      "consumers[0].jwt_secrets[0].secret",
      "in jwt_secret 'alice-key' at consumers[0].jwt_secrets[0]: secret: not a valid env vault reference: write {vault://env/NAME} or {vault://env/NAME/KEY}",
    ],
  ];
  for (const [name, secret, field, message] of refused) {
    test(`${name} → a load error naming the field; the running state is unchanged`, async () => {
      const stored = JSON.stringify(gateway.store.loadStored());
      const version = gateway.state.current.version;
      const error = errorOf(() => load(file(upstream.port, secret)));
      expect(error.message).toBe(message);
      expect(Object.keys(error.fields)).toEqual([field]);
      expect(JSON.stringify(gateway.store.loadStored())).toBe(stored);
      expect(gateway.state.current.version).toBe(version);
      expect((await get(hs256("alice-key", SECRET))).status).toBe(200);
    });
  }

  test("each load reads the environment again, and a variable gone at load keeps the previous state", async () => {
    const rotated = randomBytes(24).toString("hex");
    process.env.GW_REF_SECRET = rotated;
    try {
      gateway.state.reload();
      expect((await get(hs256("alice-key", rotated))).status).toBe(200);
      delete process.env.GW_REF_SECRET;
      const version = gateway.state.current.version;
      expect(() => gateway.state.reload()).toThrow(
        "jwt credential 'alice-key': secret: environment variable GW_REF_SECRET is not set (referenced as {vault://env/gw-ref-secret})",
      );
      expect(gateway.state.current.version).toBe(version);
      expect((await get(hs256("alice-key", rotated))).status).toBe(200);
    } finally {
      process.env.GW_REF_SECRET = SECRET;
      gateway.state.reload();
    }
  });

  test("a value read from the environment is validated like one written: an invalid PEM is refused", () => {
    process.env.GW_REF_PEM = "-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----";
    try {
      const text = `_format_version: "3.0"\nconsumers:\n  - username: a\n    jwt_secrets: [{key: k, algorithm: ES256, rsa_public_key: "{vault://env/GW_REF_PEM}"}]`;
      expect(errorOf(() => parseDeclarative(text, gateway.registry)).fields).toEqual({
        "consumers[0].jwt_secrets[0].rsa_public_key": "invalid key: could not be parsed as a PEM public key, certificate or JWK",
      });
    } finally {
      delete process.env.GW_REF_PEM;
    }
  });

  const elsewhere: [string, string, Record<string, string>][] = [
    [
      "a reference in a field that takes none (a consumer's username)",
      `_format_version: "3.0"\nconsumers:\n  - username: "{vault://env/GW_REF_HOST}"`,
      { "consumers[0].username": "vault references are not supported in this field (only in service host and path, jwt credential key, secret, rsa_public_key and jwks_uri, and plugin config values)" },
    ],
    [
      "a reference as a service url",
      `_format_version: "3.0"\nservices:\n  - name: s\n    url: "{vault://env/GW_REF_HOST}"`,
      { "services[0].url": "a vault reference cannot be split into protocol, host, port and path: give host (and path) as references instead of url" },
    ],
    [
      // github.com/GSA-TTS/identity-idva-api-gateway ingress/kong-config.yaml: meant for envsubst.
      "a placeholder inside a service url",
      `_format_version: "1.1"\nservices:\n  - name: sk-api\n    url: https://identity-idva-sk-api-\${ENVIRONMENT_NAME}.apps.internal:61443`,
      { "services[0].url": "looks like an unexpanded environment variable placeholder (${ENVIRONMENT_NAME}); expand it before loading" },
    ],
    [
      // github.com/IcaroRobertos/kong-declarative-mode kong.yaml: loaded as the host "$IP" before.
      "a placeholder as a service host",
      `_format_version: "1.1"\nservices:\n  - name: service1\n    host: $IP\n    port: 8080`,
      { "services[0].host": "looks like an unexpanded environment variable placeholder ($IP); use {vault://env/IP} or expand it before loading" },
    ],
    [
      "a placeholder in a route host",
      `_format_version: "3.0"\nservices:\n  - name: s\n    url: http://x\n    routes: [{name: r, hosts: ["idva-\${ENVIRONMENT_NAME}.app.cloud.gov"]}]`,
      { "services[0].routes[0].hosts[0]": "looks like an unexpanded environment variable placeholder (${ENVIRONMENT_NAME}); expand it before loading" },
    ],
    [
      "a placeholder in a plugin config value",
      `_format_version: "3.0"\nplugins:\n  - name: jwt\n    config: {realm: "\${REALM}"}`,
      { "plugins[0].config.realm": "looks like an unexpanded environment variable placeholder (${REALM}); use {vault://env/REALM} or expand it before loading" },
    ],
    [
      "a reference in a keystore key",
      `_format_version: "3.0"\nkeys:\n  - kid: "{vault://env/GW_REF_HOST}"\n    alg: ES256`,
      { "keys[0].kid": "vault references are not supported in this field (only in service host and path, jwt credential key, secret, rsa_public_key and jwks_uri, and plugin config values)" },
    ],
  ];
  for (const [name, text, fields] of elsewhere) {
    test(`${name} → refused naming the field`, () => {
      expect(errorOf(() => parseDeclarative(text, gateway.registry)).fields).toEqual(fields);
    });
  }

  test("dollar signs that are no placeholder load as written: OData's $metadata, a lower-case $ in a secret", () => {
    const text = `_format_version: "3.0"\nservices:\n  - name: s\n    url: http://x/odata/$metadata\nconsumers:\n  - username: a\n    jwt_secrets: [{key: k, secret: "pa$word-and-$$X-and-a$B"}]`;
    const state = parseDeclarative(text, gateway.registry);
    expect(state.services[0]!.path).toBe("/odata/$metadata");
    expect(state.jwt_secrets[0]!.secret).toBe("pa$word-and-$$X-and-a$B");
  });
});

describe("admin API", () => {
  let admin: AdminHarness;
  beforeAll(async () => {
    admin = openAdmin();
    await admin.call("POST", "/consumers", { username: "alice" });
  });
  afterAll(() => admin.close());
  afterEach(() => delete process.env.GW_REF_PEM);

  const rejected: [string, string, unknown, Record<string, string>][] = [
    ["a ${VAR} secret", "/consumers/alice/jwt", { key: "k1", secret: "${SECRET}" }, { secret: "looks like an unexpanded environment variable placeholder (${SECRET}); use {vault://env/SECRET} or expand it before loading" }],
    ["a $VAR host", "/services", { name: "s1", host: "$UPSTREAM_HOST" }, { host: "looks like an unexpanded environment variable placeholder ($UPSTREAM_HOST); use {vault://env/UPSTREAM_HOST} or expand it before loading" }],
    ["another vault", "/consumers/alice/jwt", { key: "k2", secret: "{vault://hcv/kv/jwt}" }, { secret: "vault 'hcv' is not supported; only {vault://env/...}" }],
    ["a missing variable", "/consumers/alice/jwt", { key: "k3", secret: "{vault://env/gw-ref-unset}" }, { secret: "environment variable GW_REF_UNSET is not set (referenced as {vault://env/gw-ref-unset})" }],
    ["a reference in a plugin config", "/plugins", { name: "test-stamp", config: { header: "{vault://gcp/x}" } }, { "config.header": "vault 'gcp' is not supported; only {vault://env/...}" }],
    ["a reference as a consumer's custom_id", "/consumers", { username: "bob", custom_id: "{vault://env/GW_REF_HOST}" }, { custom_id: "vault references are not supported in this field (only in service host and path, jwt credential key, secret, rsa_public_key and jwks_uri, and plugin config values)" }],
  ];
  for (const [name, path, body, fields] of rejected) {
    test(`POST ${path} with ${name} → 400 {message, fields} naming the field; nothing stored`, async () => {
      const before = admin.state();
      const reply = await admin.call("POST", path, body);
      expect(reply.status).toBe(400);
      expect(reply.body.fields).toEqual(fields);
      expect(reply.body.message).toBe(`schema violation (${Object.entries(fields).map(([field, why]) => `${field}: ${why}`).join("; ")})`);
      expect(admin.state()).toBe(before);
    });
  }

  test("a credential with {vault://env/NAME}: answers, reads and GET /config show the reference; the running state has the value", async () => {
    const created = await admin.call("POST", "/consumers/alice/jwt", { key: "alice-env", secret: "{vault://env/gw-ref-secret}" });
    expect(created.status).toBe(201);
    expect(created.body.secret).toBe("{vault://env/gw-ref-secret}");
    expect((await admin.call("GET", "/consumers/alice/jwt/alice-env")).body.secret).toBe("{vault://env/gw-ref-secret}");
    for (const format of ["yaml", "json"]) {
      const exported = await admin.call("GET", `/config?format=${format}`);
      expect(exported.text).toContain("{vault://env/gw-ref-secret}");
      expect(exported.text).not.toContain(SECRET);
    }
    expect(admin.core.state.current.uniqueIndex<JwtCredential>("jwt_secrets", "key").get("alice-env")!.secret).toBe(SECRET);
  });

  test("a PATCH that leaves the field alone keeps the reference; one that gives a value replaces it", async () => {
    await admin.call("POST", "/consumers/alice/jwt", { key: "alice-patch", secret: "{vault://env/gw-ref-secret}" });
    const tagged = await admin.call("PATCH", "/consumers/alice/jwt/alice-patch", { tags: ["rotated"] });
    expect(tagged.status).toBe(200);
    expect(tagged.body.secret).toBe("{vault://env/gw-ref-secret}");
    const literal = await admin.call("PATCH", "/consumers/alice/jwt/alice-patch", { secret: "a-literal-secret-value" });
    expect(literal.body.secret).toBe("a-literal-secret-value");
    expect(admin.core.state.current.uniqueIndex<JwtCredential>("jwt_secrets", "key").get("alice-patch")!.secret).toBe("a-literal-secret-value");
  });

  test("a plugin config value from the environment: stored as the reference, run with the value", async () => {
    const created = await admin.call("POST", "/plugins", { name: "test-stamp", config: { header: "{vault://env/GW_REF_REALM}" } });
    expect(created.status).toBe(201);
    expect(created.body.config.header).toBe("{vault://env/GW_REF_REALM}");
    const running = admin.core.state.current.data.plugins.find((plugin) => plugin.id === created.body.id)!;
    expect(running.config.header).toBe(REALM);
    expect((await admin.call("GET", "/config")).text).not.toContain(REALM);
  });

  test("an invalid PEM from the environment → 400 on rsa_public_key", async () => {
    process.env.GW_REF_PEM = "-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----";
    const reply = await admin.call("POST", "/consumers/alice/jwt", { key: "alice-pem", algorithm: "ES256", rsa_public_key: "{vault://env/GW_REF_PEM}" });
    expect(reply.status).toBe(400);
    expect(reply.body.fields).toEqual({ rsa_public_key: "invalid key: could not be parsed as a PEM public key, certificate or JWK" });
  });

  test("POST /config with a ${VAR} secret → 400 naming the entity, position and field", async () => {
    const before = admin.state();
    const reply = await admin.call("POST", "/config", undefined, {
      body: `_format_version: "3.0"\nconsumers:\n  - username: carol\n    jwt_secrets: [{key: carol-key, secret: "\${CAROL_SECRET}"}]`,
      headers: { "content-type": "application/yaml" },
    });
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({
      message: "in jwt_secret 'carol-key' at consumers[0].jwt_secrets[0]: secret: looks like an unexpanded environment variable placeholder (${CAROL_SECRET}); use {vault://env/CAROL_SECRET} or expand it before loading",
      fields: { "consumers[0].jwt_secrets[0].secret": "looks like an unexpanded environment variable placeholder (${CAROL_SECRET}); use {vault://env/CAROL_SECRET} or expand it before loading" },
    });
    expect(admin.state()).toBe(before);
  });
});
