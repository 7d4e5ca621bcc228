// What an entity is, written once: its fields, each with its input and output schema, how it is
// stored, its default, uniqueness, references and vault rules. From a definition come its
// TypeBox input/output schemas (validation, OpenAPI, types), its build (defaults, PATCH merge,
// references), its table (src/db/schema.ts derives one per dialect), its declarative section,
// its export and its admin endpoints and CLI columns. Plugins contribute entities the same way.
import type { Static, TObject, TOptional, TSchema } from "@sinclair/typebox";
import { type FieldErrors, ValidationError } from "../errors.ts";
import { EpochSeconds, IdRef, NullableIdRef, Ref, Tags, Uuid, assertSchema, now } from "./common.ts";
import { KONG_FIELDS, type Unsupported } from "./kong.ts";
import { quote } from "./quote.ts";
import type { VaultRule } from "./references.ts";
import { t } from "./t.ts";

/** How a field is stored: every dialect maps these five kinds to its own column types. */
export type StorageKind = "text" | "integer" | "boolean" | "json" | "reference";

export interface FieldDefinition extends VaultRule {
  /** Absent: the field is input only (service `url`), never stored or returned. */
  readonly storage?: StorageKind;
  /** What a write may hold; absent: not writable through the entity's input. */
  readonly input?: TSchema;
  /** What a read returns; absent: never returned. */
  readonly output?: TSchema;
  /** The input must hold it (a PATCH that leaves it out keeps the stored value). */
  readonly required?: boolean;
  /** A value, or a function of the fields before it, for a field a write leaves out. */
  readonly default?: unknown;
  /** Applied to a value the input gives (e.g. an empty list stored as null). */
  readonly normalize?: (value: any) => unknown;
  readonly unique?: boolean;
  /** Names the entity in admin URLs and CLI arguments besides its id, in field order. */
  readonly endpointKey?: boolean;
  /** `storage: "reference"`: the entity referred to (stored as `<field>_id`, read as `{id}`). */
  readonly references?: string;
  /** What deleting the referenced entity does: cascade, or (default) refuse while referenced. */
  readonly onDelete?: "cascade";
  /** An index on the column (references that lists are filtered by). */
  readonly index?: boolean;
  /**
   * `storage: "json"`: a list of ids of this entity (service `ca_certificates`). Each must exist
   * when written, and deleting one a list holds is refused (409), as for a reference.
   */
  readonly listOf?: string;
  /** The column accepts NULL; default: whether the output does. */
  readonly nullable?: boolean;
  /** Stored and held by the record, never returned by any API (a key's private half). */
  readonly private?: boolean;
  /** Why a value asks for a Kong feature the gateway does not have (checked before the schema). */
  readonly unsupported?: Unsupported;
}

export type Fields = Readonly<Record<string, FieldDefinition>>;

/** A stored column that no input or output names (derived from the entity on every write). */
export interface ComputedColumn {
  value(entity: Record<string, any>): string;
  /** The field a uniqueness conflict on this column is reported on, and how it is shown. */
  conflict: { field: string; shown(entity: Record<string, any>): string };
}

/** What every entity has besides its fields. */
export interface StoredEntity {
  id: string;
  tags: string[];
  created_at: number;
  updated_at: number;
}

/** Other entities and the installed plugins, for checks a schema cannot express (plugin configs). */
export interface BuildContext {
  readonly registry: ReadonlyMap<string, unknown>;
  readonly lookup: unknown;
  /** Whether an entity of that name with that id exists (the ids of `listOf` fields). */
  exists(entity: string, id: string): boolean;
}

/** Resolved references of a write, by field: an id, null (none), or undefined (not given). */
export type Refs = Readonly<Record<string, string | null | undefined>>;

export interface Completion<R> {
  /** The validated input, after `shape`. */
  readonly input: Record<string, any>;
  readonly existing: R | undefined;
  readonly ctx: BuildContext;
  /** Add errors here; the build throws them all together. */
  readonly fields: FieldErrors;
}

export interface DeclarativeSection {
  /** The entity's name in error messages of a declarative file ("jwt_secret"); default: label. */
  readonly label?: string;
  /** Parent entities whose entries may hold a list of these under the entity's name. */
  readonly nestedUnder?: readonly string[];
  /** Seed of the id derived for an entry without one, stable across reloads of the same file. */
  idSeed?(entry: Record<string, any>, refs: Refs, position: string): string;
  /** Values a file may leave out that are derived from it, the same on every load. */
  fill?(entry: Record<string, any>, derive: DerivedValues): void;
  /** Uniqueness within one file beyond the unique fields: [name, value] pairs. */
  uniques?(entity: Record<string, any>, seed: string): [string, string][];
  /**
   * Each Kong feature an entry asks for that the build lacks (a plugin that is not installed, a
   * value of its config): `message` follows the entry's name and position (" is not available…").
   */
  unsupported?(entry: Record<string, unknown>, registry: ReadonlyMap<string, unknown>): { feature: string; message: string }[];
  /** Rewrites an entry of an older `_format_version`. */
  migrate?(entry: Record<string, any>, formatVersion: string): void;
  /**
   * Records from the file's entries when the file holds more than a write does (a key's JWKs):
   * `previous` is the state being replaced; `fail` throws an error naming the entry.
   */
  /** The entry written for a record on export, when it differs from its fields (a key's JWKs). */
  exported?(entry: Record<string, unknown>, includePrivate: boolean): Record<string, unknown>;
  fromFile?(entries: Record<string, unknown>[], previous: readonly any[], fail: (position: string, fields: FieldErrors) => never): StoredEntity[];
}

export interface DerivedValues {
  readonly refs: Refs;
  readonly position: string;
  /** 32 alphanumeric characters derived from the seed (not secret). */
  text(seed: string): string;
  /** 32 alphanumeric characters derived from the seed and the file's contents. */
  secret(seed: string): string;
}

export interface EntityHooks<R> {
  /** Rewrites the input before it is validated, as Kong expands shorthands (service `url` → protocol, host, ...). */
  shape?(input: Record<string, any>, existing: R | undefined): Record<string, any>;
  /** Cross-field rules, run on the built entity: add to `fields`, or set derived values. */
  complete?(entity: R, completion: Completion<R>): void;
}

export interface EntitySpec<F extends Fields, R> extends EntityHooks<R> {
  /** Storage, declarative and URL name: `services`, `jwt_secrets`. */
  readonly name: string;
  /** "service", "jwt credential": messages. */
  readonly label: string;
  /** OpenAPI component stem: `Service` → ServiceInput, ServiceUpdate, Service. */
  readonly schemaName: string;
  readonly fields: F;
  /** Examples of the update schema when `updateFields` is set. */
  readonly updateExamples?: readonly unknown[];
  /** Examples of the input schema (the OpenAPI component). */
  readonly inputExamples?: readonly unknown[];
  /** One stored entity as the API returns it (OpenAPI example of the output schema). */
  readonly example: Record<string, unknown>;
  /** PATCH changes only these fields (and tags); default: every input field. */
  readonly updateFields?: readonly string[];
  /** Unique combinations of fields (e.g. one ACL row per consumer and group). */
  readonly uniques?: readonly (readonly string[])[];
  readonly computed?: Readonly<Record<string, ComputedColumn>>;
  /** Why writes through the store are refused (keys: generated by the keystore). */
  readonly readOnly?: string;
  /** Other entities that must be loaded first from a declarative file (plugin configs name keys). */
  readonly after?: readonly string[];
  readonly declarative: DeclarativeSection;
  readonly admin?: AdminSection;
  readonly cli?: CliSection<R>;
}

export type CrudMethod = "list" | "create" | "get" | "update" | "upsert" | "delete";

export interface AdminExamples {
  create?: { summary: string; value: unknown }[];
  upsert?: { summary: string; value: unknown }[];
  update?: { summary: string; value: unknown }[];
}

/** One collection of the admin API (with its item path when `itemParam` is set). */
export interface AdminCollection {
  /** `/jwts`, or the segment under the parent's item: `jwt` in `/consumers/{consumer}/jwt`. */
  readonly path: string;
  /** Operation-id stems: `ConsumerJwt` / `ConsumerJwts`. */
  readonly stem: string;
  readonly stems: string;
  /** Path parameter of the item (`jwt` in `/jwts/{jwt}`); absent: collection only. */
  readonly itemParam?: string;
  /** The item is addressed by id only (a group name is unique per consumer, not overall). */
  readonly idOnly?: boolean;
  readonly methods: readonly CrudMethod[];
  readonly examples: AdminExamples;
  /** The parent this collection hangs off, by entity name. */
  readonly under?: string;
}

export interface AdminSection {
  readonly tag: string;
  /** Said of the input schema in OpenAPI, beyond its fields. */
  readonly inputDescription?: string;
  readonly tagDescription: string;
  readonly noun: string;
  readonly nouns: string;
  /** How the path parameter that names one of these is described and exemplified. */
  readonly param: { readonly name: string; readonly description: string; readonly example: string };
  readonly collections: readonly AdminCollection[];
  /** `GET <item>/<field>`: the entity a reference points at (`/routes/{route}/service`). */
  readonly referenceLinks?: readonly { field: string; collection: string; summary: string; description: string }[];
  readonly delete?: { description?: string; cascade?: string };
}

export interface CliColumn<R> {
  header: string;
  value(entity: R): unknown;
}

export interface CliSection<R> {
  readonly columns: readonly CliColumn<R>[];
  /** How counts name the entity ("3 jwt credentials"); default: its name. */
  readonly nouns?: string;
}

// ---- types derived from the fields ---------------------------------------------------------------

type Schema<S> = S extends TSchema ? S : never;
type PublicKeys<F extends Fields> = { [K in keyof F]: F[K] extends { output: TSchema } ? (F[K] extends { private: true } ? never : K) : never }[keyof F];
type PrivateKeys<F extends Fields> = { [K in keyof F]: F[K] extends { output: TSchema; private: true } ? K : never }[keyof F];
type InputKeys<F extends Fields> = { [K in keyof F]: F[K] extends { input: TSchema } ? K : never }[keyof F];

type GeneratedProps = { id: typeof Uuid; created_at: typeof EpochSeconds; updated_at: typeof EpochSeconds; tags: typeof Tags };
type InputMetaProps = { id: TOptional<typeof Uuid>; tags: TOptional<typeof Tags> };

export type OutputProps<F extends Fields> = GeneratedProps & { -readonly [K in PublicKeys<F>]: Schema<F[K]["output"]> };
export type InputProps<F extends Fields> = InputMetaProps & {
  -readonly [K in InputKeys<F>]: F[K] extends { required: true } ? Schema<F[K]["input"]> : TOptional<Schema<F[K]["input"]>>;
};
type PrivateProps<F extends Fields> = { -readonly [K in PrivateKeys<F>]: Schema<F[K]["output"]> };

/** The entity as the API returns it. */
export type PublicOf<F extends Fields> = Static<TObject<OutputProps<F>>>;
/** The entity as stored (the public entity plus private fields). */
export type RecordOf<F extends Fields> = PublicOf<F> & Static<TObject<PrivateProps<F>>>;
export type InputOf<F extends Fields> = Static<TObject<InputProps<F>>>;

/** The runtime shape every entity of the list has, whatever its record type. */
export interface EntityDefinition<R extends StoredEntity = any> extends EntitySpec<Fields, R> {
  readonly input: TObject;
  readonly output: TObject;
  /** PATCH and PUT bodies: the input with every field optional. */
  readonly update: TObject;
  readonly endpointKeys: readonly string[];
  /** The fields stored as references to other entities. */
  readonly referenceFields: readonly string[];
  /** The fields holding lists of other entities' ids (`listOf`). */
  readonly listFields: readonly string[];
  /** Validates a write (PATCH: merged over `existing`) with its references resolved; the record. */
  build(input: unknown, refs: Refs, ctx: BuildContext, existing?: R): R;
  /** The record without its private fields: the one place entities leave the API. */
  present(record: R): unknown;
}

export interface TypedEntityDefinition<F extends Fields> extends EntityDefinition<RecordOf<F> & StoredEntity> {
  readonly fields: F;
  readonly input: TObject<InputProps<F>>;
  readonly output: TObject<OutputProps<F>>;
}

// ---- field helpers ----------------------------------------------------------------------------------

export const nullable = <S extends TSchema>(schema: S) => t.Union([schema, t.Null()]);

/** A reference to another entity: written as Kong's `{id}`, `{name}` or a bare string, read as `{id}`. */
export function reference<const O extends Omit<FieldDefinition, "storage" | "input" | "output" | "references">>(target: string, options: O) {
  return { storage: "reference", references: target, input: Ref, output: IdRef, ...options } as const;
}

/** A reference that may be absent (null): a plugin's scope. */
export function optionalReference<const O extends Omit<FieldDefinition, "storage" | "input" | "output" | "references">>(target: string, options: O) {
  return { storage: "reference", references: target, input: t.Union([Ref, t.Null()]), output: NullableIdRef, ...options } as const;
}

// ---- the build --------------------------------------------------------------------------------------

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

function defaultOf(field: FieldDefinition, entity: Record<string, unknown>): unknown {
  const value = typeof field.default === "function" ? (field.default as (entity: Record<string, unknown>) => unknown)(entity) : field.default;
  return value === undefined ? null : structuredClone(value);
}

export function defineEntity<const F extends Fields, R extends StoredEntity = RecordOf<F> & StoredEntity>(spec: EntitySpec<F, R>): TypedEntityDefinition<F> {
  const entries = Object.entries(spec.fields) as [string, FieldDefinition][];
  const inputProps: Record<string, TSchema> = { id: t.Optional(Uuid), tags: t.Optional(Tags) };
  const outputProps: Record<string, TSchema> = { id: Uuid, created_at: EpochSeconds, updated_at: EpochSeconds, tags: Tags };
  for (const [name, field] of entries) {
    if (field.input) inputProps[name] = field.required ? field.input : t.Optional(field.input);
    if (field.output && !field.private) outputProps[name] = field.output;
  }
  const input = t.Object(inputProps, { additionalProperties: false, ...(spec.inputExamples ? { examples: [...spec.inputExamples] } : {}) });
  const output = t.Object(outputProps);
  const requiredFields = entries.filter(([, field]) => field.required).map(([name]) => name);
  const privateFields = entries.filter(([, field]) => field.private).map(([name]) => name);

  const build = (raw: unknown, refs: Refs, ctx: BuildContext, existing?: R): R => {
    // A PATCH may leave out a required field: the stored value stands.
    let body = raw;
    if (existing && isObject(raw)) {
      const kept = requiredFields.filter((name) => !(name in raw));
      if (kept.length) body = { ...raw, ...Object.fromEntries(kept.map((name) => [name, (existing as unknown as Record<string, unknown>)[name]])) };
    }
    // Kong's exports carry the timestamps; the gateway keeps its own, as it does for every write.
    if (isObject(body) && ("created_at" in body || "updated_at" in body)) {
      const { created_at: _created, updated_at: _updated, ...rest } = body;
      body = rest;
    }
    // Kong expands shorthands (service `url`) before it validates: the expanded fields are checked.
    if (spec.shape && isObject(body)) body = spec.shape(body as Record<string, any>, existing);
    if (isObject(body)) {
      const refused: FieldErrors = {};
      for (const [name, field] of entries) {
        const why = field.unsupported && body[name] !== undefined ? field.unsupported(body[name]) : null;
        if (why) refused[name] = why;
      }
      // A field of Kong's schema this entity lacks is a feature, not a typo.
      for (const name of Object.keys(body)) if (!(name in inputProps) && KONG_FIELDS[spec.name]?.includes(name)) refused[name] = "is not supported by this gateway";
      if (Object.keys(refused).length) throw new ValidationError(refused);
    }
    assertSchema(input, body);
    const given = body as Record<string, any>;
    const before = existing as Record<string, any> | undefined;
    const fields: FieldErrors = {};
    const entity: Record<string, any> = { id: before?.id ?? given.id ?? crypto.randomUUID() };
    for (const [name, field] of entries) {
      if (!field.storage) continue;
      if (field.storage === "reference") {
        const id = refs[name] !== undefined ? refs[name] : (before?.[name]?.id ?? null);
        if (id === null && field.output === IdRef) fields[name] = "required field missing";
        entity[name] = id === null ? null : { id };
        continue;
      }
      const value = given[name];
      entity[name] = value !== undefined ? (field.normalize ? field.normalize(value) : value) : (before?.[name] ?? defaultOf(field, entity));
      if (field.listOf && value !== undefined && Array.isArray(entity[name])) {
        const label = field.listOf.replace(/s$/, "");
        (entity[name] as string[]).forEach((id, i) => {
          if (!ctx.exists(field.listOf!, id)) fields[`${name}[${i}]`] = `no such ${label} ${quote(id)}`;
        });
      }
    }
    const time = now();
    entity.tags = given.tags ?? before?.tags ?? [];
    entity.created_at = before?.created_at ?? time;
    entity.updated_at = time;
    spec.complete?.(entity as unknown as R, { input: given, existing, ctx, fields });
    if (Object.keys(fields).length) throw new ValidationError(fields);
    return entity as unknown as R;
  };

  const present = (record: R): unknown => {
    if (privateFields.length === 0) return record;
    const copy: Record<string, unknown> = { ...(record as object) };
    for (const name of privateFields) delete copy[name];
    return copy;
  };

  return {
    ...spec,
    input,
    output,
    update: spec.updateFields
      ? t.Object(Object.fromEntries(["tags", ...spec.updateFields].map((name) => [name, t.Optional(inputProps[name]!)])), { additionalProperties: false, ...(spec.updateExamples ? { examples: [...spec.updateExamples] } : {}) })
      : t.Partial(input),
    endpointKeys: entries.filter(([, field]) => field.endpointKey).map(([name]) => name),
    referenceFields: entries.filter(([, field]) => field.storage === "reference").map(([name]) => name),
    listFields: entries.filter(([, field]) => field.listOf).map(([name]) => name),
    build: spec.readOnly
      ? () => {
          throw new ValidationError({ "@entity": spec.readOnly! });
        }
      : build,
    present,
  } as unknown as TypedEntityDefinition<F>;
}
