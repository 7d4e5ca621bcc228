// Which commits changed the configuration. SQLite's `data_version` moves on any commit by another
// connection, rate-limiting counters included; a trigger on every entity table bumps one row
// here, so a watching gateway rebuilds its snapshot for configuration changes only. The triggers
// live in the database file, so every process writing it bumps the version, whatever it is.
import type { Database } from "bun:sqlite";

const TABLE = "gateway_config_version";

/** Creates the version row and one trigger per entity table and write kind (idempotent). */
export function installConfigVersion(sqlite: Database, tables: readonly string[]): void {
  sqlite.run(`CREATE TABLE IF NOT EXISTS ${TABLE} (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)`);
  sqlite.run(`INSERT OR IGNORE INTO ${TABLE} (id, version) VALUES (1, 0)`);
  for (const table of tables) {
    for (const write of ["insert", "update", "delete"]) {
      sqlite.run(`CREATE TRIGGER IF NOT EXISTS ${TABLE}_${table}_${write} AFTER ${write.toUpperCase()} ON "${table}" BEGIN UPDATE ${TABLE} SET version = version + 1 WHERE id = 1; END`);
    }
  }
}

/** The configuration's version: moves with every write to an entity table, by any process. */
export function configVersionReader(sqlite: Database): () => number {
  const query = sqlite.query<{ version: number }, []>(`SELECT version FROM ${TABLE} WHERE id = 1`);
  return () => query.get()?.version ?? 0;
}
