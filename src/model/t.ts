// Moved to src/entities/t.ts; this path is kept for the modules that still import it.
export * from "../entities/t.ts";
