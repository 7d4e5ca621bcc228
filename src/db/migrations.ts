// Migrations embedded in the binary: drizzle's own migrator reads drizzle/meta from disk, which
// does not exist next to a compiled executable. Each generated .sql file is imported as text and
// applied in journal order inside one transaction, recorded in drizzle's own bookkeeping table
// so `drizzle-kit` and this code agree on what has been applied.
import type { Database } from "bun:sqlite";
import journal from "../../drizzle/meta/_journal.json" with { type: "json" };
import init from "../../drizzle/0000_init.sql" with { type: "text" };
import rateLimitingCounters from "../../drizzle/0001_rate_limiting_counters.sql" with { type: "text" };
import keyAuthBasicAuth from "../../drizzle/0002_key_auth_basic_auth.sql" with { type: "text" };
import upstreamsTargets from "../../drizzle/0003_upstreams_targets.sql" with { type: "text" };
// Generated, then given DEFAULTs by hand: SQLite adds a NOT NULL column to a table with rows only with one.
import kongFields from "../../drizzle/0004_kong_fields.sql" with { type: "text" };
// Generated, then given a DEFAULT by hand (https_redirect_status_code): SQLite adds a NOT NULL column to a table with rows only with one.
import tlsCertificates from "../../drizzle/0005_tls_certificates.sql" with { type: "text" };
import serviceTls from "../../drizzle/0006_service_tls.sql" with { type: "text" };

/** Every migration file, by journal tag. A test checks this matches the drizzle/ folder. */
export const embeddedMigrations: Record<string, string> = {
  "0000_init": init,
  "0001_rate_limiting_counters": rateLimitingCounters,
  "0002_key_auth_basic_auth": keyAuthBasicAuth,
  "0003_upstreams_targets": upstreamsTargets,
  "0004_kong_fields": kongFields,
  "0005_tls_certificates": tlsCertificates,
  "0006_service_tls": serviceTls,
};

export interface MigrationReport {
  applied: string[];
  alreadyApplied: number;
}

export function applyMigrations(db: Database): MigrationReport {
  db.run(
    `CREATE TABLE IF NOT EXISTS "__drizzle_migrations" (id INTEGER PRIMARY KEY AUTOINCREMENT, hash text NOT NULL, created_at numeric)`,
  );
  const done = new Set(
    db.query<{ hash: string }, []>(`SELECT hash FROM "__drizzle_migrations"`).all().map((row) => row.hash),
  );
  const applied: string[] = [];
  const run = db.transaction(() => {
    for (const entry of journal.entries) {
      const sqlText = embeddedMigrations[entry.tag];
      if (sqlText === undefined) throw new Error(`migration ${entry.tag} is not embedded`);
      const hash = new Bun.CryptoHasher("sha256").update(sqlText).digest("hex");
      if (done.has(hash)) continue;
      for (const statement of sqlText.split("--> statement-breakpoint")) {
        if (statement.trim()) db.run(statement);
      }
      db.run(`INSERT INTO "__drizzle_migrations" (hash, created_at) VALUES (?, ?)`, [hash, entry.when]);
      applied.push(entry.tag);
    }
  });
  run();
  return { applied, alreadyApplied: done.size };
}
