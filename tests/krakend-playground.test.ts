// The KrakenD playground's JWT flow with the playground's own files, verbatim
// (tests/fixtures/krakend-playground, see SOURCE.txt): its krakend.json's `/token` signer and
// `/private/custom` validator, translated field for field as README's "Coming from KrakenD"
// table says, its backend's token.json and its symmetric.json key set.
import { afterAll, beforeAll, describe, expect, setSystemTime, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { decodeProtectedHeader, importJWK, jwtVerify } from "jose";
import { ValidationError } from "../src/errors.ts";
import { type TestGateway, startTestGateway } from "./support/gateway.ts";

const FIXTURES = join(import.meta.dir, "fixtures", "krakend-playground");
const read = (name: string) => readFileSync(join(FIXTURES, name), "utf8");
const krakend = JSON.parse(read("krakend.json")) as { endpoints: { endpoint: string; backend: { url_pattern: string }[]; extra_config?: Record<string, Record<string, unknown>> }[] };
const tokenJson = read("token.json");
const backendTokens = JSON.parse(tokenJson) as { access_token: Record<string, unknown>; refresh_token: Record<string, unknown>; exp: number };
const symmetric = JSON.parse(read("symmetric.json"));

const endpoint = (path: string) => krakend.endpoints.find((e) => e.endpoint === path)!;
const signerConfig = endpoint("/token").extra_config!["auth/signer"]!;
const validatorConfig = endpoint("/private/custom").extra_config!["auth/validator"]!;

/**
 * Where the playground's files live in its containers, and here: KrakenD mounts data/jwk/ at
 * /opt/krakend/jwk-*.json, and its fake_api serves data/ over plain http.
 */
const PLAYGROUND_PATHS: Record<string, string> = {
  "/opt/krakend/jwk-symmetric.json": join(FIXTURES, "symmetric.json"),
  "http://fake_api/jwk/symmetric.json": pathToFileURL(join(FIXTURES, "symmetric.json")).href,
};

/** `auth/signer` → jwt-signer: the same field names (README, Coming from KrakenD). */
function signerFromKrakend(config: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(config)) {
    if (field === "jwk_local_path" || field === "jwk_url") out[field] = PLAYGROUND_PATHS[value as string] ?? value;
    else out[field] = value;
  }
  return out;
}

/**
 * `auth/validator` → a jwt plugin config and the credential its keys come from (KrakenD has no
 * consumers: the issuer is the credential's key, the JWK set its jwks_uri).
 */
function validatorFromKrakend(config: Record<string, unknown>): { plugin: Record<string, unknown>; credential: Record<string, unknown> } {
  // KrakenD always checks exp (nbf only when present; Kong's claims_to_verify would require it).
  const plugin: Record<string, unknown> = { claims_to_verify: ["exp"] };
  const credential: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(config)) {
    switch (field) {
      case "alg": credential.algorithm = value; break;
      case "jwk_url":
      case "jwk_local_path": credential.jwks_uri = PLAYGROUND_PATHS[value as string] ?? value; break;
      case "issuer": plugin.issuers = [value]; credential.key = value; break;
      case "audience": plugin.audiences = value; break;
      case "roles_key": plugin.roles_claim = value; break;
      case "roles": plugin.roles = value; break;
      case "disable_jwk_security": break; // oct keys never come over plain http; file: is the translation
      default: throw new Error(`no translation for auth/validator.${field} in this test`);
    }
  }
  return { plugin, credential };
}

let gateway: TestGateway;
let backend: ReturnType<typeof Bun.serve>;

beforeAll(() => {
  // The playground's token.json expires 2025-01-01: the flow runs on the day before.
  setSystemTime(new Date("2024-12-31T12:00:00Z"));
  backend = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      const { pathname } = new URL(request.url);
      if (pathname === "/token.json") return new Response(tokenJson, { headers: { "content-type": "application/json" } });
      if (pathname === "/user/1.json") return Response.json({ id_user: 1, name: "playground user" });
      return new Response("not found", { status: 404 });
    },
  });
  gateway = startTestGateway();
  const { store } = gateway;
  const upstream = `http://127.0.0.1:${backend.port}`;
  const token = endpoint("/token");
  store.create("services", { name: "token", url: `${upstream}${token.backend[0]!.url_pattern}` });
  const tokenRoute = store.create("routes", { name: "token", service: { name: "token" }, paths: ["/token"] });
  store.create("plugins", { name: "jwt-signer", route: { id: tokenRoute.id }, config: signerFromKrakend(signerConfig) });

  const custom = endpoint("/private/custom");
  const { plugin, credential } = validatorFromKrakend(validatorConfig);
  store.create("services", { name: "custom", url: `${upstream}${custom.backend[0]!.url_pattern}` });
  const customRoute = store.create("routes", { name: "custom", service: { name: "custom" }, paths: ["/private/custom"] });
  store.create("plugins", { name: "jwt", route: { id: customRoute.id }, config: plugin });
  const idp = store.create("consumers", { username: "krakend-jose-signer" });
  store.create("jwt_secrets", credential, { kind: "consumers", id: idp.id });
});

afterAll(async () => {
  await gateway?.close();
  backend?.stop(true);
  setSystemTime();
});

describe("KrakenD playground: /token and /private/custom", () => {
  let tokens: { access_token: string; refresh_token: string; exp: number };

  test("/token: both objects come back as HS256 JWS (kid sim2) that verify with symmetric.json; payloads equal the backend's", async () => {
    const response = await gateway.request("/token");
    expect(response.status).toBe(200);
    tokens = (await response.json()) as typeof tokens;
    expect(tokens.exp).toBe(backendTokens.exp);
    // jose's local JWK sets hold asymmetric keys only: the key is chosen by the header's kid.
    const keyOf = (header: { kid?: string; alg?: string }) => importJWK(symmetric.keys.find((jwk: { kid: string }) => jwk.kid === header.kid), header.alg);
    for (const name of ["access_token", "refresh_token"] as const) {
      expect(decodeProtectedHeader(tokens[name])).toEqual({ alg: "HS256", kid: "sim2", typ: "JWT" });
      const { payload } = await jwtVerify(tokens[name], keyOf, { algorithms: ["HS256"] });
      expect(payload).toEqual(backendTokens[name] as never);
    }
  });

  test("/private/custom accepts the fresh access_token and refuses the refresh_token (no role): 403", async () => {
    const accepted = await gateway.request("/private/custom", { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(accepted.status).toBe(200);
    expect(await accepted.json()).toEqual({ id_user: 1, name: "playground user" });
    const refused = await gateway.request("/private/custom", { headers: { authorization: `Bearer ${tokens.refresh_token}` } });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({ message: "Missing required role" });
    const none = await gateway.request("/private/custom");
    expect(none.status).toBe(401);
  });

  test("after exp, the access_token is refused (KrakenD checks exp too)", async () => {
    setSystemTime(new Date("2025-01-02T00:00:00Z"));
    try {
      const late = await gateway.request("/private/custom", { headers: { authorization: `Bearer ${tokens.access_token}` } });
      expect(late.status).toBe(401);
    } finally {
      setSystemTime(new Date("2024-12-31T12:00:00Z"));
    }
  });
});

describe("KrakenD key material in the gateway's entities", () => {
  const fieldsOf = (run: () => unknown): Record<string, string> | undefined => {
    try {
      run();
      return undefined;
    } catch (error) {
      if (error instanceof ValidationError) return error.fields;
      throw error;
    }
  };
  const consumer = () => ({ kind: "consumers" as const, id: gateway.store.get("consumers", "krakend-jose-signer").id });

  test("an HS* jwks_uri is https: or file: only, never plain http; no secret is generated for it", () => {
    expect(fieldsOf(() => gateway.store.create("jwt_secrets", { key: "plain", algorithm: "HS256", jwks_uri: "http://fake_api/jwk/symmetric.json" }, consumer()))).toEqual({
      jwks_uri: "HMAC keys are secrets: an HS* jwks_uri must be https: or file:, never plain http",
    });
    const stored = gateway.store.create("jwt_secrets", { key: "tls", algorithm: "HS512", jwks_uri: "https://idp.example/jwk/symmetric.json" }, consumer());
    expect(stored.secret).toBeNull();
    expect(fieldsOf(() => gateway.store.create("jwt_secrets", { key: "both", algorithm: "HS256", secret: "s".repeat(32), jwks_uri: "https://idp.example/k" }, consumer()))).toEqual({
      secret: "give either secret or jwks_uri, not both",
    });
  });

  test("algorithms without algorithm: the family comes from the list; errors name the wrong field", () => {
    const stored = gateway.store.create("jwt_secrets", { key: "list-only", algorithms: ["HS384", "HS512"], jwks_uri: PLAYGROUND_PATHS["http://fake_api/jwk/symmetric.json"] }, consumer());
    expect(stored.algorithm).toBe("HS384");
    const rsa = fieldsOf(() => gateway.store.create("jwt_secrets", { key: "rsa-list", algorithms: ["RS256"] }, consumer()));
    expect(rsa).toEqual({ rsa_public_key: "required field missing (RS256 needs a public key or jwks_uri)" });
    expect(fieldsOf(() => gateway.store.create("jwt_secrets", { key: "mixed", algorithms: ["HS256", "RS256"] }, consumer()))).toEqual({
      algorithms: "must all use one kind of key (mixing them would allow algorithm confusion)",
    });
    expect(fieldsOf(() => gateway.store.create("jwt_secrets", { key: "outside", algorithm: "HS256", algorithms: ["HS384"] }, consumer()))).toEqual({
      algorithms: "must include algorithm (HS256)",
    });
  });

  test("jwt-signer: the playground's EC key marked use: enc (private.json kid 1) is refused for signing", () => {
    const route = gateway.store.create("routes", { name: "enc", service: { name: "token" }, paths: ["/enc"] });
    const refused = fieldsOf(() => gateway.store.create("plugins", { name: "jwt-signer", route: { id: route.id }, config: { alg: "ES256", kid: "1", jwk_local_path: join(FIXTURES, "private.json"), keys_to_sign: ["access_token"] } }));
    expect(refused).toEqual({ "config.kid": `key '1' of JWK set ${join(FIXTURES, "private.json")} is marked "use": "enc", not "sig": not for signing` });
    // Its RS256 key (kid 2011-04-29, no use) signs.
    gateway.store.create("plugins", { name: "jwt-signer", route: { id: route.id }, config: { alg: "RS256", kid: "2011-04-29", jwk_local_path: join(FIXTURES, "private.json"), keys_to_sign: ["access_token"] } });
  });
});
