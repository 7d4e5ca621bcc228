// The admin endpoints of the `keyauth_credentials` entity (the key-auth plugin's), derived from its definition's
// admin section. Until server.ts mounts derivedOperations for every entity at once, each of
// these files serves one.
import type { Kind } from "../../db/store.ts";
import { derivedOperations } from "../crud.ts";
import type { AdminDeps } from "../deps.ts";
import type { Operation } from "../operation.ts";

const ENTITY: Kind = "keyauth_credentials";

export function keyAuthOperations({ store }: AdminDeps): Operation[] {
  const entity = store.entities.find((candidate) => candidate.name === ENTITY);
  return entity ? derivedOperations(store, entity) : [];
}
