// The admin endpoints of the `consumers` entity, derived from its definition's admin section
// (collections, nested collections, reference links). Until server.ts mounts derivedOperations
// for every entity at once, each of these files serves one.
import type { Kind } from "../../db/store.ts";
import { derivedOperations } from "../crud.ts";
import type { AdminDeps } from "../deps.ts";
import type { Operation } from "../operation.ts";

const ENTITY: Kind = "consumers";

export function consumerOperations({ store }: AdminDeps): Operation[] {
  const entity = store.entities.find((candidate) => candidate.name === ENTITY);
  return entity ? derivedOperations(store, entity) : [];
}
