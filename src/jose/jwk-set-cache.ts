// The one cache of JWK sets read from files and URLs, for verifying (jwt `jwks_uri`) and for
// signing (jwt-signer `jwk_file`/`jwk_url`). One entry per location outlives configuration
// versions, so an unrelated change costs no refetch. A set is refreshed in the background once
// older than its TTL while the last good keys keep serving, also while the source is down;
// retries and unknown-kid refetches are spaced. What a set's keys become is the caller's
// (`parse`); which keys may serve a purpose is `usableFor`.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describeError } from "../errors.ts";
import { fetchBoundedText } from "../http/fetch-bounded.ts";

export type EventLog = (fields: Record<string, unknown>) => void;
/** Told when a read started for it fails (the entry holds the reason). */
export type FailureReport<Keys> = (entry: JwkSetEntry<Keys>) => void;

/** A file path, a `file:` URL or an http(s) URL. */
export type JwkSetLocation = { file: string } | { url: string };

/** What a verify or sign cache needs of its sets' sources. */
export interface JwkSetPolicy {
  /**
   * Whether redirects are followed: yes for public verification keys, never for sets with
   * private keys, which a redirect could move onto plain http.
   */
  readonly followRedirects: boolean;
  /** Least time between two fetches after a failure, or caused by an unknown kid. */
  readonly retryMs?: number;
  readonly fetchTimeoutMs?: number;
  readonly maxBytes?: number;
  readonly now?: () => number;
}

/** One location's state. `keys` is null until a set was read. */
export interface JwkSetEntry<Keys> {
  readonly where: string;
  keys: Keys | null;
  /** Bumped when the set's text changes, so what was derived from old keys is redone. */
  version: number;
  /** Why the last read failed; null after a good one. */
  error: string | null;
  /** The failure was handed to a log already (see takeError). */
  errorReported: boolean;
  text: string;
  loadedAt: number;
  attemptedAt: number;
  usedAt: number;
  inflight: Promise<void> | null;
}

/** Whether a JWK may serve `purpose` (RFC 7517 §4.2, §4.3): `use` and `key_ops`, when present, must allow it. */
export function usableFor(jwk: Record<string, unknown>, purpose: "verify" | "sign"): boolean {
  if (jwk.use !== undefined && jwk.use !== "sig") return false;
  return jwk.key_ops === undefined || (Array.isArray(jwk.key_ops) && jwk.key_ops.includes(purpose));
}

/** The `keys` array of a JWK set document; the message never quotes the text (it may hold private keys). */
export function jwkSetMembers(text: string): Record<string, unknown>[] {
  let document: { keys?: unknown };
  try {
    document = JSON.parse(text);
  } catch {
    throw new Error("not valid JSON");
  }
  if (!Array.isArray(document?.keys)) throw new Error("not a JWK set (no `keys` array)");
  return (document.keys as unknown[]).filter((jwk): jwk is Record<string, unknown> => typeof jwk === "object" && jwk !== null);
}

const UNUSED_GRACE_MS = 10 * 60 * 1000;

export class JwkSetCache<Keys> {
  private readonly entries = new Map<string, JwkSetEntry<Keys>>();
  private readonly retryMs: number;
  private readonly fetchTimeoutMs: number;
  private readonly maxBytes: number;
  private readonly now: () => number;

  constructor(
    /** Turns a set's text into the caller's keys; throws when the set is unusable. */
    private readonly parse: (text: string) => Keys,
    private readonly policy: JwkSetPolicy,
  ) {
    this.retryMs = policy.retryMs ?? 10_000;
    this.fetchTimeoutMs = policy.fetchTimeoutMs ?? 5_000;
    this.maxBytes = policy.maxBytes ?? 1 << 20;
    this.now = policy.now ?? Date.now;
  }

  /**
   * The entry of `location`, read at once the first time when it is a file; starts a
   * background refresh when the set is older than `ttlSeconds` (at least a second apart, so
   * steady traffic never turns into back-to-back fetches) or the last read failed long enough ago.
   */
  entry(location: JwkSetLocation, ttlSeconds: number, report?: FailureReport<Keys>): JwkSetEntry<Keys> {
    const where = "file" in location ? location.file : location.url;
    let entry = this.entries.get(where);
    if (!entry) {
      entry = { where, keys: null, version: 0, error: null, errorReported: false, text: "", loadedAt: 0, attemptedAt: -Infinity, usedAt: 0, inflight: null };
      this.entries.set(where, entry);
      const path = this.filePath(location);
      if (path !== null) {
        entry.attemptedAt = this.now();
        try {
          this.install(entry, readFileSync(path, "utf8"));
        } catch (error) {
          this.fail(entry, error);
        }
      }
    }
    entry.usedAt = this.now();
    this.refreshIfDue(location, entry, ttlSeconds, report);
    return entry;
  }

  /**
   * Reads the set now unless a read is in flight (then that one) or the last attempt was
   * within the retry interval (then null). Never rejects: a failure keeps the previous keys.
   */
  refreshNow(location: JwkSetLocation, entry: JwkSetEntry<Keys>, report?: FailureReport<Keys>): Promise<void> | null {
    if (entry.inflight) return entry.inflight;
    if (this.now() - entry.attemptedAt < this.retryMs) return null;
    return this.load(location, entry, report);
  }

  /** Hands a failure to `log` once: the next failure is reported again. */
  reportError(entry: JwkSetEntry<Keys>, log: EventLog, message: string, field: string): void {
    if (entry.error === null || entry.errorReported) return;
    entry.errorReported = true;
    log({ level: "warn", message, [field]: entry.where, error: entry.error });
  }

  /**
   * Forgets the sets of locations that `kept` does not name and that nobody used for a while,
   * so they do not pile up. The grace keeps the sets of another gateway in the same process
   * (tests, embedding) that still uses its own.
   */
  retain(kept: ReadonlySet<string>): void {
    const now = this.now();
    for (const [where, entry] of this.entries) if (!kept.has(where) && now - entry.usedAt > UNUSED_GRACE_MS) this.entries.delete(where);
  }

  private refreshIfDue(location: JwkSetLocation, entry: JwkSetEntry<Keys>, ttlSeconds: number, report: FailureReport<Keys> | undefined): void {
    if (entry.inflight) return;
    const at = this.now();
    const due = entry.error !== null ? at - entry.attemptedAt >= this.retryMs : at - entry.loadedAt >= Math.max(ttlSeconds, 1) * 1000;
    if (due) void this.load(location, entry, report);
  }

  private load(location: JwkSetLocation, entry: JwkSetEntry<Keys>, report: FailureReport<Keys> | undefined): Promise<void> {
    entry.attemptedAt = this.now();
    const run = async () => {
      try {
        this.install(entry, await this.read(location));
      } catch (error) {
        this.fail(entry, error);
        report?.(entry);
      } finally {
        entry.inflight = null;
      }
    };
    entry.inflight = run();
    return entry.inflight;
  }

  private install(entry: JwkSetEntry<Keys>, text: string): void {
    if (text !== entry.text || entry.keys === null) {
      entry.keys = this.parse(text);
      entry.text = text;
      entry.version++;
    }
    entry.loadedAt = this.now();
    entry.error = null;
  }

  private fail(entry: JwkSetEntry<Keys>, error: unknown): void {
    entry.error = describeError(error);
    entry.errorReported = false;
  }

  private filePath(location: JwkSetLocation): string | null {
    if ("file" in location) return location.file;
    return location.url.startsWith("file:") ? fileURLToPath(location.url) : null;
  }

  private read(location: JwkSetLocation): Promise<string> {
    const path = this.filePath(location);
    if (path !== null) return Bun.file(path).text();
    const { url } = location as { url: string };
    return fetchBoundedText(url, { timeoutMs: this.fetchTimeoutMs, maxBytes: this.maxBytes, followRedirects: this.policy.followRedirects });
  }
}
