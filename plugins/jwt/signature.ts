// Signature verification with node:crypto, synchronously, on keys imported once per credential:
// about twice jose's speed for HMAC and noticeably faster for RSA, because WebCrypto's async hop
// costs more than the arithmetic. signature.test.ts checks it accepts and rejects exactly what
// jose's compactVerify does.
import { type KeyObject, constants, createHmac, createSecretKey, timingSafeEqual, verify } from "node:crypto";
import { type Algorithm, hashOf, isHmac } from "./algorithms.ts";
import type { ParsedToken } from "./compact.ts";

/** Checks one signature over one signing input; never throws. */
export type SignatureVerifier = (signingInput: string, signature: Uint8Array) => boolean;

function hmacVerifier(hash: string, secret: Uint8Array): SignatureVerifier | null {
  // WebCrypto (and so jose) cannot import an empty HMAC key.
  if (secret.length === 0) return null;
  const key = createSecretKey(secret);
  return (signingInput, signature) => {
    const expected = createHmac(hash, key).update(signingInput, "latin1").digest();
    return expected.length === signature.length && timingSafeEqual(expected, signature);
  };
}

function asymmetricVerifier(alg: Algorithm, key: KeyObject): SignatureVerifier {
  const hash = hashOf(alg);
  // Options are built once: the per-request call allocates only the signing input's bytes.
  const options = alg.startsWith("PS")
    ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }
    : alg.startsWith("ES")
      ? { key, dsaEncoding: "ieee-p1363" as const }
      : alg.startsWith("RS")
        ? { key, padding: constants.RSA_PKCS1_PADDING }
        : key;
  return (signingInput, signature) => {
    try {
      return verify(hash, Buffer.from(signingInput, "latin1"), options, signature);
    } catch {
      return false;
    }
  };
}

/**
 * A verifier for `alg` with `key` (raw secret bytes for HS*, a public KeyObject otherwise), or
 * null when the key cannot be used with that algorithm.
 */
export function createVerifier(alg: Algorithm, key: KeyObject | Uint8Array): SignatureVerifier | null {
  if (isHmac(alg)) return key instanceof Uint8Array ? hmacVerifier(hashOf(alg)!, key) : null;
  return key instanceof Uint8Array ? null : asymmetricVerifier(alg, key);
}

export function verifySignature(token: ParsedToken, verifier: SignatureVerifier): boolean {
  return verifier(token.signingInput, token.signature);
}
