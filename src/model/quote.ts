// Moved to src/entities/quote.ts; this path is kept for the modules that still import it.
export * from "../entities/quote.ts";
