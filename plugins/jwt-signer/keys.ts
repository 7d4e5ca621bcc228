// Where jwt-signer's key comes from. The keystore's keys are imported once per snapshot, when
// the plugin instance is created. A JWK set in a file or at a URL is cached per location at
// module level, so it outlives snapshots, and read again in the background once it is older
// than `cache_duration`: a request never waits for the file or the URL. Without a usable key
// the plugin cannot sign, and says why (see `KeyResolution`).
import { readFileSync } from "node:fs";
import { type JWK, importJWK } from "jose";
import { describeError } from "../../src/errors.ts";
import { isPublished, newestActiveKey } from "../../src/keystore/lifecycle.ts";
import { now } from "../../src/model/common.ts";
import type { KeyRecord, SigningAlgorithm } from "../../src/model/key.ts";
import { fetchBoundedText } from "../../src/http/fetch-bounded.ts";

export type EventLog = (fields: Record<string, unknown>) => void;

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

export type JwkSetLocation = { file: string } | { url: string };

interface SetEntry {
  readonly where: string;
  /** Keys of the last good set, by kid; null until one was read. */
  byKid: Map<string, Record<string, unknown>> | null;
  text: string;
  /** Imports of the current set, by `kid alg`. */
  imported: Map<string, Promise<KeyResolution>>;
  loadedAt: number;
  attemptedAt: number;
  /** Why the last read failed, null after a good one. */
  error: string | null;
  errorReported: boolean;
  inflight: Promise<void> | null;
}

export interface JwkSetCacheOptions {
  /** Least time between two reads after a failure. */
  retryMs?: number;
  fetchTimeoutMs?: number;
  maxBytes?: number;
  now?: () => number;
}

function parseJwkSet(text: string): Map<string, Record<string, unknown>> {
  let document: { keys?: unknown };
  try {
    document = JSON.parse(text);
  } catch {
    // Not the parser's message: it may quote the text, which holds private keys.
    throw new Error("not valid JSON");
  }
  if (!Array.isArray(document?.keys)) throw new Error("not a JWK set (no `keys` array)");
  const byKid = new Map<string, Record<string, unknown>>();
  for (const jwk of document.keys as unknown[]) {
    // Only a key with a kid can be chosen by the config.
    if (typeof jwk === "object" && jwk !== null && typeof (jwk as { kid?: unknown }).kid === "string") {
      byKid.set((jwk as { kid: string }).kid, jwk as Record<string, unknown>);
    }
  }
  return byKid;
}

export class JwkSetCache {
  private readonly entries = new Map<string, SetEntry>();
  private readonly retryMs: number;
  private readonly fetchTimeoutMs: number;
  private readonly maxBytes: number;
  private readonly now: () => number;

  constructor(options: JwkSetCacheOptions = {}) {
    this.retryMs = options.retryMs ?? 10_000;
    this.fetchTimeoutMs = options.fetchTimeoutMs ?? 5_000;
    this.maxBytes = options.maxBytes ?? 1 << 20;
    this.now = options.now ?? Date.now;
  }

  /**
   * The key `kid` of the set at `location`. A file is read now if it was never read; a URL
   * is fetched in the background, and until it answers the key is unavailable.
   */
  source(location: JwkSetLocation, kid: string, alg: SigningAlgorithm, ttlSeconds: number): KeySource {
    const entry = this.entry(location);
    return {
      current: (log) => {
        this.refreshIfDue(location, entry, ttlSeconds);
        if (entry.error && !entry.errorReported) {
          entry.errorReported = true;
          log({ level: "warn", message: entry.byKid ? "JWK set could not be read again; signing with the cached keys" : "JWK set could not be read", jwk_set: entry.where, error: entry.error });
        }
        if (!entry.byKid) return { ok: false, reason: entry.error ? `JWK set ${entry.where} could not be read: ${entry.error}` : `JWK set ${entry.where} is still loading` };
        const jwk = entry.byKid.get(kid);
        if (!jwk) return { ok: false, reason: `no key '${kid}' in JWK set ${entry.where}` };
        if (jwk.d === undefined) return { ok: false, reason: `key '${kid}' of JWK set ${entry.where} has no private part` };
        if (jwk.alg !== undefined && jwk.alg !== alg) return { ok: false, reason: `key '${kid}' of JWK set ${entry.where} is for ${String(jwk.alg)}, not ${alg}` };
        const id = `${kid} ${alg}`;
        let imported = entry.imported.get(id);
        if (!imported) {
          imported = importSigningKey(jwk, alg, kid, `key '${kid}' of JWK set ${entry.where}`);
          entry.imported.set(id, imported);
        }
        return imported;
      },
    };
  }

  private entry(location: JwkSetLocation): SetEntry {
    const where = "file" in location ? location.file : location.url;
    let entry = this.entries.get(where);
    if (!entry) {
      entry = { where, byKid: null, text: "", imported: new Map(), loadedAt: 0, attemptedAt: -Infinity, error: null, errorReported: false, inflight: null };
      this.entries.set(where, entry);
      if ("file" in location) {
        entry.attemptedAt = this.now();
        try {
          this.install(entry, readFileSync(location.file, "utf8"));
        } catch (error) {
          this.fail(entry, error);
        }
      } else {
        this.load(location, entry);
      }
    }
    return entry;
  }

  private refreshIfDue(location: JwkSetLocation, entry: SetEntry, ttlSeconds: number): void {
    if (entry.inflight) return;
    const at = this.now();
    if (entry.error !== null ? at - entry.attemptedAt < this.retryMs : at - entry.loadedAt < ttlSeconds * 1000) return;
    this.load(location, entry);
  }

  private install(entry: SetEntry, text: string): void {
    if (text !== entry.text) {
      entry.byKid = parseJwkSet(text);
      entry.text = text;
      entry.imported = new Map();
    }
    entry.loadedAt = this.now();
    entry.error = null;
  }

  private fail(entry: SetEntry, error: unknown): void {
    entry.error = describeError(error);
    entry.errorReported = false;
  }

  /** Reads the set in the background; never rejects (a failure keeps the previous keys). */
  private load(location: JwkSetLocation, entry: SetEntry): void {
    entry.attemptedAt = this.now();
    entry.inflight = (async () => {
      try {
        this.install(entry, "file" in location ? await Bun.file(location.file).text() : await this.download(location.url));
      } catch (error) {
        this.fail(entry, error);
      } finally {
        entry.inflight = null;
      }
    })();
  }

  private async download(url: string): Promise<string> {
    // No redirects: a redirect could move private key material onto plain http.
    return fetchBoundedText(url, { timeoutMs: this.fetchTimeoutMs, maxBytes: this.maxBytes, followRedirects: false });
  }
}

/** The process-wide cache the plugin uses. */
export const sharedJwkSets = new JwkSetCache();
