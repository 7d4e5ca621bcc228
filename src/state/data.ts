// The whole configuration as plain entity lists, one per entity of the build: what the database
// holds, what a declarative file becomes, what `/config` exports and imports.
import type { EntityDefinition } from "../entities/definition.ts";
import type { EntityName, EntityRecords } from "../entities/index.ts";

export type StateData = { [K in EntityName]: EntityRecords[K][] };

/** The lists of `entities`, by name (plugin-owned ones included). */
export function rowsOf(state: StateData, name: string): Record<string, unknown>[] {
  return ((state as unknown as Record<string, Record<string, unknown>[] | undefined>)[name] ??= []);
}

const definitions = new WeakMap<StateData, readonly EntityDefinition[]>();

export function emptyState(entities: readonly EntityDefinition[]): StateData {
  const state = Object.fromEntries(entities.map((entity) => [entity.name, []])) as unknown as StateData;
  definitions.set(state, entities);
  return state;
}

/** The entities a state was made for (by emptyState), so an export needs no list passed along. */
export function entitiesOfState(state: StateData): readonly EntityDefinition[] | undefined {
  return definitions.get(state);
}
