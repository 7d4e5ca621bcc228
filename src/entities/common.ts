// Schema pieces every entity shares, and the validator that turns TypeBox errors into the
// `{ field: why }` map of SPEC §6.
import type { TSchema } from "@sinclair/typebox";
import { t } from "./t.ts";
import { Value, type ValueError, ValueErrorType } from "@sinclair/typebox/value";
import { type FieldErrors, ValidationError } from "../errors.ts";
import { clip, quote } from "./quote.ts";

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
// Kong's rule: printable characters except `,` and `/`, which separate tags in `?tags=`.
export const Tags = t.Array(t.String({ minLength: 1, maxLength: 128, pattern: "^[^,/\\u0000-\\u001f\\u007f]+$", description: "printable characters except , and /" }), { maxItems: 64, uniqueItems: true });
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

type SchemaNode = TSchema & {
  anyOf?: SchemaNode[];
  const?: unknown;
  type?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  description?: string;
};

const TYPE_WORDS: Record<string, string> = { string: "a string", integer: "an integer", number: "a number", boolean: "a boolean", array: "an array", object: "a record", null: "null" };

/** What a schema expects, said as Kong says it ("expected a string", "expected one of: v0, v1"). */
function expected(schema: SchemaNode): string {
  if (schema.anyOf) {
    const literals = schema.anyOf.filter((variant) => variant.const !== undefined).map((variant) => String(variant.const));
    if (literals.length === schema.anyOf.length) return `expected one of: ${literals.join(", ")}`;
    if (schema.description) return `expected ${schema.description}`;
    const words = [...new Set(schema.anyOf.map((variant) => (variant.const !== undefined ? `'${String(variant.const)}'` : (TYPE_WORDS[variant.type ?? ""] ?? "a value"))))];
    return `expected ${words.join(" or ")}`;
  }
  if (schema.const !== undefined) return `expected '${String(schema.const)}'`;
  return `expected ${TYPE_WORDS[schema.type ?? ""] ?? "a different value"}`;
}

function between(what: string, min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return `${what} should be between ${min} and ${max}`;
  return min !== undefined ? `${what} must be at least ${min}` : `${what} must be at most ${max}`;
}

/** A schema violation in Kong's words (its schema library's own wording never reaches a user). */
function reasonOf(error: ValueError): string {
  const schema = error.schema as SchemaNode;
  switch (error.type) {
    case ValueErrorType.ObjectAdditionalProperties:
      return "unknown field";
    case ValueErrorType.ObjectRequiredProperty:
      return "required field missing";
    case ValueErrorType.StringPattern:
    case ValueErrorType.StringFormat:
      return schema.description ? `invalid value: expected ${schema.description}` : `invalid value ${quote(error.value)}`;
    case ValueErrorType.StringMinLength:
    case ValueErrorType.StringMaxLength:
      return between("length", schema.minLength, schema.maxLength);
    case ValueErrorType.ArrayMinItems:
    case ValueErrorType.ArrayMaxItems:
      return between("length", schema.minItems, schema.maxItems);
    case ValueErrorType.ArrayUniqueItems:
      return "items must be unique";
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMinimum:
    case ValueErrorType.NumberMaximum:
      return between("value", schema.minimum, schema.maximum);
    case ValueErrorType.ObjectMinProperties:
      return "must not be empty";
    case ValueErrorType.ObjectMaxProperties:
      return "has too many entries";
    case ValueErrorType.ArrayContains:
      return error.message.toLowerCase();
    default:
      return expected(schema);
  }
}

/** A union of one schema and null (a nullable field): the value is checked against the schema, so the reason is its own. */
function nonNullVariant(schema: SchemaNode, value: unknown): SchemaNode | undefined {
  if (!schema.anyOf || value === null) return undefined;
  const others = schema.anyOf.filter((variant) => variant.type !== "null");
  const variant = others.length === 1 && others.length < schema.anyOf.length ? others[0]! : undefined;
  // The field's description is often on the nullable union, not on the schema inside it.
  return variant && !variant.description && schema.description ? ({ ...variant, description: schema.description } as SchemaNode) : variant;
}

/** Collects schema violations as `{ field: why }`, first reason per field. */
export function schemaErrors(schema: TSchema, value: unknown, prefix = ""): FieldErrors {
  const fields: FieldErrors = {};
  for (const error of Value.Errors(schema, value)) {
    const name = fieldName(error.path, prefix);
    if (fields[name]) continue;
    const variant = error.type === ValueErrorType.Union ? nonNullVariant(error.schema as SchemaNode, error.value) : undefined;
    if (variant) {
      for (const [inner, why] of Object.entries(schemaErrors(variant, error.value, name === "@entity" ? "" : name))) fields[inner] ??= why;
    } else {
      fields[name] = reasonOf(error);
    }
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
