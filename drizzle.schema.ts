// What drizzle-kit diffs against drizzle/ (see drizzle.config.ts): the SQLite table of every
// entity this build stores, the core ones and those of the shipped plugins, each derived from
// its definition by src/db/schema.ts. It lives outside src/ because it names the plugins, as
// only the composition root may; it is CommonJS so the tables need no hand-written names.
import { builtinPlugins } from "./plugins/index.ts";
import { rateLimitingCounters, sqliteTables } from "./src/db/schema.ts";
import { coreEntities, entityList } from "./src/entities/index.ts";

module.exports = { ...sqliteTables(entityList(coreEntities, builtinPlugins.values())), rateLimitingCounters };
