import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  // Every entity's table, derived from the entity definitions (core and plugin-owned).
  schema: "./drizzle.schema.ts",
  out: "./drizzle",
});
