// The lifecycle rules of keystore keys, in one place so that the JWKS endpoint and jwt-signer
// never disagree: which keys are published at a given moment, which may sign, which key signs
// when a plugin names none.
//
// - An active key is published and may sign.
// - A retired key no longer signs on its own (never chosen automatically) but stays published,
//   so tokens it signed keep verifying, until `retire_after` (epoch seconds); from then on it
//   is neither published nor used, even by a plugin that names it. A retired key without
//   `retire_after` stays published until it is deleted or given one.
// - `retire_after` only counts for retired keys: an active key is always published.
import type { KeyRecord } from "../entities/key.ts";
import type { SigningAlgorithm } from "../jose/algorithms.ts";

export function isPublished(key: Pick<KeyRecord, "status" | "retire_after">, at: number): boolean {
  return key.status === "active" || key.retire_after === null || at < key.retire_after;
}

/** The keys a JWKS shows at `at`, in stored order. */
export function publishedKeys<K extends Pick<KeyRecord, "status" | "retire_after">>(keys: readonly K[], at: number): K[] {
  return keys.filter((key) => isPublished(key, at));
}

/** When the published set next changes by time alone (a retired key expiring), or null. */
export function nextExpiry(keys: readonly Pick<KeyRecord, "status" | "retire_after">[], at: number): number | null {
  let next: number | null = null;
  for (const key of keys) {
    if (key.status === "retired" && key.retire_after !== null && key.retire_after > at && (next === null || key.retire_after < next)) {
      next = key.retire_after;
    }
  }
  return next;
}

/**
 * The key that signs for `alg` when no kid is named: the newest active key of that algorithm
 * that has its private half (latest `created_at`; on a tie the one stored last).
 */
export function newestActiveKey(keys: readonly KeyRecord[], alg: SigningAlgorithm): KeyRecord | undefined {
  let newest: KeyRecord | undefined;
  for (const key of keys) {
    if (key.status !== "active" || key.alg !== alg || !key.private_jwk) continue;
    if (!newest || key.created_at >= newest.created_at) newest = key;
  }
  return newest;
}
