// Generates keystore keys: an asymmetric pair exported as JWKs by node:crypto.
import { generateKeyPairSync, type webcrypto } from "node:crypto";

type JsonWebKey = webcrypto.JsonWebKey;
import { now } from "../model/common.ts";
import { type KeyInput, type KeyRecord, type SigningAlgorithm, checkKeyInput } from "../model/key.ts";

function generatePair(alg: SigningAlgorithm) {
  if (alg.startsWith("RS") || alg.startsWith("PS")) return generateKeyPairSync("rsa", { modulusLength: 2048 });
  if (alg === "ES256") return generateKeyPairSync("ec", { namedCurve: "P-256" });
  if (alg === "ES384") return generateKeyPairSync("ec", { namedCurve: "P-384" });
  if (alg === "ES512") return generateKeyPairSync("ec", { namedCurve: "P-521" });
  return generateKeyPairSync("ed25519");
}

/** The JWK `kid` default: RFC 7638 thumbprint-like, but simply random and URL-safe. */
function randomKid(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(12))).toString("base64url");
}

export function publicJwkOf(jwk: JsonWebKey, kid: string, alg: SigningAlgorithm): Record<string, unknown> {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicPart } = jwk;
  return { ...publicPart, kid, alg, use: "sig" };
}

/** Builds a new key record from `{ alg, kid? }`; the caller stores it. */
export function generateKeyRecord(input: unknown): KeyRecord {
  checkKeyInput(input);
  const { alg } = input as KeyInput;
  const kid = input.kid ?? randomKid();
  const { privateKey } = generatePair(alg);
  const privateJwk = privateKey.export({ format: "jwk" });
  const time = now();
  return {
    id: input.id ?? crypto.randomUUID(),
    kid,
    alg,
    status: input.status ?? "active",
    public_jwk: publicJwkOf(privateJwk, kid, alg),
    private_jwk: { ...privateJwk, kid, alg },
    retire_after: input.retire_after ?? null,
    tags: input.tags ?? [],
    created_at: time,
    updated_at: time,
  };
}
