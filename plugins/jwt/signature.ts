// Signature verification, synchronously, on keys imported once per credential: HMAC with Bun's
// CryptoHasher (a keyed state copied per request, digest into a scratch buffer), signatures with
// node:crypto's verify. Both are well ahead of jose, whose WebCrypto async hop costs more than
// the arithmetic. signature.test.ts checks it accepts and rejects exactly what
// jose's compactVerify does.
import { type KeyObject, constants, timingSafeEqual, verify } from "node:crypto";
import { type Algorithm, hashOf, isHmac } from "../../src/jose/algorithms.ts";
import type { ParsedToken } from "./compact.ts";

type HmacHash = "sha256" | "sha384" | "sha512";
const DIGEST_BYTES: Record<HmacHash, number> = { sha256: 32, sha384: 48, sha512: 64 };

/** Checks one signature over one signing input; never throws. */
export type SignatureVerifier = (signingInput: string, signature: Uint8Array) => boolean;

// One scratch buffer for every HMAC digest: verification is synchronous, so it is never shared
// by two requests at once. Bun writes digests only into buffers of at least 64 bytes.
const digestScratch = new Uint8Array(64);

function hmacVerifier(hash: HmacHash, secret: Uint8Array): SignatureVerifier | null {
  // WebCrypto (and so jose) cannot import an empty HMAC key.
  if (secret.length === 0) return null;
  // The key is absorbed once; each request copies that state instead of deriving it again.
  const keyed = new Bun.CryptoHasher(hash, secret);
  const expected = digestScratch.subarray(0, DIGEST_BYTES[hash]);
  return (signingInput, signature) => {
    if (signature.length !== expected.length) return false;
    keyed.copy().update(signingInput, "latin1").digest(digestScratch);
    return timingSafeEqual(expected, signature);
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
  if (isHmac(alg)) return key instanceof Uint8Array ? hmacVerifier(hashOf(alg) as HmacHash, key) : null;
  return key instanceof Uint8Array ? null : asymmetricVerifier(alg, key);
}

export function verifySignature(token: ParsedToken, verifier: SignatureVerifier): boolean {
  return verifier(token.signingInput, token.signature);
}
