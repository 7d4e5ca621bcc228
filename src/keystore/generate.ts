// Generates keystore keys: an asymmetric pair (src/jose/generate.ts) exported as JWKs.
import { generateKeyPair, publicJwkOf } from "../jose/generate.ts";
import { now } from "../entities/common.ts";
import { type KeyInput, type KeyRecord, checkKeyInput } from "../entities/key.ts";

/** The JWK `kid` default: RFC 7638 thumbprint-like, but simply random and URL-safe. */
function randomKid(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(12))).toString("base64url");
}

/** Builds a new key record from `{ alg, kid? }`; the caller stores it. */
export function generateKeyRecord(input: unknown): KeyRecord {
  checkKeyInput(input);
  const { alg } = input as KeyInput;
  const kid = input.kid ?? randomKid();
  const { privateKey } = generateKeyPair(alg);
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
