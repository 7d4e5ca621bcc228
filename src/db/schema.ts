// Drizzle tables: the SQLite shape of every entity of SPEC §3. Columns mirror the TypeBox models
// in src/model; arrays and objects are JSON text. Uniqueness that involves NULLs (plugin scope)
// goes through a computed `scope_key` column because SQLite treats NULLs as distinct.
import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

const timestamps = {
  created_at: integer("created_at").notNull(),
  updated_at: integer("updated_at").notNull(),
  tags: text("tags", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
};

export const services = sqliteTable("services", {
  id: text("id").primaryKey(),
  name: text("name").unique(),
  protocol: text("protocol").notNull(),
  host: text("host").notNull(),
  port: integer("port").notNull(),
  path: text("path"),
  connect_timeout: integer("connect_timeout").notNull(),
  read_timeout: integer("read_timeout").notNull(),
  write_timeout: integer("write_timeout").notNull(),
  retries: integer("retries").notNull(),
  enabled: integer("enabled", { mode: "boolean" }).notNull(),
  ...timestamps,
});

export const routes = sqliteTable(
  "routes",
  {
    id: text("id").primaryKey(),
    name: text("name").unique(),
    service_id: text("service_id").references(() => services.id),
    paths: text("paths", { mode: "json" }).$type<string[] | null>(),
    hosts: text("hosts", { mode: "json" }).$type<string[] | null>(),
    methods: text("methods", { mode: "json" }).$type<string[] | null>(),
    strip_path: integer("strip_path", { mode: "boolean" }).notNull(),
    preserve_host: integer("preserve_host", { mode: "boolean" }).notNull(),
    regex_priority: integer("regex_priority").notNull(),
    protocols: text("protocols", { mode: "json" }).$type<string[]>().notNull(),
    ...timestamps,
  },
  (table) => [index("routes_service_idx").on(table.service_id)],
);

export const consumers = sqliteTable("consumers", {
  id: text("id").primaryKey(),
  username: text("username").unique(),
  custom_id: text("custom_id").unique(),
  ...timestamps,
});

export const jwtSecrets = sqliteTable(
  "jwt_secrets",
  {
    id: text("id").primaryKey(),
    consumer_id: text("consumer_id")
      .notNull()
      .references(() => consumers.id, { onDelete: "cascade" }),
    key: text("key").notNull().unique(),
    algorithm: text("algorithm").notNull(),
    secret: text("secret"),
    rsa_public_key: text("rsa_public_key"),
    jwks_uri: text("jwks_uri"),
    jwks_cache_ttl: integer("jwks_cache_ttl").notNull(),
    algorithms: text("algorithms", { mode: "json" }).$type<string[] | null>(),
    ...timestamps,
  },
  (table) => [index("jwt_secrets_consumer_idx").on(table.consumer_id)],
);

export const acls = sqliteTable(
  "acls",
  {
    id: text("id").primaryKey(),
    consumer_id: text("consumer_id")
      .notNull()
      .references(() => consumers.id, { onDelete: "cascade" }),
    group: text("group").notNull(),
    ...timestamps,
  },
  (table) => [uniqueIndex("acls_consumer_group_idx").on(table.consumer_id, table.group)],
);

export const plugins = sqliteTable("plugins", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  config: text("config", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
  enabled: integer("enabled", { mode: "boolean" }).notNull(),
  service_id: text("service_id").references(() => services.id, { onDelete: "cascade" }),
  route_id: text("route_id").references(() => routes.id, { onDelete: "cascade" }),
  consumer_id: text("consumer_id").references(() => consumers.id, { onDelete: "cascade" }),
  scope_key: text("scope_key").notNull().unique(),
  ...timestamps,
});

export const keys = sqliteTable("keys", {
  id: text("id").primaryKey(),
  kid: text("kid").notNull().unique(),
  alg: text("alg").notNull(),
  status: text("status").notNull(),
  public_jwk: text("public_jwk", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
  private_jwk: text("private_jwk", { mode: "json" }).$type<Record<string, unknown> | null>(),
  retire_after: integer("retire_after"),
  ...timestamps,
});
