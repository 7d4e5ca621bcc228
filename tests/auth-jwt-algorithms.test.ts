// All 13 algorithms through the real proxy: a token verifies with its own credential and is
// refused when it names another credential of the same algorithm (another key), or one of
// another algorithm. Also the credential's `algorithms` allow-list and the key formats.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { KeyObject, generateKeyPairSync } from "node:crypto";
import { generateKeyPair } from "jose";
import { ALL_ALGORITHMS, type AuthRig, echoOf, sign, signingKey, startAuthRig, type SigningKey } from "./support/auth.ts";
import type { Algorithm } from "../src/jose/algorithms.ts";

let rig: AuthRig;
const keys = new Map<Algorithm, [SigningKey, SigningKey]>();

beforeAll(async () => {
  rig = startAuthRig([{ name: "jwt" }]);
  const store = rig.gateway.store;
  const consumer = store.create("consumers", { username: "multi" });
  for (const alg of ALL_ALGORITHMS) {
    const pair = (await Promise.all([signingKey(alg), signingKey(alg)])) as [SigningKey, SigningKey];
    keys.set(alg, pair);
    store.create("jwt_secrets", { key: `${alg}-a`, ...pair[0].credential }, { kind: "consumers", id: consumer.id });
    store.create("jwt_secrets", { key: `${alg}-b`, ...pair[1].credential }, { kind: "consumers", id: consumer.id });
  }
});
afterAll(() => rig.close());

const call = (token: string) => rig.get("/api", { authorization: `Bearer ${token}` });

describe.each(ALL_ALGORITHMS)("%s", (alg) => {
  test("a token signed with the credential's key is accepted", async () => {
    const echo = await echoOf(await call(await sign(keys.get(alg)![0], { iss: `${alg}-a` })));
    expect(echo.headers["x-credential-identifier"]).toBe(`${alg}-a`);
  });

  test("the same token naming another credential's key → Invalid signature", async () => {
    const response = await call(await sign(keys.get(alg)![0], { iss: `${alg}-b` }));
    expect([response.status, await response.text()]).toEqual([401, '{"message":"Invalid signature"}']);
  });

  test("naming a credential of another algorithm → Invalid algorithm", async () => {
    const other = alg === "EdDSA" ? "HS256" : "EdDSA";
    const response = await call(await sign(keys.get(alg)![0], { iss: `${other}-a` }));
    expect([response.status, await response.text()]).toEqual([401, '{"message":"Invalid algorithm"}']);
  });
});

describe("a credential's algorithms allow-list (SPEC §5.2)", () => {
  test("one RSA key verifies every listed algorithm and nothing else", async () => {
    // A node KeyObject, unlike a CryptoKey, is not tied to one algorithm.
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const consumer = rig.gateway.store.create("consumers", { username: "rotating" });
    rig.gateway.store.create(
      "jwt_secrets",
      { key: "rotating", algorithm: "RS256", algorithms: ["RS256", "PS384"], rsa_public_key: publicKey.export({ type: "spki", format: "pem" }).toString() },
      { kind: "consumers", id: consumer.id },
    );
    for (const [alg, status] of [["RS256", 200], ["PS384", 200], ["RS512", 401], ["PS256", 401]] as const) {
      const token = await sign({ alg, privateKey } as unknown as SigningKey, { iss: "rotating" });
      expect([alg, (await call(token)).status]).toEqual([alg, status]);
    }
  });

  test("mixing key types in one allow-list is refused on write (algorithm confusion)", () => {
    const consumer = rig.gateway.store.get("consumers", "multi");
    expect(() =>
      rig.gateway.store.create("jwt_secrets", { key: "mixed", algorithm: "RS256", algorithms: ["RS256", "HS256"], rsa_public_key: keys.get("RS256")![0].credential.rsa_public_key }, { kind: "consumers", id: consumer.id }),
    ).toThrow(/algorithms/);
  });
});

describe("key formats", () => {
  test("a PKCS#1 RSA key and a JWK verify like SPKI", async () => {
    const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
    const object = KeyObject.from(publicKey);
    const consumer = rig.gateway.store.create("consumers", { username: "formats" });
    const pkcs1 = object.export({ type: "pkcs1", format: "pem" }).toString();
    const jwk = JSON.stringify(object.export({ format: "jwk" }));
    rig.gateway.store.create("jwt_secrets", { key: "pkcs1", algorithm: "RS256", rsa_public_key: pkcs1 }, { kind: "consumers", id: consumer.id });
    rig.gateway.store.create("jwt_secrets", { key: "jwk", algorithm: "RS256", rsa_public_key: jwk }, { kind: "consumers", id: consumer.id });
    for (const iss of ["pkcs1", "jwk"]) expect((await call(await sign({ alg: "RS256", privateKey } as SigningKey, { iss }))).status).toBe(200);
  });

  test("RSA keys under 2048 bits are refused on write (jose refuses them too)", async () => {
    const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 1024 });
    const consumer = rig.gateway.store.get("consumers", "multi");
    expect(() =>
      rig.gateway.store.create("jwt_secrets", { key: "small", algorithm: "RS256", rsa_public_key: publicKey.export({ type: "spki", format: "pem" }).toString() }, { kind: "consumers", id: consumer.id }),
    ).toThrow(/at least 2048 bits/);
  });

  test("secret_is_base64: the secret is decoded (either alphabet, padding optional)", async () => {
    const other = startAuthRig([{ name: "jwt", config: { secret_is_base64: true } }]);
    try {
      const bytes = new Uint8Array(32).map((_, i) => i * 7 + 250);
      const consumer = other.gateway.store.create("consumers", { username: "b64" });
      const standard = Buffer.from(bytes).toString("base64");
      const url = Buffer.from(bytes).toString("base64url");
      other.gateway.store.create("jwt_secrets", { key: "std", algorithm: "HS256", secret: standard }, { kind: "consumers", id: consumer.id });
      other.gateway.store.create("jwt_secrets", { key: "url", algorithm: "HS256", secret: url }, { kind: "consumers", id: consumer.id });
      for (const iss of ["std", "url"]) {
        const token = await sign({ alg: "HS256", privateKey: bytes } as SigningKey, { iss });
        expect((await other.get("/api", { authorization: `Bearer ${token}` })).status).toBe(200);
      }
    } finally {
      await other.close();
    }
  });
});
