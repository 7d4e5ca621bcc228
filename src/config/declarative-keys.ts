// Keystore entries of a declarative file. A key is given with its private JWK (signing) or its
// public JWK only (published for verification). An entry without a private half keeps the one
// the running state already has for the same kid and public key, so importing an export that
// left private keys out does not lose them.
import { createPrivateKey, createPublicKey } from "node:crypto";
import { t } from "../model/t.ts";
import { schemaErrors, now } from "../model/common.ts";
import { type KeyRecord, KeyStatus, SigningAlgorithm } from "../model/key.ts";
import { publicJwkOf } from "../jose/generate.ts";
import { type FieldErrors, GatewayError } from "../errors.ts";

const Jwk = t.Record(t.String(), t.Unknown());
export const DeclarativeKey = t.Object(
  {
    id: t.Optional(t.String({ format: "uuid" })),
    kid: t.String({ minLength: 1, maxLength: 256 }),
    alg: SigningAlgorithm,
    status: t.Optional(KeyStatus),
    retire_after: t.Optional(t.Union([t.Integer({ minimum: 0 }), t.Null()])),
    public_jwk: t.Optional(Jwk),
    private_jwk: t.Optional(Jwk),
    tags: t.Optional(t.Array(t.String())),
  },
  { additionalProperties: false },
);

const samePublicKey = (a: Record<string, unknown>, b: Record<string, unknown>) =>
  ["kty", "crv", "x", "y", "n", "e"].every((field) => a[field] === b[field]);

export function keysFromDeclarative(
  entries: Record<string, unknown>[],
  previous: readonly KeyRecord[],
  fail: (position: string, fields: FieldErrors) => never,
): KeyRecord[] {
  return entries.map((entry, i) => {
    const position = `keys[${i}]`;
    const errors = schemaErrors(DeclarativeKey, entry);
    if (Object.keys(errors).length) fail(position, errors);
    const input = entry as { id?: string; kid: string; alg: KeyRecord["alg"]; status?: KeyRecord["status"]; retire_after?: number | null; public_jwk?: Record<string, unknown>; private_jwk?: Record<string, unknown>; tags?: string[] };
    let publicJwk: Record<string, unknown>;
    let privateJwk: Record<string, unknown> | null = null;
    try {
      if (input.private_jwk) {
        const exported = createPrivateKey({ key: input.private_jwk as never, format: "jwk" }).export({ format: "jwk" });
        privateJwk = { ...exported, kid: input.kid, alg: input.alg };
        publicJwk = publicJwkOf(exported, input.kid, input.alg);
      } else if (input.public_jwk) {
        if ("d" in input.public_jwk) fail(position, { public_jwk: "contains a private key; put it under private_jwk" });
        const exported = createPublicKey({ key: input.public_jwk as never, format: "jwk" }).export({ format: "jwk" });
        publicJwk = publicJwkOf(exported, input.kid, input.alg);
        const kept = previous.find((key) => key.kid === input.kid && key.private_jwk && samePublicKey(key.public_jwk, publicJwk));
        privateJwk = kept?.private_jwk ?? null;
      } else {
        const kept = previous.find((key) => key.kid === input.kid);
        if (!kept) fail(position, { private_jwk: "required field missing (give private_jwk, or public_jwk for a verification-only key)" });
        publicJwk = kept.public_jwk;
        privateJwk = kept.private_jwk;
      }
    } catch (error) {
      // Errors raised by `fail` already name the field; only parse failures are reworded.
      if (error instanceof GatewayError) throw error;
      fail(position, { [input.private_jwk ? "private_jwk" : "public_jwk"]: "not a valid JWK" });
    }
    const time = now();
    return {
      id: input.id ?? previous.find((key) => key.kid === input.kid)?.id ?? crypto.randomUUID(),
      kid: input.kid,
      alg: input.alg,
      status: input.status ?? "active",
      public_jwk: publicJwk,
      private_jwk: privateJwk,
      retire_after: input.retire_after ?? null,
      tags: input.tags ?? [],
      created_at: time,
      updated_at: time,
    };
  });
}
