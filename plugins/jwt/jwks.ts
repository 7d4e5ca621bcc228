// Keys of `jwks_uri` credentials (SPEC §5.2). One cache per URI at module level, so it outlives
// snapshots: an unrelated config change must not cost a refetch. Expired sets are refreshed in
// the background while the old keys keep serving; a request waits for the IdP only on a cold
// start or an unknown `kid` (refetched at most once per refresh interval). When the IdP is
// down the last good set stays in use. Sets of URIs that no credential names any more are
// dropped, once unused for 10 minutes, when the plugin is rebuilt for a new snapshot.
import { type KeyObject, createPublicKey } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { Algorithm } from "../../src/jose/algorithms.ts";
import { KeyMaterialError, checkKeyFor } from "../../src/jose/keys.ts";
import { type SignatureVerifier, createVerifier } from "./signature.ts";
import { fetchBoundedText } from "../../src/http/fetch-bounded.ts";

export type EventLog = (fields: Record<string, unknown>) => void;

/** One usable key of a set, with its verifiers made on first use. */
export class JwksKey {
  private readonly verifiers = new Map<Algorithm, SignatureVerifier | null>();

  constructor(
    readonly kid: string | undefined,
    private readonly alg: string | undefined,
    private readonly key: KeyObject,
  ) {}

  /** Null when this key cannot verify `alg` (wrong type, curve, or the JWK names another alg). */
  verifierFor(alg: Algorithm): SignatureVerifier | null {
    let verifier = this.verifiers.get(alg);
    if (verifier === undefined) {
      verifier = null;
      if (this.alg === undefined || this.alg === alg) {
        try {
          checkKeyFor(this.key, [alg]);
          verifier = createVerifier(alg, this.key);
        } catch (error) {
          if (!(error instanceof KeyMaterialError)) throw error;
        }
      }
      this.verifiers.set(alg, verifier);
    }
    return verifier;
  }
}

interface Entry {
  keys: JwksKey[] | null;
  byKid: Map<string, JwksKey>;
  /** Text of the last good set: a refresh that returns the same text changes nothing. */
  text: string;
  /** Bumped when the key set changes, so cached verifications made with old keys are redone. */
  version: number;
  fetchedAt: number;
  attemptedAt: number;
  /** Last lookup, for `retain`. */
  usedAt: number;
  failed: boolean;
  inflight: Promise<void> | null;
}

export interface JwksCacheOptions {
  /** Least time between two fetches caused by unknown kids or after a failure. */
  refreshIntervalMs?: number;
  fetchTimeoutMs?: number;
  maxBytes?: number;
  now?: () => number;
}

const NO_KEYS: readonly JwksKey[] = [];
const UNUSED_GRACE_MS = 10 * 60 * 1000;

function parseKeySet(text: string): JwksKey[] {
  const document = JSON.parse(text) as { keys?: unknown };
  if (!Array.isArray(document?.keys)) throw new Error("not a JWK set (no `keys` array)");
  const keys: JwksKey[] = [];
  for (const jwk of document.keys as Record<string, unknown>[]) {
    if (typeof jwk !== "object" || jwk === null) continue;
    // A published private key, an encryption key or a key not meant for verifying is not used.
    if ("d" in jwk || (jwk.use !== undefined && jwk.use !== "sig")) continue;
    if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes("verify"))) continue;
    try {
      const key = createPublicKey({ key: jwk as never, format: "jwk" });
      keys.push(new JwksKey(typeof jwk.kid === "string" ? jwk.kid : undefined, typeof jwk.alg === "string" ? jwk.alg : undefined, key));
    } catch {
      // One unusable key must not take the others down.
    }
  }
  if (keys.length === 0) throw new Error("no usable verification keys in the set");
  return keys;
}

export class JwksCache {
  private readonly entries = new Map<string, Entry>();
  private readonly refreshIntervalMs: number;
  private readonly fetchTimeoutMs: number;
  private readonly maxBytes: number;
  private readonly now: () => number;

  constructor(options: JwksCacheOptions = {}) {
    this.refreshIntervalMs = options.refreshIntervalMs ?? 10_000;
    this.fetchTimeoutMs = options.fetchTimeoutMs ?? 5_000;
    this.maxBytes = options.maxBytes ?? 1 << 20;
    this.now = options.now ?? Date.now;
  }

  /**
   * Keys that may have signed a token with this `kid` (all keys of the set when it has none):
   * an array when the cache can answer, a promise when the IdP has to be asked.
   */
  candidates(uri: string, ttlSeconds: number, kid: unknown, log: EventLog): readonly JwksKey[] | Promise<readonly JwksKey[]> {
    const entry = this.entry(uri);
    if (entry.keys === null) {
      const loading = entry.inflight ?? (this.mayFetch(entry) ? this.fetch(uri, entry, log) : null);
      return loading ? loading.then(() => this.select(entry, kid)) : NO_KEYS;
    }
    this.refreshIfExpired(uri, entry, ttlSeconds, log);
    const found = this.select(entry, kid);
    if (found.length > 0) return found;
    // An unknown kid: the IdP may have rotated its keys since the last fetch.
    const loading = entry.inflight ?? (this.mayFetch(entry) ? this.fetch(uri, entry, log) : null);
    return loading ? loading.then(() => this.select(entry, kid)) : NO_KEYS;
  }

  /** The set's version, for cached verifications; also starts a due background refresh. */
  version(uri: string, ttlSeconds: number, log: EventLog): number {
    const entry = this.entry(uri);
    this.refreshIfExpired(uri, entry, ttlSeconds, log);
    return entry.version;
  }

  /**
   * Forgets the sets of URIs that `uris` (a new snapshot's) does not name and that nobody used
   * for a while, so they do not pile up. The grace keeps the sets of another gateway in the
   * same process (tests, embedding) that is still using its own.
   */
  retain(uris: ReadonlySet<string>): void {
    const now = this.now();
    for (const [uri, entry] of this.entries) {
      if (!uris.has(uri) && now - entry.usedAt > UNUSED_GRACE_MS) this.entries.delete(uri);
    }
  }

  private entry(uri: string): Entry {
    let entry = this.entries.get(uri);
    if (!entry) {
      entry = { keys: null, byKid: new Map(), text: "", version: 0, fetchedAt: 0, attemptedAt: -Infinity, usedAt: 0, failed: false, inflight: null };
      this.entries.set(uri, entry);
    }
    entry.usedAt = this.now();
    return entry;
  }

  private select(entry: Entry, kid: unknown): readonly JwksKey[] {
    if (entry.keys === null) return NO_KEYS;
    if (kid === undefined) return entry.keys;
    const key = typeof kid === "string" ? entry.byKid.get(kid) : undefined;
    return key ? [key] : NO_KEYS;
  }

  private mayFetch(entry: Entry): boolean {
    return this.now() - entry.attemptedAt >= this.refreshIntervalMs;
  }

  private refreshIfExpired(uri: string, entry: Entry, ttlSeconds: number, log: EventLog): void {
    // A TTL of 0 still leaves a second between fetches: steady traffic must not turn into a
    // stream of back-to-back requests to the IdP.
    if (entry.inflight || this.now() - entry.fetchedAt < Math.max(ttlSeconds, 1) * 1000) return;
    if (entry.failed && !this.mayFetch(entry)) return;
    void this.fetch(uri, entry, log);
  }

  /** Fetches and installs the set; never rejects (a failure keeps the previous keys). */
  private fetch(uri: string, entry: Entry, log: EventLog): Promise<void> {
    entry.attemptedAt = this.now();
    const run = async () => {
      try {
        const text = await this.download(uri);
        if (text !== entry.text) {
          const keys = parseKeySet(text);
          entry.keys = keys;
          entry.byKid = new Map(keys.filter((k) => k.kid !== undefined).map((k) => [k.kid!, k]));
          entry.text = text;
          entry.version++;
        }
        entry.fetchedAt = this.now();
        entry.failed = false;
      } catch (error) {
        entry.failed = true;
        log({
          level: "warn",
          message: entry.keys ? "JWKS refresh failed; serving the cached keys" : "JWKS fetch failed; no keys to verify with",
          jwks_uri: uri,
          error: error instanceof Error ? error.message : String(error),
        });
      } finally {
        entry.inflight = null;
      }
    };
    entry.inflight = run();
    return entry.inflight;
  }

  private async download(uri: string): Promise<string> {
    if (uri.startsWith("file:")) return Bun.file(fileURLToPath(uri)).text();
    return fetchBoundedText(uri, { timeoutMs: this.fetchTimeoutMs, maxBytes: this.maxBytes, followRedirects: true });
  }
}

/** The process-wide cache the plugin uses. */
export const sharedJwksCache = new JwksCache();
