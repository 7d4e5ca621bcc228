// The KrakenD playground flow through the real proxy: `POST /token` reaches a token issuer
// whose claims come back as compact JWS strings signed by the gateway keystore; a `jwt`
// credential whose `jwks_uri` is the gateway's own `/.well-known/jwks.json` accepts them on
// `/api`. Then a rotation: old and new tokens verify while the old key is retired, and the old
// ones stop verifying once its `retire_after` has passed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type JSONWebKeySet, base64url, createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { generateKeyRecord } from "../src/keystore/generate.ts";
import { rotateKey } from "../src/keystore/rotate.ts";
import { now } from "../src/entities/common.ts";
import { type TestGateway, startTestGateway } from "./support/gateway.ts";
import { type TestUpstream, startUpstream } from "./support/upstream.ts";

const ISSUER = "https://gateway.test/issuer";
let gateway: TestGateway;
let upstream: TestUpstream;
let serial = 0;

/** The token issuer of KrakenD's playground: claims as plain JSON objects. */
function issueTokens(): Response {
  const iat = now();
  const n = serial++;
  return Response.json({
    access_token: { iss: ISSUER, sub: "user-1", aud: "https://api.test", exp: iat + 600, iat, jti: `a-${n}` },
    refresh_token: { iss: ISSUER, sub: "user-1", exp: iat + 3600, jti: `r-${n}` },
    exp: iat + 600,
  });
}

async function fetchTokens(): Promise<{ access_token: string; refresh_token: string; exp: number }> {
  const response = await gateway.request("/token", { method: "POST", body: "grant_type=password", headers: { "content-type": "application/x-www-form-urlencoded" } });
  expect(response.status).toBe(200);
  return (await response.json()) as { access_token: string; refresh_token: string; exp: number };
}

const callApi = (token: string) => gateway.request("/api/orders", { headers: { authorization: `Bearer ${token}` } });

/** Polls `check` until it returns true (the jwt plugin's JWKS cache refreshes in the background). */
async function eventually(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(100);
  }
}

beforeAll(() => {
  upstream = startUpstream((request) => (new URL(request.url).pathname === "/token-issuer" ? issueTokens() : Response.json({ reached: new URL(request.url).pathname })));
  gateway = startTestGateway();
  const { store } = gateway;
  store.insert("keys", generateKeyRecord({ alg: "ES256", kid: "k1" }));
  store.create("services", { name: "issuer", url: `${upstream.url}/token-issuer` });
  const token = store.create("routes", { name: "token", service: { name: "issuer" }, paths: ["/token"], methods: ["POST"] });
  store.create("plugins", { name: "jwt-signer", route: { id: token.id }, config: { alg: "ES256", keys_to_sign: ["access_token", "refresh_token"] } });
  store.create("services", { name: "api", url: upstream.url });
  const api = store.create("routes", { name: "api", service: { name: "api" }, paths: ["/api"], strip_path: false });
  store.create("plugins", { name: "jwt", route: { id: api.id }, config: { claims_to_verify: ["exp"] } });
  const consumer = store.create("consumers", { username: "gateway-issued" });
  store.create(
    "jwt_secrets",
    { key: ISSUER, algorithm: "ES256", jwks_uri: `${gateway.proxyUrl}/.well-known/jwks.json`, jwks_cache_ttl: 1 },
    { kind: "consumers", id: consumer.id },
  );
});

afterAll(async () => {
  await gateway.close();
  await upstream.stop();
});

let beforeRotation: string;

describe("POST /token through jwt-signer", () => {
  test("access_token and refresh_token come back as compact JWS strings; other keys stay", async () => {
    const tokens = await fetchTokens();
    expect(tokens.access_token.split(".")).toHaveLength(3);
    expect(tokens.refresh_token.split(".")).toHaveLength(3);
    expect(typeof tokens.exp).toBe("number");
    expect(decodeProtectedHeader(tokens.access_token)).toEqual({ alg: "ES256", kid: "k1", typ: "JWT" });
    beforeRotation = tokens.access_token;
  });

  test("the tokens verify against the gateway's published JWKS", async () => {
    const tokens = await fetchTokens();
    const jwks = createLocalJWKSet((await (await gateway.request("/.well-known/jwks.json")).json()) as JSONWebKeySet);
    const { payload } = await jwtVerify(tokens.refresh_token, jwks, { issuer: ISSUER });
    expect(payload.sub).toBe("user-1");
  });

  test("the jwt plugin with jwks_uri = the gateway's JWKS accepts the access token", async () => {
    const response = await callApi(beforeRotation);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ reached: "/api/orders" });
  });

  test("a tampered access token is refused with 401", async () => {
    const [header, payload, signature] = beforeRotation.split(".") as [string, string, string];
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload)));
    const forged = `${header}.${base64url.encode(JSON.stringify({ ...claims, sub: "admin" }))}.${signature}`;
    const flipped = `${header}.${payload}.${signature.startsWith("A") ? "B" : "A"}${signature.slice(1)}`;
    for (const token of [forged, flipped]) expect((await callApi(token)).status).toBe(401);
    expect((await callApi(beforeRotation)).status).toBe(200);
  });
});

describe("key rotation", () => {
  let afterRotation: string;

  test("after rotateKey the new key signs; tokens of both keys verify", async () => {
    const { key, retired } = rotateKey(gateway.store, { alg: "ES256", kid: "k2", grace: 3600 });
    expect(key.kid).toBe("k2");
    expect(retired.map((k) => [k.kid, k.status])).toEqual([["k1", "retired"]]);
    afterRotation = (await fetchTokens()).access_token;
    expect(decodeProtectedHeader(afterRotation).kid).toBe("k2");
    const published = (await (await gateway.request("/.well-known/jwks.json")).json()) as { keys: { kid: string }[] };
    expect(published.keys.map((k) => k.kid)).toEqual(["k1", "k2"]);
    // k2 is an unknown kid to the jwt plugin's cached set until it refreshes.
    await eventually(async () => (await callApi(afterRotation)).status === 200);
    expect((await callApi(beforeRotation)).status).toBe(200);
  });

  test("once k1's retire_after has passed, its tokens fail and k2's still verify", async () => {
    const k1 = gateway.store.get("keys", "k1");
    gateway.store.replaceRow("keys", { ...k1, retire_after: now() - 1, updated_at: now() });
    const published = (await (await gateway.request("/.well-known/jwks.json")).json()) as { keys: { kid: string }[] };
    expect(published.keys.map((k) => k.kid)).toEqual(["k2"]);
    await eventually(async () => (await callApi(beforeRotation)).status === 401);
    expect((await callApi(afterRotation)).status).toBe(200);
    const fresh = (await fetchTokens()).access_token;
    expect(decodeProtectedHeader(fresh).kid).toBe("k2");
    expect((await callApi(fresh)).status).toBe(200);
  });
});
