// Moved to src/entities/common.ts; this path is kept for the modules that still import it.
export * from "../entities/common.ts";
