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
import { type Algorithm, type SigningAlgorithm, isHmac, keyFamily } from "../../src/jose/algorithms.ts";
import { type EventLog, JwkSetCache, type JwkSetLocation, jwkSetMembers, usableFor } from "../../src/jose/jwk-set-cache.ts";

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
function importSigningKey(jwk: Record<string, unknown>, alg: Algorithm, kid: string, what: string): Promise<KeyResolution> {
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

/**
 * The keys of a set that may sign, by kid (only keys with a kid can be chosen by the config):
 * the first of each kid whose `use` is `sig` (or absent) and whose `key_ops` (if any) include
 * `sign`. The others are skipped, and why is kept for the reason and the log line.
 */
export interface SigningSet {
  readonly byKid: ReadonlyMap<string, Record<string, unknown>>;
  /** Skipped keys: kid → why. */
  readonly skipped: ReadonlyMap<string, string>;
}

function notForSigning(jwk: Record<string, unknown>): string {
  if (jwk.use !== undefined && jwk.use !== "sig") return `is marked "use": ${JSON.stringify(jwk.use)}, not "sig"`;
  return `has "key_ops" ${JSON.stringify(jwk.key_ops)} without "sign"`;
}

export function parseSigningSet(text: string): SigningSet {
  const byKid = new Map<string, Record<string, unknown>>();
  const skipped = new Map<string, string>();
  for (const jwk of jwkSetMembers(text)) {
    if (typeof jwk.kid !== "string" || byKid.has(jwk.kid)) continue;
    if (usableFor(jwk, "sign")) {
      byKid.set(jwk.kid, jwk);
      skipped.delete(jwk.kid);
    } else if (!skipped.has(jwk.kid)) skipped.set(jwk.kid, notForSigning(jwk));
  }
  return { byKid, skipped };
}

const KTY_OF_FAMILY: Record<string, string> = { oct: "oct", rsa: "RSA", "okp:Ed25519": "OKP" };

/**
 * Why the key `kid` of a set cannot sign `alg`, or null when it can: missing, not a signing key
 * (`use`/`key_ops`), no private part, another key type or curve, another `alg`.
 */
export function signingKeyProblem(set: SigningSet, kid: string, alg: Algorithm, where: string): string | null {
  const jwk = set.byKid.get(kid);
  if (!jwk) {
    const why = set.skipped.get(kid);
    return why ? `key '${kid}' of JWK set ${where} ${why}: not for signing` : `no key '${kid}' in JWK set ${where}`;
  }
  const family = keyFamily(alg);
  const kty = KTY_OF_FAMILY[family] ?? "EC";
  const curve = family.startsWith("ec:") ? family.slice(3) : family === "okp:Ed25519" ? "Ed25519" : undefined;
  if (jwk.kty !== kty || (curve !== undefined && jwk.crv !== curve)) {
    const needs = isHmac(alg) ? `an "oct" key` : `a "${kty}"${curve ? ` ${curve}` : ""} key`;
    return `key '${kid}' of JWK set ${where} is a ${JSON.stringify(jwk.kty)}${typeof jwk.crv === "string" ? ` ${jwk.crv}` : ""} key; ${alg} needs ${needs}`;
  }
  if ((kty === "oct" ? jwk.k : jwk.d) === undefined) return `key '${kid}' of JWK set ${where} has no private part`;
  if (jwk.alg !== undefined && jwk.alg !== alg) return `key '${kid}' of JWK set ${where} is for ${String(jwk.alg)}, not ${alg}`;
  return null;
}

export interface JwkSetCacheOptions {
  /** Least time between two reads after a failure. */
  retryMs?: number;
  fetchTimeoutMs?: number;
  maxBytes?: number;
  now?: () => number;
}

/** jwt-signer's view of the shared JWK-set cache (src/jose): private keys by kid, imported once per set. */
export class SigningKeySets {
  private readonly sets: JwkSetCache<SigningSet>;
  /** Imports of a set's keys, by `kid alg`; a new set (new text) starts empty. */
  private readonly imported = new WeakMap<SigningSet, Map<string, Promise<KeyResolution>>>();
  /** Sets whose skipped keys were logged already (once per set text). */
  private readonly skipLogged = new WeakSet<SigningSet>();

  constructor(options: JwkSetCacheOptions = {}) {
    this.sets = new JwkSetCache(parseSigningSet, { followRedirects: false, ...options });
  }

  /**
   * The key `kid` of the set at `location`. A file is read now if it was never read; a URL
   * is fetched in the background, and until it answers the key is unavailable.
   */
  source(location: JwkSetLocation, kid: string, alg: Algorithm, ttlSeconds: number): KeySource {
    this.sets.entry(location, ttlSeconds);
    return {
      current: (log) => {
        const entry = this.sets.entry(location, ttlSeconds);
        this.sets.reportError(entry, log, entry.keys ? "JWK set could not be read again; signing with the cached keys" : "JWK set could not be read", "jwk_set");
        const set = entry.keys;
        if (!set) return { ok: false, reason: entry.error ? `JWK set ${entry.where} could not be read: ${entry.error}` : `JWK set ${entry.where} is still loading` };
        if (set.skipped.size > 0 && !this.skipLogged.has(set)) {
          this.skipLogged.add(set);
          log({ level: "warn", message: "JWK set keys skipped: not for signing", jwk_set: entry.where, keys: [...set.skipped].map(([id, why]) => ({ kid: id, why })) });
        }
        const problem = signingKeyProblem(set, kid, alg, entry.where);
        if (problem) return { ok: false, reason: problem };
        const jwk = set.byKid.get(kid)!;
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
