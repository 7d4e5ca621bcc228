// The ACL entity belongs to the acl plugin (plugins/acl/entity.ts). Core code cannot import a
// plugin; this type is its record as the plugin declares it in EntityRecords.
import type { EntityRecords } from "../entities/index.ts";
export type Acl = EntityRecords["acls"];
