// Opens the SQLite database with the settings every process sharing the file must agree on.
import { Database } from "bun:sqlite";
import { type BunSQLiteDatabase, drizzle } from "drizzle-orm/bun-sqlite";
import { applyMigrations, type MigrationReport } from "./migrations.ts";

/** Queries go through the tables derived from the entity list (src/db/schema.ts), not a fixed schema. */
export type Drizzle = BunSQLiteDatabase;

export interface OpenedDatabase {
  sqlite: Database;
  db: Drizzle;
  migrations: MigrationReport;
}

export const MEMORY = ":memory:";

export function openDatabase(path: string): OpenedDatabase {
  const sqlite = new Database(path, { create: true, strict: true });
  if (path !== MEMORY) sqlite.run("PRAGMA journal_mode = WAL");
  sqlite.run("PRAGMA foreign_keys = ON");
  sqlite.run("PRAGMA busy_timeout = 5000");
  sqlite.run("PRAGMA synchronous = NORMAL");
  const migrations = applyMigrations(sqlite);
  return { sqlite, db: drizzle(sqlite), migrations };
}
