// Key rotation: a new active key takes over signing, and the keys of the same algorithm that
// were active until then are retired, published for `grace` more seconds so that tokens they
// signed keep verifying until those expire. The new key is stored first, so every state in
// between is a valid one (two active keys: the newer signs).
import { and, eq } from "drizzle-orm";
import * as schema from "../db/schema.ts";
import type { Page, Store } from "../db/store.ts";
import { ValidationError } from "../errors.ts";
import { now } from "../entities/common.ts";
import type { KeyRecord } from "../entities/key.ts";
import type { SigningAlgorithm } from "../jose/algorithms.ts";
import { generateKeyRecord } from "./generate.ts";

/** One day: longer than the lifetime of the access tokens a gateway usually signs. */
export const DEFAULT_ROTATION_GRACE_SECONDS = 86_400;

export interface RotateKeyInput {
  alg: SigningAlgorithm;
  kid?: string;
  /** Seconds the retired keys stay published (default one day). */
  grace?: number;
}

export interface Rotation {
  /** The new active key. */
  key: KeyRecord;
  /** The keys it replaced, now retired. */
  retired: KeyRecord[];
}

const PAGE = 1000;

function activeKeysOf(store: Store, alg: SigningAlgorithm): KeyRecord[] {
  const where = and(eq(schema.keys.alg, alg), eq(schema.keys.status, "active"));
  const found: KeyRecord[] = [];
  for (let offset: number | null = 0; offset !== null; ) {
    const page: Page<KeyRecord> = store.list("keys", { size: PAGE, offset, where });
    found.push(...page.data);
    offset = page.nextOffset;
  }
  return found;
}

export function rotateKey(store: Store, input: RotateKeyInput): Rotation {
  const grace = input.grace ?? DEFAULT_ROTATION_GRACE_SECONDS;
  if (!Number.isSafeInteger(grace) || grace < 0) throw new ValidationError({ grace: "must be a whole number of seconds, 0 or more" });
  const previous = activeKeysOf(store, input.alg);
  const key = store.insert("keys", generateKeyRecord(input.kid === undefined ? { alg: input.alg } : { alg: input.alg, kid: input.kid }));
  const at = now();
  const retired = previous.map((old) => store.replaceRow("keys", { ...old, status: "retired", retire_after: at + grace, updated_at: at }));
  return { key, retired };
}
