// `gateway migrate`: applies the migrations embedded in the binary to a database file and says
// what it did (serve does the same silently at start).
import { openDatabase } from "../db/connection.ts";
import { describeError } from "../errors.ts";
import { type Command, flagOrEnv, helpRequested, parseFlags } from "./command.ts";

const usage = `Usage: gateway migrate [--db FILE]

Creates or upgrades the database schema with the migrations built into this binary.

  --db FILE   SQLite database (default ./gateway.db; env GATEWAY_DB); created if missing
`;

export const migrateCommand: Command = {
  name: "migrate",
  summary: "apply database migrations",
  usage,
  async run(argv) {
    const { values } = parseFlags(argv, { db: { type: "string" } });
    if (helpRequested(values, usage)) return 0;
    const path = flagOrEnv(values.db, "db", "./gateway.db")!;
    let opened: ReturnType<typeof openDatabase>;
    try {
      opened = openDatabase(path);
    } catch (error) {
      throw new Error(`cannot migrate ${path}: ${describeError(error)}`);
    }
    opened.sqlite.close();
    const { applied, alreadyApplied } = opened.migrations;
    const before = alreadyApplied ? `; ${alreadyApplied} already applied` : "";
    process.stdout.write(
      applied.length
        ? `${path}: applied ${applied.length} migration${applied.length === 1 ? "" : "s"} (${applied.join(", ")})${before}\n`
        : `${path}: up to date (${alreadyApplied} migration${alreadyApplied === 1 ? "" : "s"} already applied)\n`,
    );
    return 0;
  },
};
