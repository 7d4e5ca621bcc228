// The admin endpoints of the `certificates` and `snis` entities, derived from their definitions
// (`/certificates`, `/certificates/{certificate}/snis`, `/snis`). Private keys are private
// fields: no response carries them.
import { derivedOperations } from "../crud.ts";
import type { AdminDeps } from "../deps.ts";
import type { Operation } from "../operation.ts";

export function certificateOperations({ store }: AdminDeps): Operation[] {
  return ["certificates", "snis"].flatMap((name) => {
    const entity = store.entities.find((candidate) => candidate.name === name);
    return entity ? derivedOperations(store, entity) : [];
  });
}
