// The SQLite tables, derived from the entity definitions: a field's storage kind picks its
// column (text, integer, boolean as integer, JSON as text, a reference as `<field>_id` with its
// foreign key), unique fields and combinations get unique indexes, and every table ends with
// created_at, updated_at and tags. A PostgreSQL dialect builds the same shape with pgTable.
// Uniqueness that involves NULLs (plugin scope) goes through a computed column such as
// `scope_key`, because SQLite treats NULLs as distinct. drizzle-kit reads the full list through
// drizzle.schema.ts.
import { sql } from "drizzle-orm";
import {
  type SQLiteColumnBuilderBase,
  type SQLiteTableWithColumns,
  index,
  primaryKey,
  integer,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";
import type { EntityDefinition, FieldDefinition } from "../entities/definition.ts";
import { coreEntities } from "../entities/index.ts";

export type EntityTable = SQLiteTableWithColumns<any>;

/** The column a field is stored in. */
export const columnOf = (name: string, field: FieldDefinition): string => (field.storage === "reference" ? `${name}_id` : name);

const acceptsNull = (schema: unknown): boolean =>
  typeof schema === "object" && schema !== null && Array.isArray((schema as { anyOf?: unknown[] }).anyOf) && (schema as { anyOf: { type?: string }[] }).anyOf.some((variant) => variant.type === "null");

function column(name: string, field: FieldDefinition, tableOf: (entity: string) => EntityTable): SQLiteColumnBuilderBase {
  const columnName = columnOf(name, field);
  let built: any;
  switch (field.storage) {
    case "text":
      built = text(columnName);
      break;
    case "integer":
      built = integer(columnName);
      break;
    case "boolean":
      built = integer(columnName, { mode: "boolean" });
      break;
    case "json":
      built = text(columnName, { mode: "json" });
      break;
    case "reference":
      built = text(columnName).references(() => tableOf(field.references!).id, field.onDelete ? { onDelete: field.onDelete } : {});
      break;
    default:
      throw new Error(`field ${name} is not stored`);
  }
  if (!(field.nullable ?? acceptsNull(field.output))) built = built.notNull();
  if (field.unique) built = built.unique();
  return built;
}

const tables = new WeakMap<EntityDefinition, EntityTable>();

function tableFor(entity: EntityDefinition, tableOf: (entity: string) => EntityTable): EntityTable {
  const stored = Object.entries(entity.fields).filter(([, field]) => field.storage);
  const columns: Record<string, SQLiteColumnBuilderBase> = { id: text("id").primaryKey() };
  for (const [name, field] of stored) columns[columnOf(name, field)] = column(name, field, tableOf);
  for (const name of Object.keys(entity.computed ?? {})) columns[name] = text(name).notNull().unique();
  columns.created_at = integer("created_at").notNull();
  columns.updated_at = integer("updated_at").notNull();
  columns.tags = text("tags", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`);
  const columnName = (field: string) => columnOf(field, entity.fields[field]!);
  return sqliteTable(entity.name, columns, (table: Record<string, any>) => [
    ...stored.filter(([, field]) => field.index).map(([name]) => index(`${entity.name}_${name}_idx`).on(table[columnName(name)])),
    ...(entity.uniques ?? []).map((fields) => {
      const [first, ...rest] = fields.map((field) => table[columnName(field)]);
      return uniqueIndex(`${entity.name}_${fields.join("_")}_idx`).on(first, ...rest);
    }),
  ]) as EntityTable;
}

/** The table of each entity of the list, by entity name; one table object per definition. */
export function sqliteTables(entities: readonly EntityDefinition[]): Readonly<Record<string, EntityTable>> {
  const byName: Record<string, EntityTable> = {};
  const tableOf = (name: string) => {
    const table = byName[name];
    if (!table) throw new Error(`no table for entity ${name}`);
    return table;
  };
  for (const entity of entities) {
    let table = tables.get(entity);
    if (!table) tables.set(entity, (table = tableFor(entity, tableOf)));
    byName[entity.name] = table;
  }
  return byName;
}

/** The keystore's table, which key rotation queries directly. */
export const keys = sqliteTables(coreEntities).keys!;

/**
 * rate-limiting's `cluster` counters (Kong's ratelimiting_metrics): one row per scope (the
 * plugin's route|service, as Kong keys them), identifier, period and window start. Not an
 * entity: never served by the admin API, exported or loaded into state; rows of past windows
 * are deleted by the plugin (`expires_at`).
 */
export const rateLimitingCounters = sqliteTable(
  "rate_limiting_counters",
  {
    scope: text("scope").notNull(),
    identifier: text("identifier").notNull(),
    period: text("period").notNull(),
    period_start: integer("period_start").notNull(),
    value: integer("value").notNull(),
    expires_at: integer("expires_at").notNull(),
  },
  (table) => [primaryKey({ columns: [table.scope, table.identifier, table.period, table.period_start] }), index("rate_limiting_counters_expires_at_idx").on(table.expires_at)],
);
