// The admin endpoints of the `ca_certificates` entity, derived from its definition's admin section.
import type { Kind } from "../../db/store.ts";
import { derivedOperations } from "../crud.ts";
import type { AdminDeps } from "../deps.ts";
import type { Operation } from "../operation.ts";

const ENTITY: Kind = "ca_certificates";

export function caCertificateOperations({ store }: AdminDeps): Operation[] {
  const entity = store.entities.find((candidate) => candidate.name === ENTITY);
  return entity ? derivedOperations(store, entity) : [];
}
