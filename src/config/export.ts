// Writes the state back out in the declarative format: each entity that belongs to one parent
// (a route to its service, a credential to its consumer) nested under it, every other entity at
// top level with its references as ids. Private fields (a key's private half) only on request.
import YAML from "yaml";
import type { EntityDefinition } from "../entities/definition.ts";
import { coreEntities } from "../entities/index.ts";
import { type StateData, entitiesOfState, rowsOf } from "../state/data.ts";

export interface ExportOptions {
  format: "yaml" | "json";
  includePrivateKeys?: boolean;
  /** Every entity of the build (default: those the state was made for). */
  entities?: readonly EntityDefinition[];
}

type Entry = Record<string, unknown>;
const WRITTEN_BY_GATEWAY = new Set(["created_at", "updated_at"]);

/** The parent an entity is written under: the target of a required reference it may be nested in. */
function nestingOf(entity: EntityDefinition): { field: string; parent: string } | undefined {
  for (const field of entity.referenceFields) {
    const definition = entity.fields[field]!;
    const required = !JSON.stringify(definition.output).includes('"null"');
    if (required && entity.declarative.nestedUnder?.includes(definition.references!)) return { field, parent: definition.references! };
  }
  return undefined;
}

function exported(entity: EntityDefinition, record: Entry, includePrivate: boolean, skip?: string): Entry {
  const out: Entry = {};
  for (const [key, value] of Object.entries(record)) {
    if (value === null || WRITTEN_BY_GATEWAY.has(key) || key === skip) continue;
    const field = entity.fields[key];
    if (field?.private && !includePrivate) continue;
    out[key] = field?.storage === "reference" ? (value as { id: string }).id : value;
  }
  return entity.declarative.exported ? entity.declarative.exported(out, includePrivate) : out;
}

export function exportDocument(data: StateData, options: Pick<ExportOptions, "includePrivateKeys" | "entities"> = {}): Record<string, unknown> {
  const entities = options.entities ?? entitiesOfState(data) ?? coreEntities;
  const includePrivate = options.includePrivateKeys === true;
  const document: Record<string, unknown> = { _format_version: "3.0" };
  const entry = (entity: EntityDefinition, record: Entry, skip?: string): Entry => {
    const out = exported(entity, record, includePrivate, skip);
    for (const child of entities) {
      const nesting = nestingOf(child);
      if (nesting?.parent !== entity.name) continue;
      out[child.name] = rowsOf(data, child.name)
        .filter((row) => (row[nesting.field] as { id: string }).id === record.id)
        .map((row) => entry(child, row, nesting.field));
    }
    return out;
  };
  for (const entity of entities) if (!nestingOf(entity)) document[entity.name] = rowsOf(data, entity.name).map((record) => entry(entity, record));
  return document;
}

export function exportDeclarative(data: StateData, options: ExportOptions): string {
  const document = exportDocument(data, options);
  return options.format === "json" ? `${JSON.stringify(document, null, 2)}\n` : YAML.stringify(document, { lineWidth: 0 });
}
