// Keystore key: an asymmetric signing key of the gateway (jwt-signer, JWKS). The private half
// lives only in the database row, never in this model, so no API can return it by accident.
import type { Static } from "elysia";
import { t } from "./t.ts";
import { Generated, InputMeta, assertSchema } from "./common.ts";

import { SIGNING_ALGORITHMS, type SigningAlgorithm as SigningAlgorithmName } from "../jose/algorithms.ts";

export { SIGNING_ALGORITHMS };
export type SigningAlgorithm = SigningAlgorithmName;
export const SigningAlgorithm = t.Union(SIGNING_ALGORITHMS.map((alg) => t.Literal(alg)));
export const KeyStatus = t.Union([t.Literal("active"), t.Literal("retired")]);

export const KeyInput = t.Object(
  {
    ...InputMeta,
    alg: SigningAlgorithm,
    kid: t.Optional(t.String({ minLength: 1, maxLength: 256 })),
    status: t.Optional(KeyStatus),
    retire_after: t.Optional(t.Union([t.Integer({ minimum: 0, description: "epoch seconds after which a retired key is no longer published" }), t.Null()])),
  },
  { additionalProperties: false, examples: [{ alg: "ES256", kid: "signing-2026-11" }] },
);
export type KeyInput = Static<typeof KeyInput>;

export const KeyUpdate = t.Object(
  {
    tags: t.Optional(InputMeta.tags),
    status: t.Optional(KeyStatus),
    retire_after: t.Optional(t.Union([t.Integer({ minimum: 0 }), t.Null()])),
  },
  { additionalProperties: false, examples: [{ status: "retired", retire_after: 1795000000 }] },
);

export const Key = t.Object({
  ...Generated,
  kid: t.String(),
  alg: SigningAlgorithm,
  status: KeyStatus,
  public_jwk: t.Record(t.String(), t.Unknown()),
  retire_after: t.Union([t.Integer(), t.Null()]),
});
export type Key = Static<typeof Key>;

/** A key as stored: the public model plus its private JWK. */
export interface KeyRecord extends Key {
  private_jwk: Record<string, unknown> | null;
}

export function checkKeyInput(input: unknown): asserts input is KeyInput {
  assertSchema(KeyInput, input);
}
