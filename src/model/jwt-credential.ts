// The jwt credential entity belongs to the jwt plugin (plugins/jwt/credential.ts). Core code
// cannot import a plugin; this type is its record as the plugin declares it in EntityRecords.
import type { EntityRecords } from "../entities/index.ts";
export type JwtCredential = EntityRecords["jwt_secrets"];
