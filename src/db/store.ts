// Reads and writes entities: the only module that talks to the tables. Every write is
// validated in full before it touches the database, so a rejected write changes nothing, and
// each successful write calls `onChange` so the running gateway rebuilds its snapshot. Rows hold
// env vault references as written; `loadAll` resolves them for the running state only.
import { SQLiteError } from "bun:sqlite";
import { and, eq, sql, type SQL } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import { ConflictError, GatewayError, NotFoundError, ValidationError } from "../errors.ts";
import { type Acl, buildAcl } from "../model/acl.ts";
import { type Consumer, buildConsumer } from "../model/consumer.ts";
import { type JwtCredential, buildJwtCredential } from "../model/jwt-credential.ts";
import type { KeyRecord } from "../model/key.ts";
import { type Plugin, type PluginScope, buildPlugin } from "../model/plugin.ts";
import { clip, quote } from "../model/quote.ts";
import { buildWithReferences, resolveStored } from "../model/references.ts";
import { type Route, buildRoute } from "../model/route.ts";
import { type Service, buildService } from "../model/service.ts";
import type { EntityLookup } from "../pipeline/contract.ts";
import type { PluginRegistry } from "../pipeline/registry.ts";
import { type StateData, emptyState } from "../state/data.ts";
import type { OpenedDatabase } from "./connection.ts";
import * as rows from "./rows.ts";
import * as schema from "./schema.ts";

export interface EntityTypes {
  services: Service;
  routes: Route;
  consumers: Consumer;
  jwt_secrets: JwtCredential;
  acls: Acl;
  plugins: Plugin;
  keys: KeyRecord;
}
export type Kind = keyof EntityTypes;

/** A parent in a nested endpoint, e.g. the consumer of `/consumers/{c}/jwt`. */
export interface Parent {
  kind: "services" | "routes" | "consumers";
  id: string;
}

export interface Page<T> {
  data: T[];
  nextOffset: number | null;
}

interface KindSpec {
  table: SQLiteTable & Record<string, any>;
  label: string;
  /** Columns that identify an entity besides its id (Kong's endpoint key). */
  endpointKeys: string[];
  toRow(entity: any): any;
  fromRow(row: any): any;
}

const SPECS: Record<Kind, KindSpec> = {
  services: { table: schema.services, label: "service", endpointKeys: ["name"], toRow: rows.serviceRow, fromRow: rows.serviceFromRow },
  routes: { table: schema.routes, label: "route", endpointKeys: ["name"], toRow: rows.routeRow, fromRow: rows.routeFromRow },
  consumers: { table: schema.consumers, label: "consumer", endpointKeys: ["username", "custom_id"], toRow: rows.consumerRow, fromRow: rows.consumerFromRow },
  jwt_secrets: { table: schema.jwtSecrets, label: "jwt credential", endpointKeys: ["key"], toRow: rows.jwtRow, fromRow: rows.jwtFromRow },
  acls: { table: schema.acls, label: "acl", endpointKeys: ["group"], toRow: rows.aclRow, fromRow: rows.aclFromRow },
  plugins: { table: schema.plugins, label: "plugin", endpointKeys: [], toRow: rows.pluginRow, fromRow: rows.pluginFromRow },
  keys: { table: schema.keys, label: "key", endpointKeys: ["kid"], toRow: rows.keyRow, fromRow: rows.keyFromRow },
};

const PARENT_COLUMN: Record<Parent["kind"], string> = { services: "service_id", routes: "route_id", consumers: "consumer_id" };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Which kinds reference a parent kind, for parent-filtered lists. */
function parentFilter(kind: Kind, parent: Parent | undefined): SQL | undefined {
  if (!parent) return undefined;
  const column = SPECS[kind].table[PARENT_COLUMN[parent.kind]];
  if (!column) throw new NotFoundError();
  return eq(column, parent.id);
}

function uniqueViolation(error: unknown, entity: Record<string, unknown>): ConflictError | undefined {
  if (!(error instanceof SQLiteError) || !String(error.code).startsWith("SQLITE_CONSTRAINT")) return undefined;
  if (String(error.code) === "SQLITE_CONSTRAINT_FOREIGNKEY") {
    return new ConflictError("the entity is still referenced by, or refers to, an entity that does not allow this change");
  }
  const columns = (/constraint failed: (.*)$/.exec(error.message)?.[1] ?? "")
    .split(",")
    .map((c) => c.trim().split(".")[1] ?? "")
    .filter(Boolean);
  const shown = columns.map((c) => {
    if (c === "scope_key") return `name=${JSON.stringify(clip(String(entity.name)))} at this scope`;
    if (c.endsWith("_id")) {
      const refName = c.slice(0, -3);
      return `${refName}=${JSON.stringify((entity[refName] as { id?: string } | null)?.id ?? null)}`;
    }
    return `${c}=${JSON.stringify(clip(String(entity[c])))}`;
  });
  const fields = Object.fromEntries(columns.map((c) => [c === "scope_key" ? "name" : c.replace(/_id$/, ""), "already exists"]));
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

  constructor(
    readonly opened: OpenedDatabase,
    readonly registry: PluginRegistry,
    private readonly onChange: () => void = () => {},
  ) {
    this.db = opened.db;
  }

  // ---- reads -------------------------------------------------------------------------------

  /** Everything as stored: references, not the values they stand for (exports, imports). */
  loadStored(): StateData {
    const state = emptyState();
    for (const kind of Object.keys(SPECS) as Kind[]) {
      const spec = SPECS[kind];
      (state[kind] as unknown[]) = this.db.select().from(spec.table).orderBy(sql`rowid`).all().map(spec.fromRow);
    }
    return state;
  }

  /**
   * The state the gateway runs on: references resolved from the environment now, each resolved
   * value checked as a write would check it. A missing variable is an error naming the entity.
   */
  loadAll(): StateData {
    const state = this.loadStored();
    for (const kind of Object.keys(SPECS) as Kind[]) {
      (state[kind] as unknown[]) = (state[kind] as EntityTypes[Kind][]).map((entity) => this.resolved(kind, entity));
    }
    return state;
  }

  private resolved<K extends Kind>(kind: K, entity: EntityTypes[K]): EntityTypes[K] {
    try {
      const { value, references } = resolveStored(kind, entity);
      if (references.length === 0) return entity;
      // A PATCH of the resolved fields: the builder checks them as it checks any write.
      const fields = Object.fromEntries(references.map(({ path }) => [path[0], (value as Record<string | number, unknown>)[path[0]!]]));
      this.buildResolved(kind, fields, undefined, value);
      return value;
    } catch (error) {
      if (!(error instanceof GatewayError) || !error.fields) throw error;
      const label = (entity as { name?: unknown }).name ?? (entity as { key?: unknown }).key ?? entity.id;
      const summary = Object.entries(error.fields).map(([field, why]) => `${field}: ${why}`).join("; ");
      throw new ValidationError(error.fields, `${SPECS[kind].label} ${quote(label)}: ${summary}`);
    }
  }

  list<K extends Kind>(kind: K, options: { size: number; offset: number; parent?: Parent; where?: SQL }): Page<EntityTypes[K]> {
    const spec = SPECS[kind];
    const filter = and(parentFilter(kind, options.parent), options.where);
    const found = this.db
      .select()
      .from(spec.table)
      .where(filter)
      .orderBy(sql`rowid`)
      .limit(options.size + 1)
      .offset(options.offset)
      .all();
    const more = found.length > options.size;
    return {
      data: found.slice(0, options.size).map(spec.fromRow),
      nextOffset: more ? options.offset + options.size : null,
    };
  }

  count(kind: Kind): number {
    const row = this.db.select({ n: sql<number>`count(*)` }).from(SPECS[kind].table).get();
    return row?.n ?? 0;
  }

  /** Finds by id, or by endpoint key (name, username, key, group, kid), within a parent if given. */
  find<K extends Kind>(kind: K, idOrKey: string, parent?: Parent): EntityTypes[K] | undefined {
    const spec = SPECS[kind];
    const scope = parentFilter(kind, parent);
    const candidates = UUID.test(idOrKey) ? ["id", ...spec.endpointKeys] : spec.endpointKeys;
    for (const column of candidates) {
      const row = this.db.select().from(spec.table).where(and(eq(spec.table[column], idOrKey), scope)).get();
      if (row) return spec.fromRow(row);
    }
    return undefined;
  }

  get<K extends Kind>(kind: K, idOrKey: string, parent?: Parent): EntityTypes[K] {
    const found = this.find(kind, idOrKey, parent);
    if (!found) throw new NotFoundError(`${SPECS[kind].label} ${quote(idOrKey)} not found`);
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
  resolveRef(kind: "services" | "routes" | "consumers", ref: unknown, field: string): string | undefined {
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
    if (!found) throw new ValidationError({ [field]: `no such ${SPECS[kind].label} ${quote(value)}` });
    return found.id;
  }

  // ---- writes ------------------------------------------------------------------------------

  /** Builds an entity for a write; references are resolved to validate and kept to store. */
  private build<K extends Kind>(kind: K, input: unknown, parent: Parent | undefined, existing?: EntityTypes[K]): EntityTypes[K] {
    return buildWithReferences(kind, objectBody(input), existing, (resolved, before) => this.buildResolved(kind, resolved, parent, before));
  }

  private buildResolved<K extends Kind>(kind: K, input: unknown, parent: Parent | undefined, existing?: EntityTypes[K]): EntityTypes[K] {
    const body = objectBody(input);
    const refOr = (refKind: Parent["kind"], field: string) =>
      parent?.kind === refKind ? parent.id : this.resolveRef(refKind, body[field], field);
    switch (kind) {
      case "services":
        return buildService(input, existing as Service | undefined) as EntityTypes[K];
      case "routes":
        return buildRoute(input, refOr("services", "service"), existing as Route | undefined) as EntityTypes[K];
      case "consumers":
        return buildConsumer(input, existing as Consumer | undefined) as EntityTypes[K];
      case "jwt_secrets":
        return buildJwtCredential(input, refOr("consumers", "consumer"), existing as JwtCredential | undefined) as EntityTypes[K];
      case "acls":
        return buildAcl(input, refOr("consumers", "consumer"), existing as Acl | undefined) as EntityTypes[K];
      case "plugins": {
        const scope: Partial<PluginScope> = {};
        for (const [refKind, field] of [["services", "service"], ["routes", "route"], ["consumers", "consumer"]] as const) {
          if (parent?.kind === refKind) scope[field] = parent.id;
          else if (field in body) scope[field] = this.resolveRef(refKind, body[field], field) ?? null;
        }
        return buildPlugin(input, scope, this.registry, this, existing as Plugin | undefined) as EntityTypes[K];
      }
      case "keys":
        throw new ValidationError({ "@entity": "keys are created by the keystore" });
    }
    throw new Error(`unknown kind ${kind}`);
  }

  private write<T>(entity: Record<string, unknown>, run: () => T): T {
    try {
      const result = run();
      this.onChange();
      return result;
    } catch (error) {
      throw uniqueViolation(error, entity) ?? error;
    }
  }

  /** Inserts a fully built entity (used by create and by the keystore). */
  insert<K extends Kind>(kind: K, entity: EntityTypes[K]): EntityTypes[K] {
    const spec = SPECS[kind];
    return this.write(entity as Record<string, unknown>, () => {
      this.db.insert(spec.table).values(spec.toRow(entity)).run();
      return entity;
    });
  }

  create<K extends Kind>(kind: K, input: unknown, parent?: Parent): EntityTypes[K] {
    return this.insert(kind, this.build(kind, input, parent));
  }

  /** PATCH: merges `input` over the stored entity. */
  update<K extends Kind>(kind: K, idOrKey: string, input: unknown, parent?: Parent): EntityTypes[K] {
    const existing = this.get(kind, idOrKey, parent);
    const entity = this.build(kind, input, parent, existing);
    return this.replaceRow(kind, entity);
  }

  /** Writes a built entity over the row with the same id. */
  replaceRow<K extends Kind>(kind: K, entity: EntityTypes[K]): EntityTypes[K] {
    const spec = SPECS[kind];
    return this.write(entity as Record<string, unknown>, () => {
      this.db.update(spec.table).set(spec.toRow(entity)).where(eq(spec.table.id, entity.id)).run();
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
    const keyField = SPECS[kind].endpointKeys[0];
    if (UUID.test(idOrKey)) body.id = idOrKey;
    else if (keyField && body[keyField] === undefined) body[keyField] = idOrKey;
    if (existing) {
      if (body.id !== undefined && body.id !== existing.id) throw new ValidationError({ id: "cannot be changed" });
      body.id = existing.id;
    }
    const built = this.build(kind, body, parent);
    if (!existing) return { entity: this.insert(kind, built), created: true };
    return { entity: this.replaceRow(kind, { ...built, created_at: existing.created_at }), created: false };
  }

  delete(kind: Kind, idOrKey: string, options: { parent?: Parent; cascade?: boolean } = {}): void {
    const entity = this.get(kind, idOrKey, options.parent);
    const spec = SPECS[kind];
    const run = this.opened.sqlite.transaction(() => {
      if (kind === "services") {
        const routeCount = this.db.select({ n: sql<number>`count(*)` }).from(schema.routes).where(eq(schema.routes.service_id, entity.id)).get()?.n ?? 0;
        if (routeCount > 0 && !options.cascade) {
          throw new ConflictError(`service ${quote(idOrKey)} still has ${routeCount} route(s); delete them first or pass ?cascade=true`);
        }
        this.db.delete(schema.routes).where(eq(schema.routes.service_id, entity.id)).run();
      }
      this.db.delete(spec.table).where(eq(spec.table.id, entity.id)).run();
    });
    this.write(entity as Record<string, unknown>, () => run());
  }

  /** Replaces the whole state in one transaction: everything lands, or nothing changes. */
  replaceAll(state: StateData): void {
    const order: Kind[] = ["plugins", "acls", "jwt_secrets", "routes", "services", "consumers", "keys"];
    const run = this.opened.sqlite.transaction(() => {
      for (const kind of order) this.db.delete(SPECS[kind].table).run();
      for (const kind of [...order].reverse()) {
        const spec = SPECS[kind];
        for (const entity of state[kind] as Record<string, unknown>[]) {
          try {
            this.db.insert(spec.table).values(spec.toRow(entity)).run();
          } catch (error) {
            throw uniqueViolation(error, entity) ?? error;
          }
        }
      }
    });
    run();
    this.onChange();
  }
}
