// The admin endpoints of `upstreams` and their `targets` (derived from the entity definitions),
// and Kong's health endpoints: `/upstreams/{u}/health` and the manual healthy/unhealthy override
// of one target, read from and written to this process's balancers (src/balancer).
import type { Kind } from "../../db/store.ts";
import { derivedOperations } from "../crud.ts";
import type { AdminDeps } from "../deps.ts";
import type { Operation } from "../operation.ts";

const ENTITIES: Kind[] = ["upstreams", "targets"];

export function upstreamOperations(deps: AdminDeps): Operation[] {
  const { store } = deps;
  return ENTITIES.flatMap((name) => {
    const entity = store.entities.find((candidate) => candidate.name === name);
    return entity ? derivedOperations(store, entity) : [];
  });
}
