// Reads and writes entities: the only module that talks to the tables. Every write is
// validated in full before it touches the database, so a rejected write changes nothing, and
// each successful write calls `onChange` so the running gateway rebuilds its snapshot. Rows hold
// env vault references as written; `loadAll` resolves them for the running state only. Nothing
// here names an entity: each one's table, columns, keys and rules come from its definition.
import { SQLiteError } from "bun:sqlite";
import { and, eq, sql, type SQL } from "drizzle-orm";
import type { EntityDefinition } from "../entities/definition.ts";
import { type Consumer, type EntityName, type EntityRecords, type KeyRecord, coreEntities, entityList, loadOrder } from "../entities/index.ts";
import { clip, quote } from "../entities/quote.ts";
import { buildWithReferences, resolveStored } from "../entities/references.ts";
import { ConflictError, GatewayError, NotFoundError, ValidationError } from "../errors.ts";
import type { EntityLookup } from "../pipeline/contract.ts";
import type { PluginRegistry } from "../pipeline/registry.ts";
import { type StateData, emptyState, rowsOf } from "../state/data.ts";
import type { OpenedDatabase } from "./connection.ts";
import { type EntityTable, columnOf, sqliteTables } from "./schema.ts";

export type EntityTypes = EntityRecords;
export type Kind = EntityName;

/** A parent in a nested endpoint, e.g. the consumer of `/consumers/{c}/jwt`. */
export interface Parent {
  kind: Kind;
  id: string;
}

export interface Page<T> {
  data: T[];
  nextOffset: number | null;
}

type Row = Record<string, unknown>;
type Entity = Record<string, any>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An entity's table and the conversions between its records (`service: {id}`) and rows (`service_id`). */
class EntityStorage {
  private readonly stored: [string, EntityDefinition["fields"][string]][];

  constructor(
    readonly entity: EntityDefinition,
    readonly table: EntityTable,
  ) {
    this.stored = Object.entries(entity.fields).filter(([, field]) => field.storage);
  }

  toRow(record: Entity): Row {
    const row: Row = { id: record.id };
    for (const [name, field] of this.stored) row[columnOf(name, field)] = field.storage === "reference" ? (record[name]?.id ?? null) : record[name];
    for (const [name, computed] of Object.entries(this.entity.computed ?? {})) row[name] = computed.value(record);
    row.created_at = record.created_at;
    row.updated_at = record.updated_at;
    row.tags = record.tags;
    return row;
  }

  fromRow(row: Row): Entity {
    const record: Entity = { id: row.id };
    for (const [name, field] of this.stored) {
      const value = row[columnOf(name, field)];
      record[name] = field.storage === "reference" ? (value ? { id: value } : null) : value;
    }
    record.tags = row.tags;
    record.created_at = row.created_at;
    record.updated_at = row.updated_at;
    return record;
  }

  /** The column of this entity's reference to `parent`, for parent-filtered lists. */
  parentColumn(parent: string): string | undefined {
    const field = this.entity.referenceFields.find((name) => this.entity.fields[name]!.references === parent);
    return field === undefined ? undefined : columnOf(field, this.entity.fields[field]!);
  }
}

function uniqueViolation(error: unknown, entity: Entity, storage: EntityStorage | undefined): ConflictError | undefined {
  if (!(error instanceof SQLiteError) || !String(error.code).startsWith("SQLITE_CONSTRAINT")) return undefined;
  if (String(error.code) === "SQLITE_CONSTRAINT_FOREIGNKEY") {
    return new ConflictError("the entity is still referenced by, or refers to, an entity that does not allow this change");
  }
  const columns = (/constraint failed: (.*)$/.exec(error.message)?.[1] ?? "")
    .split(",")
    .map((c) => c.trim().split(".")[1] ?? "")
    .filter(Boolean);
  const computed = storage?.entity.computed ?? {};
  const fieldOf = (column: string) => computed[column]?.conflict.field ?? column.replace(/_id$/, "");
  const shown = columns.map((c) => {
    if (computed[c]) return computed[c].conflict.shown(entity);
    if (c.endsWith("_id")) {
      const refName = c.slice(0, -3);
      return `${refName}=${JSON.stringify((entity[refName] as { id?: string } | null)?.id ?? null)}`;
    }
    return `${c}=${JSON.stringify(clip(String(entity[c])))}`;
  });
  const fields = Object.fromEntries(columns.map((c) => [fieldOf(c), "already exists"]));
  return new ConflictError(`UNIQUE violation detected on '{${shown.join(", ")}}'`, fields);
}

/** A request body as an object, or the 400 every write gives for anything else. */
function objectBody(input: unknown): Record<string, unknown> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new ValidationError({ "@body": "must be a JSON object" });
  }
  return input as Record<string, unknown>;
}

export class Store implements EntityLookup {
  private readonly db: OpenedDatabase["db"];
  private readonly storages = new Map<string, EntityStorage>();

  constructor(
    readonly opened: OpenedDatabase,
    readonly registry: PluginRegistry,
    private readonly onChange: () => void = () => {},
    /** Every entity of the build, in load order (default: the core ones and the registry's plugins'). */
    readonly entities: readonly EntityDefinition[] = entityList(coreEntities, registry.values()),
  ) {
    this.db = opened.db;
    const tables = sqliteTables(entities);
    for (const entity of entities) this.storages.set(entity.name, new EntityStorage(entity, tables[entity.name]!));
  }

  private storage(kind: string): EntityStorage {
    const storage = this.storages.get(kind);
    if (!storage) throw new NotFoundError();
    return storage;
  }

  /** Which kinds reference a parent kind, for parent-filtered lists. */
  private parentFilter(kind: string, parent: Parent | undefined): SQL | undefined {
    if (!parent) return undefined;
    const storage = this.storage(kind);
    const column = storage.parentColumn(parent.kind);
    if (!column) throw new NotFoundError();
    return eq(storage.table[column], parent.id);
  }

  // ---- reads -------------------------------------------------------------------------------

  /** Everything as stored: references, not the values they stand for (exports, imports). */
  loadStored(): StateData {
    const state = emptyState(this.entities);
    for (const [name, storage] of this.storages) {
      rowsOf(state, name).push(...this.db.select().from(storage.table).orderBy(sql`rowid`).all().map((row) => storage.fromRow(row)));
    }
    return state;
  }

  /**
   * The state the gateway runs on: references resolved from the environment now, each resolved
   * value checked as a write would check it. A missing variable is an error naming the entity.
   */
  loadAll(): StateData {
    const state = this.loadStored();
    for (const name of this.storages.keys()) {
      const rows = rowsOf(state, name);
      rows.splice(0, rows.length, ...rows.map((entity) => this.resolved(name, entity)));
    }
    return state;
  }

  private resolved(kind: string, entity: Entity): Entity {
    const definition = this.storage(kind).entity;
    try {
      const { value, references } = resolveStored(definition, entity);
      if (references.length === 0) return entity;
      // A PATCH of the resolved fields: the builder checks them as it checks any write.
      const fields = Object.fromEntries(references.map(({ path }) => [path[0], (value as Record<string | number, unknown>)[path[0]!]]));
      this.buildResolved(kind, fields, undefined, value);
      return value;
    } catch (error) {
      if (!(error instanceof GatewayError) || !error.fields) throw error;
      const label = entity.name ?? entity.key ?? entity.id;
      const summary = Object.entries(error.fields).map(([field, why]) => `${field}: ${why}`).join("; ");
      throw new ValidationError(error.fields, `${definition.label} ${quote(label)}: ${summary}`);
    }
  }

  list<K extends Kind>(kind: K, options: { size: number; offset: number; parent?: Parent; where?: SQL }): Page<EntityTypes[K]> {
    const storage = this.storage(kind);
    const filter = and(this.parentFilter(kind, options.parent), options.where);
    const found = this.db
      .select()
      .from(storage.table)
      .where(filter)
      .orderBy(sql`rowid`)
      .limit(options.size + 1)
      .offset(options.offset)
      .all();
    const more = found.length > options.size;
    return {
      data: found.slice(0, options.size).map((row) => storage.fromRow(row) as EntityTypes[K]),
      nextOffset: more ? options.offset + options.size : null,
    };
  }

  count(kind: Kind): number {
    const row = this.db.select({ n: sql<number>`count(*)` }).from(this.storage(kind).table).get();
    return row?.n ?? 0;
  }

  /** Finds by id, or by endpoint key (name, username, key, group, kid), within a parent if given. */
  find<K extends Kind>(kind: K, idOrKey: string, parent?: Parent): EntityTypes[K] | undefined {
    const storage = this.storage(kind);
    const scope = this.parentFilter(kind, parent);
    const candidates = UUID.test(idOrKey) ? ["id", ...storage.entity.endpointKeys] : storage.entity.endpointKeys;
    for (const column of candidates) {
      const row = this.db.select().from(storage.table).where(and(eq(storage.table[column], idOrKey), scope)).get();
      if (row) return storage.fromRow(row) as EntityTypes[K];
    }
    return undefined;
  }

  get<K extends Kind>(kind: K, idOrKey: string, parent?: Parent): EntityTypes[K] {
    const found = this.find(kind, idOrKey, parent);
    if (!found) throw new NotFoundError(`${this.storage(kind).entity.label} ${quote(idOrKey)} not found`);
    return found;
  }

  findConsumer(idOrUsername: string): Consumer | undefined {
    return this.find("consumers", idOrUsername);
  }

  findKey(kid: string): KeyRecord | undefined {
    return this.find("keys", kid);
  }

  // ---- references --------------------------------------------------------------------------

  /** Resolves a Kong-style reference (`"name"`, `{id}`, `{name}`, `{username}`) to an id. */
  resolveRef(kind: Kind, ref: unknown, field: string): string | undefined {
    if (ref === undefined) return undefined;
    if (ref === null) return undefined;
    const value =
      typeof ref === "string"
        ? ref
        : typeof ref === "object"
          ? ((ref as Record<string, string | undefined>).id ??
            (ref as Record<string, string | undefined>).name ??
            (ref as Record<string, string | undefined>).username)
          : undefined;
    if (typeof value !== "string" || !value) throw new ValidationError({ [field]: "must be a reference: {\"id\": ...} or {\"name\": ...}" });
    const found = this.find(kind, value);
    if (!found) throw new ValidationError({ [field]: `no such ${this.storage(kind).entity.label} ${quote(value)}` });
    return found.id;
  }

  // ---- writes ------------------------------------------------------------------------------

  /** Builds an entity for a write; references are resolved to validate and kept to store. */
  private build(kind: string, input: unknown, parent: Parent | undefined, existing?: Entity): Entity {
    return buildWithReferences(this.storage(kind).entity, objectBody(input), existing, (resolved, before) => this.buildResolved(kind, resolved, parent, before));
  }

  private buildResolved(kind: string, input: unknown, parent: Parent | undefined, existing?: Entity): Entity {
    const body = objectBody(input);
    const definition = this.storage(kind).entity;
    // The parent of a nested endpoint wins over a reference in the body.
    const refs: Record<string, string | null | undefined> = {};
    for (const field of definition.referenceFields) {
      const target = definition.fields[field]!.references! as Kind;
      refs[field] = parent?.kind === target ? parent.id : field in body ? (this.resolveRef(target, body[field], field) ?? null) : undefined;
    }
    return definition.build(input, refs, { registry: this.registry, lookup: this, exists: (entity, id) => this.storages.has(entity) && this.find(entity as Kind, id) !== undefined }, existing) as Entity;
  }

  private write<T>(kind: string, entity: Entity, run: () => T): T {
    try {
      const result = run();
      this.onChange();
      return result;
    } catch (error) {
      throw uniqueViolation(error, entity, this.storages.get(kind)) ?? error;
    }
  }

  /** Inserts a fully built entity (used by create and by the keystore). */
  insert<K extends Kind>(kind: K, entity: EntityTypes[K]): EntityTypes[K] {
    const storage = this.storage(kind);
    return this.write(kind, entity, () => {
      this.db.insert(storage.table).values(storage.toRow(entity)).run();
      return entity;
    });
  }

  create<K extends Kind>(kind: K, input: unknown, parent?: Parent): EntityTypes[K] {
    return this.insert(kind, this.build(kind, input, parent) as EntityTypes[K]);
  }

  /** PATCH: merges `input` over the stored entity. */
  update<K extends Kind>(kind: K, idOrKey: string, input: unknown, parent?: Parent): EntityTypes[K] {
    const existing = this.get(kind, idOrKey, parent);
    const entity = this.build(kind, input, parent, existing) as EntityTypes[K];
    return this.replaceRow(kind, entity);
  }

  /** Writes a built entity over the row with the same id. */
  replaceRow<K extends Kind>(kind: K, entity: EntityTypes[K]): EntityTypes[K] {
    const storage = this.storage(kind);
    return this.write(kind, entity, () => {
      this.db.update(storage.table).set(storage.toRow(entity)).where(eq(storage.table.id, entity.id)).run();
      return entity;
    });
  }

  /**
   * PUT: creates or replaces. An endpoint key in the URL that is not a UUID becomes the entity's
   * name (username, key, group), as in Kong.
   */
  upsert<K extends Kind>(kind: K, idOrKey: string, input: unknown, parent?: Parent): { entity: EntityTypes[K]; created: boolean } {
    const existing = this.find(kind, idOrKey, parent);
    const body = { ...objectBody(input) };
    const keyField = this.storage(kind).entity.endpointKeys[0];
    if (UUID.test(idOrKey)) body.id = idOrKey;
    else if (keyField && body[keyField] === undefined) body[keyField] = idOrKey;
    if (existing) {
      if (body.id !== undefined && body.id !== existing.id) throw new ValidationError({ id: "cannot be changed" });
      body.id = existing.id;
    }
    const built = this.build(kind, body, parent) as EntityTypes[K];
    if (!existing) return { entity: this.insert(kind, built), created: true };
    return { entity: this.replaceRow(kind, { ...built, created_at: existing.created_at }), created: false };
  }

  /**
   * Deletes one entity. Rows that reference it with `onDelete: "cascade"` go with it (foreign
   * keys); other references (a service's routes) refuse the delete unless `cascade`.
   */
  delete(kind: Kind, idOrKey: string, options: { parent?: Parent; cascade?: boolean } = {}): void {
    const entity = this.get(kind, idOrKey, options.parent);
    const storage = this.storage(kind);
    const run = this.opened.sqlite.transaction(() => {
      for (const child of this.storages.values()) {
        for (const field of child.entity.referenceFields) {
          const definition = child.entity.fields[field]!;
          if (definition.references !== kind || definition.onDelete === "cascade") continue;
          const column = child.table[columnOf(field, definition)];
          const count = this.db.select({ n: sql<number>`count(*)` }).from(child.table).where(eq(column, entity.id)).get()?.n ?? 0;
          if (count > 0 && !options.cascade) {
            const orCascade = storage.entity.admin?.delete?.cascade ? " or pass ?cascade=true" : "";
            throw new ConflictError(`${storage.entity.label} ${quote(idOrKey)} still has ${count} ${child.entity.label}(s); delete them first${orCascade}`);
          }
          this.db.delete(child.table).where(eq(column, entity.id)).run();
        }
      }
      this.refuseListed(kind, entity.id);
      this.db.delete(storage.table).where(eq(storage.table.id, entity.id)).run();
    });
    this.write(kind, entity, () => run());
  }

  /** Refuses to delete an entity another one lists by id (`listOf`), naming the first that does (Kong's words). */
  private refuseListed(kind: string, id: string): void {
    const label = this.storage(kind).entity.label.replaceAll("_", " ");
    for (const other of this.storages.values()) {
      for (const field of other.entity.listFields) {
        if (other.entity.fields[field]!.listOf !== kind) continue;
        const column = other.table[columnOf(field, other.entity.fields[field]!)];
        const holder = this.db
          .select({ id: other.table.id })
          .from(other.table)
          .where(sql`EXISTS (SELECT 1 FROM json_each(${column}) WHERE json_each.value = ${id})`)
          .limit(1)
          .get();
        if (holder) throw new ConflictError(`${label} ${id} is still referenced by ${other.entity.name} (id = ${holder.id})`);
      }
    }
  }

  /** Replaces the whole state in one transaction: everything lands, or nothing changes. */
  replaceAll(state: StateData): void {
    // Referencing entities are deleted before, and inserted after, those they reference.
    const order = loadOrder(this.entities).map((entity) => this.storage(entity.name));
    const run = this.opened.sqlite.transaction(() => {
      for (const storage of [...order].reverse()) this.db.delete(storage.table).run();
      for (const storage of order) {
        for (const entity of rowsOf(state, storage.entity.name)) {
          try {
            this.db.insert(storage.table).values(storage.toRow(entity)).run();
          } catch (error) {
            throw uniqueViolation(error, entity, storage) ?? error;
          }
        }
      }
    });
    run();
    this.onChange();
  }
}
