// jwks_uri credentials through the real proxy, against a real JWKS server on loopback: the IdP
// rotates its keys while requests keep succeeding, a removed key stops working (also for
// cached tokens), and the IdP going down causes no outage for keys already fetched.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { exportJWK, generateKeyPair } from "jose";
import { type AuthRig, sign, startAuthRig, type SigningKey } from "./support/auth.ts";

interface IdpKey {
  signer: SigningKey;
  jwk: Record<string, unknown>;
}

async function idpKey(kid: string): Promise<IdpKey> {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  return { signer: { alg: "ES256", privateKey } as SigningKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" } };
}

let published: IdpKey[] = [];
let idp: ReturnType<typeof Bun.serve>;
let rig: AuthRig;
let k1: IdpKey;
let k2: IdpKey;
let serial = 0;
/** Verified (and so cached) while k1 was published. */
let verifiedUnderK1: string;

/** A fresh token (never seen before, so not in the verified-token cache) signed by `key`. */
const tokenBy = (key: IdpKey) => sign(key.signer, { iss: "https://idp.test", n: serial++ }, { kid: key.jwk.kid });
const call = (token: string) => rig.get("/api", { authorization: `Bearer ${token}` });

beforeAll(async () => {
  [k1, k2] = await Promise.all([idpKey("k1"), idpKey("k2")]);
  published = [k1];
  idp = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => Response.json({ keys: published.map((k) => k.jwk) }) });
  rig = startAuthRig([{ name: "jwt" }]);
  const consumer = rig.gateway.store.create("consumers", { username: "idp-users" });
  rig.gateway.store.create(
    "jwt_secrets",
    { key: "https://idp.test", algorithm: "ES256", jwks_uri: `http://127.0.0.1:${idp.port}/certs`, jwks_cache_ttl: 1 },
    { kind: "consumers", id: consumer.id },
  );
});
afterAll(async () => {
  await rig.close();
  idp.stop(true);
});

/** Sends requests back to back until `until` resolves; returns every status seen. */
async function keepCalling(current: () => IdpKey, until: Promise<unknown>): Promise<number[]> {
  const statuses: number[] = [];
  let done = false;
  void until.then(() => (done = true));
  while (!done) statuses.push((await call(await tokenBy(current()))).status);
  return statuses;
}

describe("key rotation at the IdP", () => {
  test("tokens of the published key verify (fetched on first use)", async () => {
    verifiedUnderK1 = await tokenBy(k1);
    expect((await call(verifiedUnderK1)).status).toBe(200);
  });

  test("the IdP publishes a second key and switches to it: no request fails", async () => {
    let signer = k1;
    const rotation = (async () => {
      published = [k1, k2];
      await Bun.sleep(1100);
      signer = k2;
      await Bun.sleep(300);
      published = [k2];
      await Bun.sleep(1200);
    })();
    const statuses = await keepCalling(() => signer, rotation);
    expect(statuses.length).toBeGreaterThan(20);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
  });

  test("a key the IdP withdrew no longer verifies, even for a token verified before", async () => {
    // k1 left the set in the previous test.
    for (const token of [verifiedUnderK1, await tokenBy(k1)]) {
      const response = await call(token);
      expect([response.status, await response.text()]).toEqual([401, '{"message":"Invalid key/secret"}']);
    }
  });
});

describe("the IdP going down", () => {
  test("keys already fetched keep working past the TTL", async () => {
    const cached = await tokenBy(k2);
    expect((await call(cached)).status).toBe(200);
    idp.stop(true);
    await Bun.sleep(1200);
    const statuses = await keepCalling(() => k2, Bun.sleep(500));
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect((await call(cached)).status).toBe(200);
  });

  test("a credential whose IdP was never reachable refuses with 401, not 5xx", async () => {
    const closed = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    const port = closed.port;
    closed.stop(true);
    const key = await idpKey("x");
    const consumer = rig.gateway.store.get("consumers", "idp-users");
    rig.gateway.store.create("jwt_secrets", { key: "https://down.test", algorithm: "ES256", jwks_uri: `http://127.0.0.1:${port}/certs` }, { kind: "consumers", id: consumer.id });
    const response = await call(await sign(key.signer, { iss: "https://down.test" }, { kid: "x" }));
    expect([response.status, await response.text()]).toEqual([401, '{"message":"Invalid key/secret"}']);
  });
});
