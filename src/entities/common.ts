// Schema pieces every entity shares, and the validator that turns TypeBox errors into the
// `{ field: why }` map of SPEC §6.
import type { TSchema } from "@sinclair/typebox";
import { t } from "./t.ts";
import { Value, ValueErrorType } from "@sinclair/typebox/value";
import { type FieldErrors, ValidationError } from "../errors.ts";
import { clip } from "./quote.ts";

export const Uuid = t.String({
  format: "uuid",
  pattern: "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
  description: "UUID",
  examples: ["4b3f7a2e-6f3a-4f38-9d7e-2a9c1d0e5b11"],
});
export const Name = t.String({
  minLength: 1,
  maxLength: 128,
  pattern: "^[A-Za-z0-9._~-]+$",
  description: "letters, digits and . _ ~ -",
});
export const Tags = t.Array(t.String({ minLength: 1, maxLength: 128 }), { maxItems: 64, uniqueItems: true });
export const EpochSeconds = t.Integer({ minimum: 0, description: "epoch seconds" });

/** Fields generated on write and returned on read. */
export const Generated = {
  id: Uuid,
  created_at: EpochSeconds,
  updated_at: EpochSeconds,
  tags: Tags,
};

/** Optional input forms of the shared fields. */
export const InputMeta = {
  id: t.Optional(Uuid),
  tags: t.Optional(Tags),
};

/** A Kong-style reference to another entity: `{ id }`, `{ name }` (or `username`), or a bare string. */
export const Ref = t.Union(
  [
    t.String({ minLength: 1, description: "id, name or username" }),
    t.Object(
      { id: t.Optional(Uuid), name: t.Optional(t.String()), username: t.Optional(t.String()) },
      { additionalProperties: false },
    ),
  ],
  { description: "a reference: {\"id\": ...} or {\"name\": ...} ({\"username\": ...} for consumers)" },
);
export const IdRef = t.Object({ id: Uuid });
export const NullableIdRef = t.Union([IdRef, t.Null()]);

export interface IdRefValue {
  id: string;
}

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** Random alphanumeric characters (32 by default), as Kong generates for a missing key or secret. */
export function randomAlphanumeric(length = 32): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length * 2));
  let out = "";
  for (const byte of bytes) {
    if (byte < 248) out += ALPHANUMERIC[byte % 62];
    if (out.length === length) return out;
  }
  return out + randomAlphanumeric(length - out.length);
}

export function now(): number {
  return Math.floor(Date.now() / 1000);
}

/** A field's name from a TypeBox path; a name someone sent (an unknown field) is clipped. */
function fieldName(path: string, prefix: string): string {
  const parts = path.split("/").filter(Boolean);
  const joined = parts
    .map((part) => clip(part))
    .map((part, i) => (/^\d+$/.test(part) ? `[${part}]` : i === 0 ? part : `.${part}`))
    .join("");
  if (!prefix) return joined || "@entity";
  return joined ? `${prefix}.${joined}`.replace(".[", "[") : prefix;
}

/** Collects schema violations as `{ field: why }`, first reason per field. */
export function schemaErrors(schema: TSchema, value: unknown, prefix = ""): FieldErrors {
  const fields: FieldErrors = {};
  for (const error of Value.Errors(schema, value)) {
    const name = fieldName(error.path, prefix);
    if (fields[name]) continue;
    fields[name] =
      error.type === ValueErrorType.ObjectAdditionalProperties
        ? "unknown field"
        : error.type === ValueErrorType.ObjectRequiredProperty
          ? "required field missing"
          : error.message.toLowerCase();
    if (Object.keys(fields).length >= 20) break;
  }
  for (const [name, why] of Object.entries(fields)) {
    // TypeBox reports an unknown property both on the object and on the property itself.
    if (why === "unknown field") {
      const parent = name.replace(/(\.[^.[\]]+|\[\d+\])$/, "");
      if (parent !== name && fields[parent]) delete fields[parent];
    }
  }
  return fields;
}

/** Validates `value` against `schema`, or throws a ValidationError naming every bad field. */
export function assertSchema<S extends TSchema>(schema: S, value: unknown, prefix = ""): asserts value is import("@sinclair/typebox").Static<S> {
  const fields = schemaErrors(schema, value, prefix);
  if (Object.keys(fields).length > 0) throw new ValidationError(fields);
}

export function requireFields(fields: FieldErrors): void {
  if (Object.keys(fields).length > 0) throw new ValidationError(fields);
}
