// Certificate and private-key PEM: parsing, inspection and the key-matches-certificate check,
// all through node:crypto (X509Certificate, createPrivateKey). Errors name the entity field and
// never quote key material.
import { type KeyObject, X509Certificate, createPrivateKey } from "node:crypto";
import type { FieldErrors } from "../errors.ts";

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const ENCRYPTED = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED/;
const KEY_BLOCK = /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/;

export interface CertificateChain {
  /** The leaf first, then the intermediates as given. */
  readonly certificates: readonly X509Certificate[];
  readonly leaf: X509Certificate;
}

/** A chain of PEM certificates, leaf first; null with the reason in `errors[field]`. */
export function parseChain(pem: string, field: string, errors: FieldErrors): CertificateChain | null {
  const blocks = pem.match(CERT_BLOCK) ?? [];
  if (blocks.length === 0) {
    errors[field] = "not a PEM certificate (expected -----BEGIN CERTIFICATE-----)";
    return null;
  }
  const certificates: X509Certificate[] = [];
  for (const [i, block] of blocks.entries()) {
    try {
      certificates.push(new X509Certificate(block));
    } catch {
      errors[field] = blocks.length === 1 ? "invalid certificate: not a valid X.509 PEM" : `invalid certificate: block ${i + 1} of the chain is not a valid X.509 PEM`;
      return null;
    }
  }
  return { certificates, leaf: certificates[0]! };
}

/** An unencrypted RSA or ECDSA (or Ed25519) private key; null with the reason in `errors[field]`. */
export function parsePrivateKey(pem: string, field: string, errors: FieldErrors): KeyObject | null {
  if (ENCRYPTED.test(pem)) {
    errors[field] = "the private key is encrypted (passphrase-protected); give it unencrypted, e.g. openssl pkey -in key.pem -out plain-key.pem";
    return null;
  }
  if (!KEY_BLOCK.test(pem)) {
    errors[field] = "not a PEM private key (expected -----BEGIN PRIVATE KEY-----)";
    return null;
  }
  try {
    const key = createPrivateKey({ key: pem, format: "pem" });
    if (!["rsa", "rsa-pss", "ec", "ed25519"].includes(key.asymmetricKeyType ?? "")) {
      errors[field] = `unsupported key type ${key.asymmetricKeyType}: expected RSA or ECDSA`;
      return null;
    }
    return key;
  } catch {
    errors[field] = "invalid private key: not a valid PEM key";
    return null;
  }
}

/**
 * Checks a certificate/key pair as Kong does: both parse, and the key is the certificate's.
 * Returns the parsed chain (for SNI names and expiry) when the pair is good.
 */
export function checkPair(cert: string, key: string, fields: { cert: string; key: string }, errors: FieldErrors): CertificateChain | null {
  const chain = parseChain(cert, fields.cert, errors);
  const privateKey = parsePrivateKey(key, fields.key, errors);
  if (!chain || !privateKey) return null;
  if (!chain.leaf.checkPrivateKey(privateKey)) {
    errors[fields.key] = `does not match the certificate in ${fields.cert} (the private key is not the certificate's)`;
    return null;
  }
  return chain;
}

/** The key type of a certificate's public key: Kong's `cert_alt` must differ from `cert` in it. */
export function keyTypeOf(chain: CertificateChain): string {
  return chain.leaf.publicKey.asymmetricKeyType ?? "unknown";
}

/** DNS names the leaf certificate is valid for (subjectAltName, else the subject CN). */
export function namesOf(chain: CertificateChain): string[] {
  const san = chain.leaf.subjectAltName;
  if (san) {
    return san
      .split(",")
      .map((part) => part.trim())
      .filter((part) => part.startsWith("DNS:"))
      .map((part) => part.slice(4).toLowerCase());
  }
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(chain.leaf.subject)?.[1];
  return cn ? [cn.toLowerCase()] : [];
}
