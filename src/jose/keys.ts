// Key parsing and family checks. Turns a credential's stored key text into a KeyObject: SPKI PEM, PKCS#1 RSA PEM, X.509
// certificate PEM, or a JWK (JSON). node:crypto parses; nothing here decodes ASN.1 by hand.
import { X509Certificate, type KeyObject, createPublicKey } from "node:crypto";
import { type Algorithm, MIN_RSA_BITS, keyFamily } from "./algorithms.ts";

export class KeyMaterialError extends Error {}


/** The key family a KeyObject belongs to, in the terms of `keyFamily` (algorithms.ts). */
export function familyOf(key: KeyObject): string {
  if (key.type === "secret") return "oct";
  const type = key.asymmetricKeyType;
  if (type === "ec") {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const name = curve === "prime256v1" ? "P-256" : curve === "secp384r1" ? "P-384" : curve === "secp521r1" ? "P-521" : curve;
    return `ec:${name}`;
  }
  if (type === "ed25519") return "okp:Ed25519";
  return String(type);
}

/** Parses public key text; throws KeyMaterialError with a reason users can act on. */
export function parsePublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  try {
    if (trimmed.startsWith("{")) {
      const jwk = JSON.parse(trimmed) as Record<string, unknown>;
      if ("d" in jwk) throw new KeyMaterialError("is a private JWK; give the public key only");
      return createPublicKey({ key: jwk as never, format: "jwk" });
    }
    if (trimmed.includes("-----BEGIN CERTIFICATE-----")) return new X509Certificate(trimmed).publicKey;
    if (/-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.test(trimmed)) {
      throw new KeyMaterialError("is a private key; give the public key only");
    }
    if (!trimmed.includes("-----BEGIN")) throw new KeyMaterialError("invalid key: not a PEM public key, certificate or JWK");
    return createPublicKey(trimmed);
  } catch (error) {
    if (error instanceof KeyMaterialError) throw error;
    throw new KeyMaterialError("invalid key: could not be parsed as a PEM public key, certificate or JWK");
  }
}

/** Parses and checks that the key can verify every algorithm in `algs`. */
export function publicKeyFor(text: string, algs: readonly Algorithm[]): KeyObject {
  const key = parsePublicKey(text);
  checkKeyFor(key, algs);
  return key;
}

/** Throws KeyMaterialError unless `key` can verify every algorithm in `algs`. */
export function checkKeyFor(key: KeyObject, algs: readonly Algorithm[]): void {
  if (key.asymmetricKeyType === "rsa-pss") {
    throw new KeyMaterialError("invalid key: RSA-PSS restricted keys are not supported; give a plain RSA public key");
  }
  const family = familyOf(key);
  for (const alg of algs) {
    if (keyFamily(alg) !== family) throw new KeyMaterialError(`invalid key: a ${family} key cannot verify ${alg}`);
  }
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (family === "rsa" && (bits === undefined || bits < MIN_RSA_BITS)) {
    throw new KeyMaterialError(`invalid key: RSA keys must have at least ${MIN_RSA_BITS} bits`);
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * The HMAC key of a secret. With `secret_is_base64` Kong accepts either base64 alphabet,
 * padded or not; anything else (or an empty result) gives null, i.e. "Invalid key/secret".
 */
export function hmacKeyBytes(secret: string | null, isBase64: boolean): Uint8Array | null {
  if (!secret) return null;
  if (!isBase64) return Buffer.from(secret, "utf8");
  let normalized = secret.replace(/-/g, "+").replace(/_/g, "/");
  if (normalized.length % 4 === 1) return null;
  while (normalized.length % 4) normalized += "=";
  if (!BASE64.test(normalized)) return null;
  const bytes = Buffer.from(normalized, "base64");
  return bytes.length > 0 ? bytes : null;
}
