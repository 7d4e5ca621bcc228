// Where jwt-signer's key comes from. The keystore's keys are imported once per configuration
// version, when the plugin instance is created. A JWK set in a file or at a URL is kept by the
// one JWK-set cache (src/jose), read again in the background once older than `cache_duration`:
// a request never waits for the file or the URL. Without a usable key the plugin cannot sign,
// and says why (see `KeyResolution`).
import { type JWK, importJWK } from "jose";
import { describeError } from "../../src/errors.ts";
import { isPublished, newestActiveKey } from "../../src/keystore/lifecycle.ts";
import { now } from "../../src/entities/common.ts";
import type { KeyRecord } from "../../src/entities/key.ts";
import type { SigningAlgorithm } from "../../src/jose/algorithms.ts";
import { type EventLog, JwkSetCache, type JwkSetLocation, jwkSetMembers } from "../../src/jose/jwk-set-cache.ts";

export type { EventLog, JwkSetLocation };

export type KeyResolution = { ok: true; kid: string; key: CryptoKey | Uint8Array } | { ok: false; reason: string };

export interface KeySource {
  /** The key to sign with now, or why there is none. */
  current(log: EventLog): KeyResolution | Promise<KeyResolution>;
}

const unavailable = (reason: string): KeySource => {
  const resolution: KeyResolution = { ok: false, reason };
  return { current: () => resolution };
};

/** Never rejects: a key that cannot be imported is a reason, answered like a missing key. */
function importSigningKey(jwk: Record<string, unknown>, alg: SigningAlgorithm, kid: string, what: string): Promise<KeyResolution> {
  return importJWK(jwk as JWK, alg).then(
    (key): KeyResolution => ({ ok: true, kid, key }),
    (error): KeyResolution => ({ ok: false, reason: `${what} cannot sign ${alg}: ${describeError(error)}` }),
  );
}

/** The keystore key named by `kid`, or the newest active key of `alg` (see lifecycle.ts). */
export function keystoreSource(keys: readonly KeyRecord[], alg: SigningAlgorithm, kid: string | null, clock: () => number = now): KeySource {
  if (kid === null) {
    const newest = newestActiveKey(keys, alg);
    if (!newest) return unavailable(`the keystore has no active ${alg} key with a private half`);
    const imported = importSigningKey(newest.private_jwk!, alg, newest.kid, `keystore key '${newest.kid}'`);
    return { current: () => imported };
  }
  const record = keys.find((key) => key.kid === kid);
  if (!record) return unavailable(`no key '${kid}' in the keystore`);
  if (record.alg !== alg) return unavailable(`keystore key '${kid}' is an ${record.alg} key, not ${alg}`);
  if (!record.private_jwk) return unavailable(`keystore key '${kid}' has no private half (it only verifies)`);
  const imported = importSigningKey(record.private_jwk, alg, kid, `keystore key '${kid}'`);
  const expired: KeyResolution = { ok: false, reason: `keystore key '${kid}' is retired and past its retire_after` };
  return { current: () => (isPublished(record, clock()) ? imported : expired) };
}

/** The keys of a set that have a kid (only those can be chosen by the config). */
type SigningSet = ReadonlyMap<string, Record<string, unknown>>;

export interface JwkSetCacheOptions {
  /** Least time between two reads after a failure. */
  retryMs?: number;
  fetchTimeoutMs?: number;
  maxBytes?: number;
  now?: () => number;
}

function parseSigningSet(text: string): SigningSet {
  const byKid = new Map<string, Record<string, unknown>>();
  for (const jwk of jwkSetMembers(text)) if (typeof jwk.kid === "string") byKid.set(jwk.kid, jwk);
  return byKid;
}

/** jwt-signer's view of the shared JWK-set cache (src/jose): private keys by kid, imported once per set. */
export class SigningKeySets {
  private readonly sets: JwkSetCache<SigningSet>;
  /** Imports of a set's keys, by `kid alg`; a new set (new text) starts empty. */
  private readonly imported = new WeakMap<SigningSet, Map<string, Promise<KeyResolution>>>();

  constructor(options: JwkSetCacheOptions = {}) {
    this.sets = new JwkSetCache(parseSigningSet, { followRedirects: false, ...options });
  }

  /**
   * The key `kid` of the set at `location`. A file is read now if it was never read; a URL
   * is fetched in the background, and until it answers the key is unavailable.
   */
  source(location: JwkSetLocation, kid: string, alg: SigningAlgorithm, ttlSeconds: number): KeySource {
    this.sets.entry(location, ttlSeconds);
    return {
      current: (log) => {
        const entry = this.sets.entry(location, ttlSeconds);
        this.sets.reportError(entry, log, entry.keys ? "JWK set could not be read again; signing with the cached keys" : "JWK set could not be read", "jwk_set");
        const set = entry.keys;
        if (!set) return { ok: false, reason: entry.error ? `JWK set ${entry.where} could not be read: ${entry.error}` : `JWK set ${entry.where} is still loading` };
        const jwk = set.get(kid);
        if (!jwk) return { ok: false, reason: `no key '${kid}' in JWK set ${entry.where}` };
        if (jwk.d === undefined) return { ok: false, reason: `key '${kid}' of JWK set ${entry.where} has no private part` };
        if (jwk.alg !== undefined && jwk.alg !== alg) return { ok: false, reason: `key '${kid}' of JWK set ${entry.where} is for ${String(jwk.alg)}, not ${alg}` };
        let imports = this.imported.get(set);
        if (!imports) this.imported.set(set, (imports = new Map()));
        const id = `${kid} ${alg}`;
        let imported = imports.get(id);
        if (!imported) {
          imported = importSigningKey(jwk, alg, kid, `key '${kid}' of JWK set ${entry.where}`);
          imports.set(id, imported);
        }
        return imported;
      },
    };
  }
}

/** The process-wide cache the plugin uses. */
export const sharedJwkSets = new SigningKeySets();
