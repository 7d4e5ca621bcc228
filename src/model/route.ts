// The route entity is defined in src/entities/route.ts; these names are kept for the modules that import them.
import { routeEntity } from "../entities/route.ts";
import type { Route as RouteRecord } from "../entities/route.ts";
export type Route = RouteRecord;
export const RouteInput = routeEntity.input;
export const Route = routeEntity.output;
