// The 43 declarative files other people wrote (tests/fixtures/realworld-kong/: Kong's and decK's
// repositories, Supabase, user projects), tried as a Kong user would: `config validate` and
// `config check` on each, in process and a few through the compiled binary. Each file either
// loads, or is refused naming exactly its unsupported Kong features (the table below), or is
// refused for a value Kong refuses too; no message carries a schema library's wording. The files
// that load and use jwt are then served with their services pointed at a local echo server, and
// a token signed with the file's own credential gets the answers and headers Kong gives.
// The table is main's with upstreams, targets, certificates, route https_redirect_status_code and
// upstream TLS (ca_certificates, service tls_verify, tls_verify_depth, ca_certificates) supported.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT, generateKeyPair } from "jose";
import YAML from "yaml";
import { checkDeclarative } from "../src/config/check.ts";
import { parseDeclarative } from "../src/config/declarative.ts";
import { parseDocument } from "../src/config/document.ts";
import { featureLines } from "../src/config/unsupported.ts";
import { builtinPlugins } from "../src/gateway.ts";
import type { StateData } from "../src/state/data.ts";
import { ensureBinary, runCli } from "./support/binary.ts";
import { startTestGateway, type TestGateway } from "./support/gateway.ts";
import { type Echo, startUpstream, type TestUpstream } from "./support/upstream.ts";

const DIR = join(import.meta.dir, "fixtures", "realworld-kong");

type Expected =
  | "loads"
  /** Each unsupported feature and the first position that asks for it, one line of the message each. */
  | { missing: [feature: string, position: string][] }
  /** Refused for a value (Kong refuses it too, or the gateway's secure defaults do). */
  | { refused: string };

const TABLE: Record<string, Expected> = {
  "01-kong-kong-config-init-template.yml": "loads",
  "02-kong-kong-spec-burst.yml": "loads",
  "03-kong-kong-spec-flatten-jwt-secrets.yml": {
    refused: "in jwt_secret 'https://keycloak/realms/foo' at jwt_secrets[0]: rsa_public_key: invalid key: RSA keys must have at least 2048 bits",
  },
  "04-kong-kong-spec-config-import.yml": {
    missing: [["plugin 'http-log'", "services[0].plugins[1]"], ["plugin 'tcp-log'", "services[1].plugins[1]"], ["plugin 'rate-limiting' at services[1].plugins[2]: config.policy: 'redis' is not supported", "services[1].plugins[2]"]],
  },
  "05-kong-deck-root-kong-yaml.yml": {
    missing: [
      ["hmacauth_credentials", "consumers[0].hmacauth_credentials"],
      ["plugin 'rate-limiting' at consumers[1].plugins[0]: config.policy: 'redis' is not supported", "consumers[1].plugins[0]"],
    ],
  },
  "06-kong-deck-kong2kic-consumer-input.yml": { missing: [["mtls_auth_credentials", "consumers[0].mtls_auth_credentials"]] },
  "07-kong-deck-sync-046-creds-initial.yml": {
    missing: [["consumer_groups", "consumer_groups"], ["groups", "consumers[0].groups"], ["hmacauth_credentials", "consumers[0].hmacauth_credentials"]],
  },
  "08-kong-deck-dump-001-entities-with-tags.yml": {
    missing: [["hmacauth_credentials", "consumers[0].hmacauth_credentials"]],
  },
  "09-kong-deck-diff-006-jwt-plugin.yml": "loads",
  "10-kong-deck-kong2tf-consumer-jwt.yml": { refused: "in @file: _format_version: required field missing" },
  "11-supabase-docker-kong.yml": { missing: [["plugin 'post-function'", "services[13].plugins[2]"]] },
  "12-edward205204-lab-1-jwt.yml": "loads",
  "13-anspire-kong-keycloak-test.yml": "loads",
  "14-ahnmaph-kong-api-management.yml": {
    missing: [
      ["plugin 'http-log'", "services[1].routes[0].plugins[0]"],
      ["plugin 'bot-detection'", "services[1].routes[6].plugins[0]"],
      ["plugin 'proxy-cache'", "services[1].routes[6].plugins[1]"],
      ["plugin 'file-log'", "services[1].routes[7].plugins[2]"],
    ],
  },
  "15-daniellafreese-springboot-kong-jwt.yml": "loads",
  "16-fawwazaf-kong-gateway-test.yml": "loads",
  "17-redrickshewharthub-token-service.yml": "loads",
  "18-agoes-gojwt-kong-example.yml": "loads",
  "19-hunzo-kong-jwt-example.yml": "loads",
  "20-shawnewallace-kong-jwt-demo.yml": "loads",
  "21-akaiserg-kong-dbless-multi-jwt.yml": "loads",
  "22-hguerra-kong-gateway-dbless.yml": {
    missing: [
      ["plugin 'kong-path-allow'", "services[0].plugins[0]"],
      ["plugin 'response-cache'", "services[1].plugins[2]"],
      ["plugin 'rate-limiting' at services[1].plugins[3]: config.policy: 'redis' is not supported", "services[1].plugins[3]"],
      ["plugin 'kong-jwt2header'", "plugins[2]"],
    ],
  },
  "23-sakshi-choudhary-kong-jwt-plugin.yml": "loads",
  "24-joaountura-auth-infra.yml": { missing: [["plugin 'tcp-log'", "plugins[1]"], ["plugin 'acme'", "plugins[2]"]] },
  "25-experimentos-arquisol-sprint4.yml": "loads",
  "26-gsa-tts-idva-ingress.yml": {
    refused: "in service 'sk-api' at services[0]: url: looks like an unexpanded environment variable placeholder (${ENVIRONMENT_NAME}); expand it before loading",
  },
  "27-kong-graphql-opa-authorization.yml": {
    missing: [["plugin 'opa'", "services[0].routes[0].plugins[0]"], ["plugin 'openid-connect'", "services[0].routes[0].plugins[1]"]],
  },
  "28-maxi-teme-kong-plugin-jwt-jwk.yml": { missing: [["plugin 'jwt-jwk'", "services[0].plugins[0]"]] },
  "29-fuclu-cloud-api-security.yml": {
    missing: [
      ["plugin 'jwt-hardening'", "plugins[0]"],
      ["plugin 'hsts-header'", "plugins[1]"],
      ["plugin 'opa-authz'", "plugins[2]"],
    ],
  },
  "30-karansaw2004-authsystem.yml": "loads",
  "31-ders14028-orcalab-auth-service.yml": "loads",
  "32-farhanswitch-kong-auth.yml": { missing: [["plugin 'keyless-header'", "services[5].plugins[0]"]] },
  "33-dinokey-kong-dbless-grpc.yml": { missing: [["protocol 'grpc'", "services[0]"], ["protocol 'grpc'", "services[0].routes[0]"]] },
  "34-zoobab-kong-withkey.yml": "loads",
  "35-123duoyun-eduskill-auth.yml": { missing: [["plugin 'oidc-jwt-auth'", "services[0].routes[0].plugins[0]"]] },
  "36-tuanta7-kong-demo.yml": { missing: [["plugin 'introspect'", "services[0].routes[0].plugins[0]"]] },
  // Kong refuses it too: key-auth's schema has no consumer scope.
  "37-anylee2142-kongapigateway.yml": { refused: "in plugin 'key-auth' at consumers[0].plugins[0]: consumer: the key-auth plugin cannot be applied to a consumer" },
  "38-rycastr-kong-gateway-sample.yml": "loads",
  "39-adrianzelada-gd-microservice-kong.yml": "loads",
  "40-icarorobertos-kong-declarative-mode.yml": {
    refused: "in service 'service1' at services[0]: host: looks like an unexpanded environment variable placeholder ($IP); use {vault://env/IP} or expand it before loading",
  },
  "41-zoobab-kong-monitoring.yml": "loads",
  "42-abdirahman-supabase-hostinger.yml": "loads",
  "43-kong-docs-secure-admin-api.yml": "loads",
};

/** Words of a schema library, or a JSON pointer, in a message meant for a Kong user. */
const JARGON = /union|Expected|TypeBox|schema violation|must match pattern|(^|[\s:])\/[a-z_]+\/\d|\^\[/;

const files = readdirSync(DIR).filter((file) => file.endsWith(".yml")).sort();
const text = (file: string) => readFileSync(join(DIR, file), "utf8");

function refusal(file: string): Error | null {
  try {
    parseDeclarative(text(file), builtinPlugins);
    return null;
  } catch (error) {
    return error as Error;
  }
}

test("the table names every file of the directory", () => {
  expect(files).toEqual(Object.keys(TABLE).sort());
  const counts = { loads: 0, missing: 0, refused: 0 };
  for (const expected of Object.values(TABLE)) counts[expected === "loads" ? "loads" : "missing" in expected ? "missing" : "refused"]++;
  console.log(`realworld: ${counts.loads} load, ${counts.missing} refused naming their unsupported Kong features, ${counts.refused} refused for a value`);
  expect(counts).toEqual({ loads: 22, missing: 16, refused: 5 });
});

describe("config validate: each file loads, or is refused naming exactly its unsupported features", () => {
  for (const file of Object.keys(TABLE)) {
    const expected = TABLE[file]!;
    test(file, () => {
      const error = refusal(file);
      if (expected === "loads") {
        expect(error).toBeNull();
        return;
      }
      expect(error).not.toBeNull();
      expect(error!.message).not.toMatch(JARGON);
      if ("refused" in expected) {
        expect(error!.message).toBe(expected.refused);
        return;
      }
      const [head, ...lines] = error!.message.split("\n");
      expect(head).toBe(`this file uses ${expected.missing.length === 1 ? "1 Kong feature" : `${expected.missing.length} Kong features`} this gateway does not have:`);
      expect(lines).toHaveLength(expected.missing.length);
      expected.missing.forEach(([feature, position], i) => {
        expect(lines[i]).toStartWith("  - ");
        expect(lines[i]).toContain(feature);
        expect(lines[i]).toContain(` at ${position}`);
      });
    });
  }
});

describe("config check: the same verdict, with what works and what works differently", () => {
  for (const file of Object.keys(TABLE)) {
    const expected = TABLE[file]!;
    test(file, () => {
      const report = checkDeclarative(text(file), builtinPlugins);
      expect(report.ok).toBe(expected === "loads");
      const missing = featureLines(report.missing);
      expect(missing).toHaveLength(expected !== "loads" && "missing" in expected ? expected.missing.length : 0);
      if (expected !== "loads" && "refused" in expected) expect(report.refused).toBe(expected.refused);
      for (const line of [...missing, report.refused ?? "", ...report.differences.map((d) => d.what)]) expect(line).not.toMatch(JARGON);
      if (Object.keys(parseDocument(text(file)) as object).includes("services")) expect(report.works.join(" ")).toMatch(/services?/);
    });
  }
});

describe("through the compiled binary", () => {
  let binary: string;
  let cwd: string;
  beforeAll(async () => {
    binary = await ensureBinary();
    cwd = mkdtempSync(join(tmpdir(), "gateway-realworld-"));
  }, 120_000);
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  test("config validate: a decK file refused with one line per missing feature, exit 1", async () => {
    const result = await runCli(binary, ["config", "validate", join(DIR, "08-kong-deck-dump-001-entities-with-tags.yml")], { cwd });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      [
        "gateway: this file uses 1 Kong feature this gateway does not have:",
        "  - hmacauth_credentials at consumers[0].hmacauth_credentials is not supported",
        "",
      ].join("\n"),
    );
  });

  test("config check: exit 0 for a file that loads, 1 with the missing plugin named for Supabase's", async () => {
    const good = await runCli(binary, ["config", "check", join(DIR, "19-hunzo-kong-jwt-example.yml")], { cwd });
    expect(good.code).toBe(0);
    expect(good.stdout).toStartWith(`${join(DIR, "19-hunzo-kong-jwt-example.yml")}: everything in it will work here`);
    const supabase = await runCli(binary, ["config", "check", "--json", join(DIR, "11-supabase-docker-kong.yml")], { cwd });
    expect(supabase.code).toBe(1);
    const report = JSON.parse(supabase.stdout);
    expect(report.ok).toBe(false);
    expect(report.missing.map((finding: { message: string }) => finding.message)).toEqual([
      "plugin 'post-function' at services[13].plugins[2] is not available in this gateway",
      "plugin 'post-function' at services[14].plugins[2] is not available in this gateway",
    ]);
  });
});

// ---- serving the files that load and use jwt ---------------------------------------------------

type Entry = Record<string, any>;

/** The file with every service sent to the echo server (its path kept), as a user would test it locally. */
function pointedAt(file: string, upstream: TestUpstream): string {
  const document = parseDocument(text(file)) as Entry;
  for (const service of document.services ?? []) {
    const path = typeof service.url === "string" ? new URL(service.url).pathname : typeof service.path === "string" ? service.path : "";
    delete service.host;
    delete service.port;
    delete service.protocol;
    delete service.path;
    service.url = `${upstream.url}${path === "/" ? "" : path}`;
  }
  return YAML.stringify(document);
}

/** The routes a jwt plugin covers, with the consumers' HS credentials and the plugin's key claim. */
function jwtRoutes(state: StateData) {
  return state.routes.flatMap((route) => {
    const plugin = state.plugins.find(
      (p) => p.name === "jwt" && p.enabled && !p.consumer && (p.route?.id === route.id || (p.service?.id === route.service.id && !p.route) || (!p.route && !p.service)),
    );
    return plugin ? [{ route, config: plugin.config as { key_claim_name: string; claims_to_verify: string[] | null } }] : [];
  });
}

/** The files that load whose state has a plugin of this name. */
const filesWithPlugin = (name: string) =>
  Object.keys(TABLE).filter((file) => TABLE[file] === "loads" && parseDeclarative(text(file), builtinPlugins).plugins.some((plugin) => plugin.name === name));
const JWT_FILES = filesWithPlugin("jwt");

describe("the files that load and use jwt, served against a local echo server", () => {
  let upstream: TestUpstream;
  let gateway: TestGateway;
  let outsider: CryptoKey;
  beforeAll(async () => {
    upstream = startUpstream();
    gateway = startTestGateway();
    outsider = (await generateKeyPair("RS256")).privateKey as CryptoKey;
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream?.stop();
  });

  test("the jwt files", () => {
    expect(JWT_FILES).toEqual([
      "09-kong-deck-diff-006-jwt-plugin.yml", "12-edward205204-lab-1-jwt.yml", "13-anspire-kong-keycloak-test.yml", "15-daniellafreese-springboot-kong-jwt.yml",
      "16-fawwazaf-kong-gateway-test.yml", "17-redrickshewharthub-token-service.yml", "18-agoes-gojwt-kong-example.yml", "19-hunzo-kong-jwt-example.yml", "20-shawnewallace-kong-jwt-demo.yml",
      "21-akaiserg-kong-dbless-multi-jwt.yml", "23-sakshi-choudhary-kong-jwt-plugin.yml",
    ]);
  });

  for (const file of JWT_FILES) {
    test(`${file}: 401 without a token or with a forged one; 200 with the file's own HS credential and Kong's X-Consumer-* headers`, async () => {
      const state = parseDeclarative(pointedAt(file, upstream), builtinPlugins);
      gateway.store.replaceAll(state);
      const routes = jwtRoutes(state);
      // 09 is a global plugin only (no services): nothing to request.
      if (file.startsWith("09-")) return expect(routes).toEqual([]);
      expect(routes.length).toBeGreaterThan(0);
      let served = 0;
      for (const { route, config } of routes) {
        const path = route.paths?.find((p) => !p.startsWith("~")) ?? "/";
        const init = { method: route.methods?.find((m) => m !== "OPTIONS") ?? "GET", headers: { host: route.hosts?.[0] ?? "gateway.test" } };
        const none = await gateway.request(path, init);
        expect(none.status).toBe(401);
        expect(await none.json()).toEqual({ message: "Unauthorized" });

        const now = Math.floor(Date.now() / 1000);
        const claims = (key: string) => ({ [config.key_claim_name]: key, exp: now + 300, nbf: now - 10 });
        for (const credential of state.jwt_secrets) {
          const forged = await new SignJWT(claims(credential.key)).setProtectedHeader({ alg: "RS256" }).sign(outsider);
          const refused = await gateway.request(path, { ...init, headers: { ...init.headers, authorization: `Bearer ${forged}` } });
          expect(refused.status).toBe(401);
          expect(await refused.json()).toEqual({ message: credential.algorithm === "RS256" ? "Invalid signature" : "Invalid algorithm" });
          // An RS256 credential's private key is not in the file: only its refusals can be shown.
          if (!credential.algorithm.startsWith("HS")) continue;
          const token = await new SignJWT(claims(credential.key)).setProtectedHeader({ alg: credential.algorithm }).sign(new TextEncoder().encode(credential.secret!));
          const response = await gateway.request(path, { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } });
          expect(response.status).toBe(200);
          const headers: Record<string, string | undefined> = ((await response.json()) as Echo).headers;
          const consumer = state.consumers.find((c) => c.id === credential.consumer.id)!;
          expect(headers["x-consumer-id"]).toBe(consumer.id);
          expect(headers["x-consumer-username"]).toEqual(consumer.username ?? undefined);
          expect(headers["x-consumer-custom-id"]).toEqual(consumer.custom_id ?? undefined);
          expect(headers["x-credential-identifier"]).toBe(credential.key);
          expect(headers["x-anonymous-consumer"]).toBeUndefined();
          served++;
        }
      }
      expect(served).toBe(routes.length * state.jwt_secrets.filter((credential) => credential.algorithm.startsWith("HS")).length);
    });
  }
});

// No file that loads uses acl (Supabase's and hguerra's do, and need a plugin or upstreams the
// gateway lacks); the two that load with key-auth are served the same way.
const KEY_AUTH_FILES = filesWithPlugin("key-auth");

describe("the files that load and use key-auth, served against a local echo server", () => {
  let upstream: TestUpstream;
  let gateway: TestGateway;
  beforeAll(() => {
    upstream = startUpstream();
    gateway = startTestGateway();
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream?.stop();
  });

  test("no file that loads uses acl; these use key-auth", () => {
    expect(filesWithPlugin("acl")).toEqual([]);
    expect(KEY_AUTH_FILES).toEqual(["34-zoobab-kong-withkey.yml", "43-kong-docs-secure-admin-api.yml"]);
  });

  for (const file of KEY_AUTH_FILES) {
    test(`${file}: 401 without the key or with another; 200 with the file's key (apikey header) and Kong's X-Consumer-* headers`, async () => {
      const state = parseDeclarative(pointedAt(file, upstream), builtinPlugins);
      gateway.store.replaceAll(state);
      const path = state.routes[0]!.paths![0]!;
      const none = await gateway.request(path);
      expect(none.status).toBe(401);
      expect(await none.json()).toEqual({ message: "No API key found in request" });
      const wrong = await gateway.request(path, { headers: { apikey: "not-the-key" } });
      expect(wrong.status).toBe(401);
      expect(await wrong.json()).toEqual({ message: "Invalid authentication credentials" });
      // Only the key's digest is stored: the key is the one the file gives.
      const key = ((parseDocument(text(file)) as Entry).consumers[0].keyauth_credentials[0] as { key: string }).key;
      const credential = state.keyauth_credentials[0]!;
      const response = await gateway.request(path, { headers: { apikey: key } });
      expect(response.status).toBe(200);
      const headers: Record<string, string | undefined> = ((await response.json()) as Echo).headers;
      const consumer = state.consumers.find((c) => c.id === credential.consumer.id)!;
      expect(headers["x-consumer-id"]).toBe(consumer.id);
      expect(headers["x-consumer-username"]).toEqual(consumer.username ?? undefined);
      expect(headers["x-credential-identifier"]).toBe(credential.id);
      expect(headers.apikey).toBe(key);
    });
  }
});
