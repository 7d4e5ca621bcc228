// The core entities, and the full list of a build: the core ones plus those the installed plugins own. Everything that
// handles entities (store, tables, admin API, declarative files, export, CLI) iterates a list.
import type { EntityDefinition, StoredEntity } from "./definition.ts";
import { type CaCertificate, caCertificateEntity } from "./ca-certificate.ts";
import { type Certificate, certificateEntity } from "./certificate.ts";
import { type Consumer, consumerEntity } from "./consumer.ts";
import { type Key, type KeyRecord, keyEntity } from "./key.ts";
import { type Plugin, pluginEntity } from "./plugin.ts";
import { type Route, routeEntity } from "./route.ts";
import { type Service, serviceEntity } from "./service.ts";
import { type Sni, sniEntity } from "./sni.ts";
import { type Target, targetEntity } from "./target.ts";
import { type Upstream, upstreamEntity } from "./upstream.ts";

export const coreEntities: readonly EntityDefinition[] = [
  serviceEntity,
  routeEntity,
  upstreamEntity,
  targetEntity,
  consumerEntity,
  pluginEntity,
  keyEntity,
  certificateEntity,
  sniEntity,
  caCertificateEntity,
];

export type { CaCertificate, Certificate, Consumer, Key, KeyRecord, Plugin, Route, Service, Sni, Target, Upstream };

/**
 * The stored record of each entity, by name. A plugin that owns an entity adds it here
 * (`declare module ".../src/entities/index.ts" { interface EntityRecords { ... } }`), so core
 * code can name a plugin's rows without importing the plugin.
 */
export interface EntityRecords {
  ca_certificates: CaCertificate;
  services: Service;
  routes: Route;
  consumers: Consumer;
  keys: KeyRecord;
  plugins: Plugin;
  upstreams: Upstream;
  targets: Target;
  certificates: Certificate;
  snis: Sni;
}

export type EntityName = keyof EntityRecords & string;

/** Anything that lists the entities it contributes (a plugin definition). */
export interface EntityOwner {
  readonly entities?: readonly EntityDefinition[];
}

/**
 * The core entities and every owner's, in the order they are shown (CLI counts, exports, API
 * docs): an owner's entity right after the entities it references. Refuses two entities of one
 * name or a reference to an entity that is not in the list.
 */
export function entityList(core: readonly EntityDefinition[], owners: Iterable<EntityOwner>): readonly EntityDefinition[] {
  const list = [...core];
  for (const entity of [...owners].flatMap((owner) => owner.entities ?? [])) {
    const last = Math.max(-1, ...dependencies(entity).map((name) => list.findIndex((other) => other.name === name)));
    // After the owners' entities already placed there: owners keep their order.
    let at = last + 1;
    while (at < list.length && !core.includes(list[at]!)) at++;
    list.splice(at, 0, entity);
  }
  const names = new Set<string>();
  for (const entity of list) {
    if (names.has(entity.name)) throw new Error(`two entities are named ${entity.name}`);
    names.add(entity.name);
  }
  for (const entity of list) {
    const missing = dependencies(entity).filter((name) => !names.has(name));
    if (missing.length) throw new Error(`entity ${entity.name} refers to ${missing.join(", ")}, which is not installed`);
  }
  return list;
}

const dependencies = (entity: EntityDefinition): string[] => [
  ...entity.referenceFields.map((field) => entity.fields[field]!.references!),
  ...entity.listFields.map((field) => entity.fields[field]!.listOf!),
  ...(entity.after ?? []),
];

/** The list ordered so that each entity comes after the ones it references or names in `after` (loading, inserting). */
export function loadOrder(entities: readonly EntityDefinition[]): readonly EntityDefinition[] {
  const ordered: EntityDefinition[] = [];
  const placed = new Set<string>();
  while (ordered.length < entities.length) {
    const next = entities.find((entity) => !placed.has(entity.name) && dependencies(entity).every((name) => placed.has(name) || name === entity.name));
    if (!next) throw new Error(`entities refer to each other in a circle: ${entities.filter((entity) => !placed.has(entity.name)).map((entity) => entity.name).join(", ")}`);
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
