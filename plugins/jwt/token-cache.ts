// Verified tokens of one plugin instance (SPEC §5.2), so a token is not re-verified on every
// request. Bounded in entries and in estimated bytes (oldest entry out first); the instance, and
// with it this cache, is rebuilt on every config change, so a changed credential or consumer
// never answers from here. Time claims are re-checked on every hit by the caller.
import type { Consumer } from "../../src/entities/consumer.ts";
import { heldBytes } from "./compact.ts";
import type { PreparedCredential } from "./credentials.ts";

export interface VerifiedToken {
  readonly prepared: PreparedCredential;
  readonly consumer: Consumer;
  readonly claims: Record<string, unknown>;
  readonly groups: string[] | null;
  /** Upstream headers from claims_to_headers, as [name, value]. */
  readonly claimHeaders: readonly (readonly [string, string])[] | null;
  /** Version of the JWKS the key came from (jwks credentials), to redo it after a rotation. */
  readonly jwksVersion: number;
}

/**
 * The byte budget: 2 KiB per entry of cache_size (what a ~1 KB token is estimated at, so
 * cache_size of them fit; ~20 MB at the default 10,000), at least 16 MiB so small caches still
 * take large tokens. Large tokens meet the budget before the entry cap: ~3,000 of 8 KB.
 */
export function budgetFor(capacity: number): number {
  return Math.max(16 * 1024 * 1024, capacity * 2048);
}

/** The Map entry, the Entry and VerifiedToken objects, and the 32-character key string. */
const ENTRY_OVERHEAD = 256;

interface Entry {
  readonly verified: VerifiedToken;
  readonly bytes: number;
}

export class VerifiedTokenCache {
  private readonly entries = new Map<string, Entry>();
  private totalBytes = 0;
  /** An entry over a 64th of the budget is not cached: one token must not flush many others. */
  private readonly entryLimit: number;

  constructor(
    private readonly capacity: number,
    private readonly budget = budgetFor(capacity),
  ) {
    this.entryLimit = budget / 64;
  }

  /**
   * The token's SHA-256 as a 32-character latin1 string: the cache never holds a token, and a
   * 2^-128 collision bound keeps one caller from being served another's identity (a 64-bit
   * hash like Bun.hash could be collided on purpose). UTF-8 is injective but for lone
   * surrogates, which no verified token (base64url segments) contains.
   */
  keyOf(token: string): string {
    // The one-shot form is the cheapest SHA-256 in Bun (bench/token-cache-bench.ts).
    return Bun.SHA256.hash(token, "latin1");
  }

  get(key: string): VerifiedToken | undefined {
    return this.entries.get(key)?.verified;
  }

  /** Caches `verified` under `key` (from keyOf). */
  set(key: string, verified: VerifiedToken): void {
    const bytes = ENTRY_OVERHEAD + heldBytes([verified.claims, verified.groups, verified.claimHeaders], this.entryLimit);
    this.delete(key);
    if (bytes > this.entryLimit) return;
    while (this.entries.size >= this.capacity || this.totalBytes + bytes > this.budget) {
      this.delete(this.entries.keys().next().value!);
    }
    this.entries.set(key, { verified, bytes });
    this.totalBytes += bytes;
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.totalBytes -= entry.bytes;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Estimated bytes held, at most the budget. */
  get bytes(): number {
    return this.totalBytes;
  }

  /** The keys, oldest first: digests, never tokens. */
  keys(): IterableIterator<string> {
    return this.entries.keys();
  }
}
