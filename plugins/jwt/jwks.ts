// Keys of `jwks_uri` credentials (SPEC §5.2), kept by the one JWK-set cache (src/jose): expired
// sets are refreshed in the background while the old keys keep serving; a request waits for
// the IdP only on a cold start or an unknown `kid` (refetched at most once per refresh
// interval). When the IdP is down the last good set stays in use. Sets of URIs that no
// credential names any more are dropped, once unused for 10 minutes, when the plugin is rebuilt.
import { type KeyObject, createPublicKey, createSecretKey } from "node:crypto";
import { type Algorithm, factsOf } from "../../src/jose/algorithms.ts";
import { type EventLog, type FailureReport, JwkSetCache, jwkSetMembers, usableFor } from "../../src/jose/jwk-set-cache.ts";
import { KeyMaterialError, checkKeyFor } from "../../src/jose/keys.ts";
import { type SignatureVerifier, createVerifier } from "./signature.ts";

export type { EventLog };

/** One usable key of a set, with its verifiers made on first use. */
export class JwksKey {
  private readonly verifiers = new Map<Algorithm, SignatureVerifier | null>();

  constructor(
    readonly kid: string | undefined,
    private readonly alg: string | undefined,
    private readonly key: KeyObject,
  ) {}

  /** An `oct` key: a shared secret, served only from https: or file: sets. */
  get secret(): boolean {
    return this.key.type === "secret";
  }

  /** Null when this key cannot verify `alg` (wrong type, curve, or the JWK names another alg). */
  verifierFor(alg: Algorithm): SignatureVerifier | null {
    let verifier = this.verifiers.get(alg);
    if (verifier === undefined) {
      verifier = null;
      if (this.alg === undefined || this.alg === alg) {
        try {
          checkKeyFor(this.key, [alg]);
          if (this.key.type === "secret") {
            // An oct key verifies HS* only when it is as long as the hash (RFC 7518 §3.2).
            const bytes = this.key.export();
            verifier = bytes.byteLength * 8 >= (factsOf(alg).minBits ?? 0) ? createVerifier(alg, bytes) : null;
          } else verifier = createVerifier(alg, this.key);
        } catch (error) {
          if (!(error instanceof KeyMaterialError)) throw error;
        }
      }
      this.verifiers.set(alg, verifier);
    }
    return verifier;
  }
}

/** A set's usable keys, and the ones that have a kid by kid. */
interface VerifyKeys {
  readonly all: JwksKey[];
  readonly byKid: ReadonlyMap<string, JwksKey>;
}

export interface JwksCacheOptions {
  /** Least time between two fetches caused by unknown kids or after a failure. */
  refreshIntervalMs?: number;
  fetchTimeoutMs?: number;
  maxBytes?: number;
  now?: () => number;
}

const NO_KEYS: readonly JwksKey[] = [];

function parseKeySet(text: string): VerifyKeys {
  const all: JwksKey[] = [];
  for (const jwk of jwkSetMembers(text)) {
    // A published private key, or a key not meant for verifying, is not used. An `oct` key is
    // a secret (HS*); whether its set may serve it is decided per URI (see candidates).
    if ("d" in jwk || !usableFor(jwk, "verify")) continue;
    try {
      const key = jwk.kty === "oct" ? octKey(jwk) : createPublicKey({ key: jwk as never, format: "jwk" });
      all.push(new JwksKey(typeof jwk.kid === "string" ? jwk.kid : undefined, typeof jwk.alg === "string" ? jwk.alg : undefined, key));
    } catch {
      // One unusable key must not take the others down.
    }
  }
  if (all.length === 0) throw new Error("no usable verification keys in the set");
  return { all, byKid: new Map(all.filter((k) => k.kid !== undefined).map((k) => [k.kid!, k])) };
}

function octKey(jwk: Record<string, unknown>): KeyObject {
  if (typeof jwk.k !== "string" || !/^[A-Za-z0-9_-]+$/.test(jwk.k)) throw new Error("oct key without k");
  return createSecretKey(Buffer.from(jwk.k, "base64url"));
}

/** The jwt plugin's view of the shared JWK-set cache (src/jose): verification keys by `kid`. */
export class JwksCache {
  private readonly sets: JwkSetCache<VerifyKeys>;

  constructor(options: JwksCacheOptions = {}) {
    this.sets = new JwkSetCache(parseKeySet, {
      followRedirects: true,
      retryMs: options.refreshIntervalMs ?? 10_000,
      fetchTimeoutMs: options.fetchTimeoutMs,
      maxBytes: options.maxBytes,
      now: options.now,
    });
  }

  /**
   * Keys that may have signed a token with this `kid` (all keys of the set when it has none):
   * an array when the cache can answer, a promise when the IdP has to be asked.
   */
  candidates(uri: string, ttlSeconds: number, kid: unknown, log: EventLog): readonly JwksKey[] | Promise<readonly JwksKey[]> {
    const report = failureReport(uri, log);
    const entry = this.sets.entry({ url: uri }, ttlSeconds, report);
    // Secret (oct) keys are never taken from a plain-http set.
    const secrets = !/^http:/i.test(uri);
    if (entry.keys !== null) {
      const found = select(entry.keys, kid, secrets);
      if (found.length > 0) return found;
    }
    // Cold, or an unknown kid: the IdP may have rotated its keys since the last fetch.
    const loading = entry.inflight ?? this.sets.refreshNow({ url: uri }, entry, report);
    return loading ? loading.then(() => (entry.keys ? select(entry.keys, kid, secrets) : NO_KEYS)) : NO_KEYS;
  }

  /** The set's version, for cached verifications; also starts a due background refresh. */
  version(uri: string, ttlSeconds: number, log: EventLog): number {
    return this.sets.entry({ url: uri }, ttlSeconds, failureReport(uri, log)).version;
  }

  /** Forgets the sets of URIs a new configuration no longer names, once unused for a while. */
  retain(uris: ReadonlySet<string>): void {
    this.sets.retain(uris);
  }
}

function select(keys: VerifyKeys, kid: unknown, secrets: boolean): readonly JwksKey[] {
  // A secret is chosen by kid only, never tried on a token that names none.
  if (kid === undefined) return keys.all.filter((key) => !key.secret);
  const key = typeof kid === "string" ? keys.byKid.get(kid) : undefined;
  return key && (secrets || !key.secret) ? [key] : NO_KEYS;
}

function failureReport(uri: string, log: EventLog): FailureReport<VerifyKeys> {
  return (entry) =>
    log({
      level: "warn",
      message: entry.keys ? "JWKS refresh failed; serving the cached keys" : "JWKS fetch failed; no keys to verify with",
      jwks_uri: uri,
      error: entry.error,
    });
}

/** The process-wide cache the plugin uses. */
export const sharedJwksCache = new JwksCache();
