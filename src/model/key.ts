// The key entity is defined in src/entities/key.ts; these names are kept for the modules that import them.
import type { Static } from "@sinclair/typebox";
import { keyEntity } from "../entities/key.ts";
import { assertSchema } from "../entities/common.ts";
import { SIGNING_ALGORITHMS, type SigningAlgorithm as SigningAlgorithmName } from "../jose/algorithms.ts";
import type { Key as PublicKey } from "../entities/key.ts";
export type { KeyRecord } from "../entities/key.ts";
export type Key = PublicKey;
export { KeyStatus, KeyUpdate, SigningAlgorithm } from "../entities/key.ts";
export { SIGNING_ALGORITHMS };
export type SigningAlgorithm = SigningAlgorithmName;

export const KeyInput = keyEntity.input;
export type KeyInput = Static<typeof KeyInput>;
export const Key = keyEntity.output;

export function checkKeyInput(input: unknown): asserts input is KeyInput {
  assertSchema(KeyInput, input);
}
