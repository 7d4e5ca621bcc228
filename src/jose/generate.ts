// Generates signing keys: asymmetric pairs by node:crypto, shaped by the algorithm table, and the
// public JWK of a private one.
import { type KeyObject, generateKeyPairSync, type webcrypto } from "node:crypto";
import { type Algorithm, MIN_RSA_BITS, factsOf } from "./algorithms.ts";

/** A new key pair for an asymmetric algorithm. */
export function generateKeyPair(alg: Algorithm): { publicKey: KeyObject; privateKey: KeyObject } {
  const { family, curve } = factsOf(alg);
  if (family === "rsa") return generateKeyPairSync("rsa", { modulusLength: MIN_RSA_BITS });
  if (curve === "Ed25519") return generateKeyPairSync("ed25519");
  if (curve !== null) return generateKeyPairSync("ec", { namedCurve: curve });
  throw new Error(`${alg} has no key pair`);
}

/** The public members of a private JWK, with its kid, alg and `use: sig`. */
export function publicJwkOf(jwk: webcrypto.JsonWebKey, kid: string, alg: Algorithm): Record<string, unknown> {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicPart } = jwk;
  return { ...publicPart, kid, alg, use: "sig" };
}
