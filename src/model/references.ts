// Moved to src/entities/references.ts.
export * from "../entities/references.ts";
