// The service entity is defined in src/entities/service.ts; these names are kept for the modules that import them.
import { serviceEntity } from "../entities/service.ts";
import type { Service as ServiceRecord } from "../entities/service.ts";
export type Service = ServiceRecord;
export { serviceUrl } from "../entities/service.ts";
export const ServiceInput = serviceEntity.input;
export const Service = serviceEntity.output;
