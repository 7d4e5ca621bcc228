// Key material for the token commands: PEM files as openssl and keygen write them (PKCS#1,
// SEC1, PKCS#8, SPKI, X.509), JWK files, and HMAC secrets. node:crypto parses every format;
// this module only decides which key a command needs and says clearly when a file is not it.
import { type KeyObject, X509Certificate, createPrivateKey, createPublicKey, createSecretKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { ALGORITHMS, type Algorithm, MIN_RSA_BITS, isAlgorithm, isHmac, keyFamily } from "../jose/algorithms.ts";
import { UsageError } from "../errors.ts";
import { familyOf } from "../jose/keys.ts";

export { ALGORITHMS, type Algorithm, isHmac };

/** A command-line failure about key material: exit 1 with this one line. */
export class KeyFileError extends Error {}

export function parseAlgorithm(text: string, flag = "--alg"): Algorithm {
  if (!isAlgorithm(text)) throw new UsageError(`${flag}: expected one of ${ALGORITHMS.join(", ")}, got '${text}'`);
  return text;
}

export function readTextFile(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : code === "EACCES" ? "permission denied" : (code ?? "unreadable");
    throw new KeyFileError(`${what} ${path}: ${reason}`);
  }
}

/** The key family string of `keyFamily(alg)` for a parsed key, e.g. `ec:P-256`. */
/** "a P-256 EC key", "a 2048-bit RSA key", for messages. */
export function describeKey(key: KeyObject): string {
  const family = familyOf(key);
  if (family === "oct") return "an HMAC secret";
  if (family === "rsa") return `a ${key.asymmetricKeyDetails?.modulusLength}-bit RSA key`;
  if (family.startsWith("ec:")) return `a ${family.slice(3)} EC key`;
  if (family === "okp:Ed25519") return "an Ed25519 key";
  return `a ${family} key`;
}

/** Every algorithm a key can be used with (RSA keys serve both RS* and PS*). */
export function algorithmsForKey(key: KeyObject): Algorithm[] {
  const family = familyOf(key);
  return ALGORITHMS.filter((alg) => keyFamily(alg) === family);
}

/** Throws unless `key` fits `alg`, naming both: e.g. ES256 with a P-384 key. */
export function checkKeyFits(key: KeyObject, alg: Algorithm, source: string): void {
  if (keyFamily(alg) !== familyOf(key)) {
    const needs = isHmac(alg) ? "an HMAC secret" : keyFamily(alg).startsWith("ec:") ? `a ${keyFamily(alg).slice(3)} EC key` : keyFamily(alg) === "rsa" ? "an RSA key" : "an Ed25519 key";
    throw new KeyFileError(`${source} holds ${describeKey(key)}; ${alg} needs ${needs}`);
  }
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (familyOf(key) === "rsa" && (bits ?? 0) < MIN_RSA_BITS) throw new KeyFileError(`${source} holds ${describeKey(key)}; ${alg} needs at least ${MIN_RSA_BITS} bits`);
}

function parseJwk(text: string, source: string): Record<string, unknown> {
  let jwk: unknown;
  try {
    jwk = JSON.parse(text);
  } catch {
    throw new KeyFileError(`${source}: not valid JSON (expected a JWK)`);
  }
  if (typeof jwk !== "object" || jwk === null || Array.isArray(jwk) || typeof (jwk as { kty?: unknown }).kty !== "string") {
    throw new KeyFileError(`${source}: not a JWK (a JSON object with "kty")`);
  }
  return jwk as Record<string, unknown>;
}

/** An HMAC key: the secret's UTF-8 bytes, as Kong uses a credential's `secret`. */
export function secretKey(secret: string): KeyObject {
  return createSecretKey(Buffer.from(secret, "utf8"));
}

/**
 * The key a token is signed with, from a file: a private PEM (PKCS#1, SEC1 or PKCS#8), a
 * private or `oct` JWK, or for HS* a secret file (its text, without the final newline).
 */
export function signingKeyFromFile(path: string, alg: Algorithm | undefined, flag: string): KeyObject {
  const source = `${flag} ${path}`;
  const text = readTextFile(path, flag);
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) {
    const jwk = parseJwk(trimmed, source);
    if (jwk.kty !== "oct" && !("d" in jwk)) throw new KeyFileError(`${source} holds a public key; signing needs the private key`);
    try {
      return jwk.kty === "oct" ? createSecretKey(Buffer.from(String(jwk.k ?? ""), "base64url")) : createPrivateKey({ key: jwk as never, format: "jwk" });
    } catch {
      throw new KeyFileError(`${source}: the JWK could not be read as a key`);
    }
  }
  if (!trimmed.includes("-----BEGIN")) {
    if (alg && isHmac(alg)) return secretKey(text.replace(/\r?\n$/, ""));
    throw new KeyFileError(`${source}: not a PEM private key or JWK${alg ? "" : " (for an HMAC secret file give --alg HS256, HS384 or HS512)"}`);
  }
  if (trimmed.includes("-----BEGIN ENCRYPTED PRIVATE KEY-----") || /Proc-Type: 4,ENCRYPTED/.test(trimmed)) {
    throw new KeyFileError(`${source} is encrypted; decrypt it first (openssl pkey -in ${path} -out plain.key)`);
  }
  try {
    return createPrivateKey(trimmed);
  } catch {
    if (isPublicPem(trimmed)) throw new KeyFileError(`${source} holds a public key; signing needs the private key`);
    throw new KeyFileError(`${source}: not a PEM private key (PKCS#1, SEC1 or PKCS#8) or JWK`);
  }
}

function isPublicPem(pem: string): boolean {
  try {
    publicFromPem(pem);
    return true;
  } catch {
    return false;
  }
}

function publicFromPem(pem: string): KeyObject {
  if (pem.includes("-----BEGIN CERTIFICATE-----")) return new X509Certificate(pem).publicKey;
  return createPublicKey(pem);
}

/**
 * The key a token is verified with, from a file: a public PEM, certificate or JWK; a private
 * key gives its public half; for HS* a secret file or `oct` JWK.
 */
export function verificationKeyFromFile(path: string, alg: Algorithm | undefined, flag: string): KeyObject {
  const source = `${flag} ${path}`;
  const text = readTextFile(path, flag);
  const trimmed = text.trim();
  try {
    if (trimmed.startsWith("{")) {
      const jwk = parseJwk(trimmed, source);
      if (jwk.kty === "oct") return createSecretKey(Buffer.from(String(jwk.k ?? ""), "base64url"));
      return createPublicKey({ key: jwk as never, format: "jwk" });
    }
    if (trimmed.includes("-----BEGIN")) return publicFromPem(trimmed);
  } catch (error) {
    if (error instanceof KeyFileError) throw error;
    throw new KeyFileError(`${source}: not a PEM key, certificate or JWK that can be read`);
  }
  if (alg && isHmac(alg)) return secretKey(text.replace(/\r?\n$/, ""));
  throw new KeyFileError(`${source}: not a PEM key, certificate or JWK${alg ? "" : " (for an HMAC secret file give --alg HS256, HS384 or HS512)"}`);
}

/**
 * A public key PEM to store in a credential (`rsa_public_key`). A private key file is accepted
 * and only its public half kept: EdgeX's own instructions (`openssl ec -out ec256.pub <
 * ec256.key`) leave a private key in the ".pub" file, and Kong accepted it.
 */
export function publicPemFromFile(path: string, flag: string): { pem: string; key: KeyObject; wasPrivate: boolean } {
  const source = `${flag} ${path}`;
  const text = readTextFile(path, flag).trim();
  let key: KeyObject;
  let wasPrivate = false;
  try {
    if (text.startsWith("{")) {
      const jwk = parseJwk(text, source);
      wasPrivate = "d" in jwk;
      key = createPublicKey({ key: jwk as never, format: "jwk" });
    } else {
      wasPrivate = /-----BEGIN (RSA |EC )?PRIVATE KEY-----/.test(text);
      key = publicFromPem(text);
    }
  } catch (error) {
    if (error instanceof KeyFileError) throw error;
    throw new KeyFileError(`${source}: not a PEM public key, certificate or JWK`);
  }
  if (key.type === "secret") throw new KeyFileError(`${source} holds an HMAC secret, not a public key`);
  return { pem: key.export({ type: "spki", format: "pem" }).toString(), key, wasPrivate };
}
