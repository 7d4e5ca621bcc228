// Declarative configuration (SPEC §8): Kong's kong.yml format, nested and top-level forms,
// turned into the same validated entities the database holds. Nothing is applied here: the
// caller swaps the result in atomically, so a bad file changes nothing. Env vault references
// are resolved to validate and kept as written in the result (see entities/references.ts).
// Every entity of the build has its top-level section, named as its table; an entity's
// definition says under which parents it may also be nested and how ids are derived.
import { createHash, createHmac } from "node:crypto";
import type { DerivedValues, EntityDefinition, Refs, StoredEntity } from "../entities/definition.ts";
import { type Consumer, coreEntities, entityList, loadOrder } from "../entities/index.ts";
import { KONG_ENTITIES } from "../entities/kong.ts";
import { clip, clipQuoted, quote } from "../entities/quote.ts";
import { buildWithReferences } from "../entities/references.ts";
import { type FieldErrors, GatewayError, ValidationError } from "../errors.ts";
import type { EntityLookup } from "../pipeline/contract.ts";
import type { PluginRegistry } from "../pipeline/registry.ts";
import { type StateData, emptyState, rowsOf } from "../state/data.ts";
import { parseDocument } from "./document.ts";
import { describeEntry, unsupportedFeatures, unsupportedMessage } from "./unsupported.ts";

export const FORMAT_VERSIONS = ["1.1", "2.1", "3.0"];
// Kong's own file keys, and decK's `_info` and `_konnect` (decK reads them, Kong never sees them).
const FILE_KEYS = ["_format_version", "_transform", "_comment", "_ignore", "_workspace", "_info", "_konnect"];
const META = ["_comment", "_ignore"];

type Entry = Record<string, unknown>;

/** A config error: names the entity, its position in the file and the field. */
export class DeclarativeError extends ValidationError {}

function fail(position: string, fields: FieldErrors, entity?: string): never {
  const prefixed = Object.fromEntries(Object.entries(fields).map(([field, why]) => [field === "@entity" ? position : `${position}.${field}`, why]));
  const summary = Object.entries(fields).map(([field, why]) => `${field}: ${why}`).join("; ");
  throw new DeclarativeError(prefixed, `in ${entity ? `${entity} at ` : ""}${position}: ${summary}`);
}

/** Derived values stay stable across reloads of the same file (SPEC §8). */
function derivedUuid(seed: string): string {
  const hex = createHash("sha256").update(seed).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex[16]!, 16) & 3) | 8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function derivedAlphanumeric(key: Buffer | string, seed: string): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const digest = createHmac("sha512", key).update(seed).digest();
  let out = "";
  for (let i = 0; out.length < 32 && i < digest.length; i++) out += alphabet[digest[i]! % 62];
  return out;
}

function asList(value: unknown, position: string): Entry[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) fail(position, { "@entity": "must be a list" });
  return value.map((item, i) => {
    if (typeof item !== "object" || item === null || Array.isArray(item)) fail(`${position}[${i}]`, { "@entity": "must be a mapping" });
    const copy: Entry = { ...(item as Entry) };
    for (const key of META) delete copy[key];
    return copy;
  });
}

/** `_format_version: 3.0` unquoted is the number 3 to YAML; Kong reads it as "3.0". */
function formatVersionOf(value: unknown): string {
  if (typeof value === "number") return Number.isInteger(value) ? value.toFixed(1) : String(value);
  return String(value ?? "");
}

/** One entry of the file: where it is, and the parent it is nested under. */
interface Item {
  entry: Entry;
  position: string;
  parent?: { kind: string; id: string };
}

export interface ParseOptions {
  /** The state being replaced: keys whose private half an export left out keep it. */
  previous?: StateData;
  /** Every entity of the build (default: the core ones and the registry's plugins'). */
  entities?: readonly EntityDefinition[];
}

/** Parses YAML or JSON text into validated state, or throws a ValidationError naming what is wrong. */
export function parseDeclarative(text: string, registry: PluginRegistry, options: ParseOptions = {}): StateData {
  const entities = options.entities ?? entityList(coreEntities, registry.values());
  let document: unknown;
  try {
    document = parseDocument(text);
  } catch (error) {
    const message = clipQuoted(error instanceof Error ? (error.message.split("\n")[0] ?? "") : String(error));
    throw new DeclarativeError({ "@file": `not valid YAML or JSON: ${message}` }, `not valid YAML or JSON: ${message}`);
  }
  if (typeof document !== "object" || document === null || Array.isArray(document)) {
    throw new DeclarativeError({ "@file": "must be a mapping with _format_version" }, "the file must be a mapping with _format_version");
  }
  const doc = document as Entry;
  const findings = unsupportedFeatures(doc, entities, registry);
  if (findings.length) {
    throw new DeclarativeError(Object.fromEntries(findings.map((finding) => [finding.position, finding.message])), unsupportedMessage(findings));
  }
  const topLevel = new Set([...FILE_KEYS, ...entities.map((entity) => entity.name)]);
  // An empty section of a Kong entity the build lacks asks for nothing.
  const empty = (value: unknown) => value === null || (Array.isArray(value) && value.length === 0);
  const unknown = Object.keys(doc).filter((key) => !topLevel.has(key) && !(KONG_ENTITIES.has(key) && empty(doc[key])));
  if (unknown.length) fail("@file", Object.fromEntries(unknown.slice(0, 20).map((key) => [clip(key), "unknown top-level key"])));
  const version = formatVersionOf(doc._format_version);
  if (!FORMAT_VERSIONS.includes(version)) {
    fail("@file", { _format_version: doc._format_version === undefined ? "required field missing" : `must be one of ${FORMAT_VERSIONS.join(", ")}` });
  }
  const fileKey = createHash("sha256").update(text).digest();
  const state = emptyState(entities);
  /** Entity name → id, name, username, ... → id: what references in the file resolve against. */
  const ids = new Map(entities.map((entity) => [entity.name, new Map<string, string>()]));
  /** Entries found nested under a parent, by entity name, in the order the parents came. */
  const nested = new Map<string, Item[]>(entities.map((entity) => [entity.name, []]));
  const seen = new Map<string, string>();

  const unique = (kind: string, field: string, value: unknown, position: string, who?: string) => {
    if (value === null || value === undefined) return;
    const id = `${kind}\u0000${field}\u0000${String(value)}`;
    if (seen.has(id)) fail(position, { [field]: `uniqueness violation: '${kind}' entity with ${field} set to ${quote(String(value))} already declared at ${seen.get(id)}` }, who);
    seen.set(id, position);
  };
  const resolve = (kind: string, ref: unknown, position: string, field: string): string => {
    const key = typeof ref === "string" ? ref : typeof ref === "object" && ref !== null ? ((ref as Entry).id ?? (ref as Entry).name ?? (ref as Entry).username) : undefined;
    const id = typeof key === "string" ? ids.get(kind)?.get(key) : undefined;
    if (!id) fail(position, { [field]: `invalid reference '${field}: ${clip(typeof key === "string" ? key : (JSON.stringify(ref) ?? String(ref)))}' (no such entry in '${kind}')` });
    return id;
  };
  const lookup: EntityLookup = {
    findConsumer: (idOrUsername: string): Consumer | undefined => {
      const id = ids.get("consumers")?.get(idOrUsername);
      return id ? state.consumers.find((c) => c.id === id) : undefined;
    },
    findKey: (kid: string) => state.keys.find((key) => key.kid === kid),
  };

  const exists = (kind: string, id: string) => rowsOf(state, kind).some((row) => row.id === id);

  for (const entity of loadOrder(entities)) {
    const label = entity.declarative.label ?? entity.label;
    const children = entities.filter((child) => child.declarative.nestedUnder?.includes(entity.name));
    const items: Item[] = [...nested.get(entity.name)!, ...asList(doc[entity.name], entity.name).map((entry, i) => ({ entry, position: `${entity.name}[${i}]` }))];
    /** Builds one entry as every write is built (references resolved to validate, kept to store). */
    const build = <T>(entry: Entry, position: string, make: (input: Entry) => T): T => {
      try {
        return buildWithReferences<T>(entity, entry, undefined, (input) => make(input as Entry));
      } catch (error) {
        if (error instanceof GatewayError && error.fields) fail(position, error.fields, describeEntry(label, entry));
        throw error;
      }
    };
    const records: { record: StoredEntity; position: string; seed: string }[] = [];
    if (entity.declarative.fromFile) {
      // No field that takes key material from the file takes a reference.
      const entries = items.map((item) => item.entry);
      items.forEach((item) => build(item.entry, item.position, (input) => input));
      const previous = options.previous ? rowsOf(options.previous, entity.name) : [];
      entity.declarative.fromFile(entries, previous, (position, fields) => fail(position, fields, label)).forEach((record, i) => records.push({ record, position: items[i]!.position, seed: "" }));
    } else {
      for (const item of items) {
        const fields = { ...item.entry };
        const lists = children.map((child) => [child, fields[child.name]] as const);
        for (const child of children) delete fields[child.name];
        entity.declarative.migrate?.(fields, version);
        const refs: Record<string, string | undefined> = {};
        for (const field of entity.referenceFields) {
          const target = entity.fields[field]!.references!;
          const given = fields[field];
          delete fields[field];
          refs[field] = item.parent?.kind === target ? item.parent.id : given !== undefined && given !== null ? resolve(target, given, item.position, field) : undefined;
        }
        const derive: DerivedValues = {
          refs: refs as Refs,
          position: item.position,
          text: (seed) => derivedAlphanumeric("gateway-declarative-key", seed),
          secret: (seed) => derivedAlphanumeric(fileKey, seed),
        };
        entity.declarative.fill?.(fields, derive);
        const seed = entity.declarative.idSeed?.(fields, refs, item.position) ?? `${entity.name}:${item.position}`;
        fields.id ??= derivedUuid(seed);
        const record = build(fields, item.position, (input) => entity.build(input, refs, { registry, lookup, exists }) as StoredEntity);
        records.push({ record, position: item.position, seed });
        for (const [child, list] of lists) {
          asList(list, `${item.position}.${child.name}`).forEach((entry, j) =>
            nested.get(child.name)!.push({ entry, position: `${item.position}.${child.name}[${j}]`, parent: { kind: entity.name, id: record.id } }),
          );
        }
      }
    }
    const names = ids.get(entity.name)!;
    for (const { record, position, seed } of records) {
      const values = record as unknown as Entry;
      const who = describeEntry(entity.declarative.label ?? entity.label, values);
      for (const [field, definition] of Object.entries(entity.fields)) if (definition.unique) unique(entity.name, field, values[field], position, who);
      for (const [field, value] of entity.declarative.uniques?.(values, seed) ?? []) unique(entity.name, field, value, position, who);
      unique(entity.name, "id", record.id, position, who);
      rowsOf(state, entity.name).push(values);
      names.set(record.id, record.id);
      for (const key of entity.endpointKeys) if (typeof values[key] === "string") names.set(values[key] as string, record.id);
    }
  }
  return state;
}
export { exportDeclarative, type ExportOptions } from "./export.ts";
