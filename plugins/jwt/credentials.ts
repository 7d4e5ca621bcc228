// A credential's key material, imported once and shared by every jwt instance of a snapshot:
// keyed by the credential object, which a snapshot rebuild replaces, so changed keys are never
// served from here and unused ones are collected with their snapshot.
import type { JwtCredential } from "./credential.ts";
import type { AuthenticatedCredential } from "../../src/pipeline/contract.ts";
import { type Algorithm, isHmac } from "../../src/jose/algorithms.ts";
import { hmacKeyBytes, publicKeyFor } from "../../src/jose/keys.ts";
import { type SignatureVerifier, createVerifier } from "./signature.ts";

export interface PreparedCredential {
  readonly credential: JwtCredential;
  /** What the request is authenticated with (X-Credential-Identifier = the key). */
  readonly identity: AuthenticatedCredential;
  /** Algorithms a token may use with this credential: its allow-list, or just `algorithm`. */
  readonly algorithms: ReadonlySet<string>;
  /** Static keys: a verifier per allowed algorithm (missing: "Invalid key/secret"). */
  readonly verifiers: ReadonlyMap<Algorithm, SignatureVerifier>;
  /** Keys from a JWKS instead. */
  readonly jwks: { readonly uri: string; readonly ttlSeconds: number } | null;
}

/** [plain secret, base64 secret]: `secret_is_base64` is plugin config, not credential data. */
const prepared = new WeakMap<JwtCredential, [PreparedCredential | undefined, PreparedCredential | undefined]>();

function staticVerifiers(credential: JwtCredential, algorithms: readonly Algorithm[], secretIsBase64: boolean): Map<Algorithm, SignatureVerifier> {
  const verifiers = new Map<Algorithm, SignatureVerifier>();
  let key: Parameters<typeof createVerifier>[1] | null = null;
  try {
    key = isHmac(credential.algorithm)
      ? hmacKeyBytes(credential.secret, secretIsBase64)
      : credential.rsa_public_key === null
        ? null
        : publicKeyFor(credential.rsa_public_key, algorithms);
  } catch {
    // Checked on write; a key that still fails here just cannot verify anything.
  }
  if (key === null) return verifiers;
  for (const alg of algorithms) {
    const verifier = createVerifier(alg, key);
    if (verifier) verifiers.set(alg, verifier);
  }
  return verifiers;
}

export function prepareCredential(credential: JwtCredential, secretIsBase64: boolean): PreparedCredential {
  let slots = prepared.get(credential);
  if (!slots) prepared.set(credential, (slots = [undefined, undefined]));
  const slot = secretIsBase64 ? 1 : 0;
  let result = slots[slot];
  if (!result) {
    const algorithms = credential.algorithms ?? [credential.algorithm];
    const jwks = credential.jwks_uri !== null ? { uri: credential.jwks_uri, ttlSeconds: credential.jwks_cache_ttl } : null;
    result = {
      credential,
      identity: { id: credential.id, identifier: credential.key, consumerId: credential.consumer.id },
      algorithms: new Set(algorithms),
      verifiers: jwks ? new Map() : staticVerifiers(credential, algorithms, secretIsBase64),
      jwks,
    };
    slots[slot] = result;
  }
  return result;
}
