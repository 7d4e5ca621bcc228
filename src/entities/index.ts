// The core entities, in the order they are loaded (an entity after those it references), and
// the full list of a build: the core ones plus those the installed plugins own. Everything that
// handles entities (store, tables, admin API, declarative files, export, CLI) iterates a list.
import type { EntityDefinition, PublicOf, RecordOf, StoredEntity } from "./definition.ts";
import { consumerEntity } from "./consumer.ts";
import { keyEntity } from "./key.ts";
import { pluginEntity } from "./plugin.ts";
import { routeEntity } from "./route.ts";
import { serviceEntity } from "./service.ts";

export const coreEntities: readonly EntityDefinition[] = [serviceEntity, routeEntity, consumerEntity, keyEntity, pluginEntity];

export type Service = RecordOf<typeof serviceEntity.fields>;
export type Route = RecordOf<typeof routeEntity.fields>;
export type Consumer = RecordOf<typeof consumerEntity.fields>;
export type Plugin = RecordOf<typeof pluginEntity.fields>;
/** A key as stored: the public model plus its private JWK. */
export type KeyRecord = RecordOf<typeof keyEntity.fields>;
export type Key = PublicOf<typeof keyEntity.fields>;

/**
 * The stored record of each entity, by name. A plugin that owns an entity adds it here
 * (`declare module ".../src/entities/index.ts" { interface EntityRecords { ... } }`), so core
 * code can name a plugin's rows without importing the plugin.
 */
export interface EntityRecords {
  services: Service;
  routes: Route;
  consumers: Consumer;
  keys: KeyRecord;
  plugins: Plugin;
}

export type EntityName = keyof EntityRecords & string;

/** Anything that lists the entities it contributes (a plugin definition). */
export interface EntityOwner {
  readonly entities?: readonly EntityDefinition[];
}

/**
 * The core entities and every owner's, ordered so that an entity comes after the ones it
 * references (and names in `after`). Refuses two entities of one name or a dangling reference.
 */
export function entityList(core: readonly EntityDefinition[], owners: Iterable<EntityOwner>): readonly EntityDefinition[] {
  const all = [...core, ...[...owners].flatMap((owner) => owner.entities ?? [])];
  const byName = new Map<string, EntityDefinition>();
  for (const entity of all) {
    if (byName.has(entity.name)) throw new Error(`two entities are named ${entity.name}`);
    byName.set(entity.name, entity);
  }
  const dependencies = (entity: EntityDefinition) => [
    ...entity.referenceFields.map((field) => entity.fields[field]!.references!),
    ...(entity.after ?? []),
  ];
  const ordered: EntityDefinition[] = [];
  const placed = new Set<string>();
  while (ordered.length < all.length) {
    const next = all.find((entity) => !placed.has(entity.name) && dependencies(entity).every((name) => placed.has(name) || name === entity.name));
    if (!next) {
      const stuck = all.filter((entity) => !placed.has(entity.name)).map((entity) => `${entity.name} (needs ${dependencies(entity).join(", ")})`);
      throw new Error(`entities refer to ones that are not installed, or to each other in a circle: ${stuck.join("; ")}`);
    }
    ordered.push(next);
    placed.add(next.name);
  }
  return ordered;
}

export function entityNamed(entities: readonly EntityDefinition[], name: string): EntityDefinition {
  const found = entities.find((entity) => entity.name === name);
  if (!found) throw new Error(`no entity named ${name}`);
  return found;
}

export type { EntityDefinition, StoredEntity };
