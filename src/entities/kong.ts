// What Kong 3.x has that a file or a write may name: its entities, each entity's fields, and the
// protocols its routes and services take. What the gateway supports comes from the entity
// definitions and the plugin registry; these lists only tell a Kong feature the gateway lacks
// (refused as "not supported") from a typo (refused as "unknown").
import type { TSchema } from "@sinclair/typebox";

/** Kong's DB-less top-level sections (and decK's), by name. */
export const KONG_ENTITIES: ReadonlyMap<string, string> = new Map([
  ["services", "service"],
  ["routes", "route"],
  ["consumers", "consumer"],
  ["plugins", "plugin"],
  ["upstreams", "upstream"],
  ["targets", "target"],
  ["certificates", "certificate"],
  ["snis", "sni"],
  ["ca_certificates", "CA certificate"],
  ["consumer_groups", "consumer group"],
  ["consumer_group_consumers", "consumer group member"],
  ["consumer_group_plugins", "consumer group plugin"],
  ["vaults", "vault"],
  ["keys", "key"],
  ["key_sets", "key set"],
  ["acls", "acl"],
  ["jwt_secrets", "jwt credential"],
  ["keyauth_credentials", "key-auth credential"],
  ["basicauth_credentials", "basic-auth credential"],
  ["hmacauth_credentials", "hmac-auth credential"],
  ["oauth2_credentials", "oauth2 credential"],
  ["oauth2_authorization_codes", "oauth2 authorization code"],
  ["oauth2_tokens", "oauth2 token"],
  ["mtls_auth_credentials", "mtls-auth credential"],
  ["workspaces", "workspace"],
  ["parameters", "parameter"],
  ["filter_chains", "filter chain"],
  ["partials", "partial"],
  ["licenses", "license"],
  ["degraphql_routes", "degraphql route"],
  ["graphql_ratelimiting_cost_decorations", "graphql cost decoration"],
  ["custom_plugins", "custom plugin"],
  ["rbac_users", "RBAC user"],
  ["developers", "developer"],
]);

/** Under which parent Kong (and decK) let a file nest each section. */
export const KONG_NESTING: Readonly<Record<string, readonly string[]>> = {
  services: ["routes", "plugins", "filter_chains"],
  routes: ["plugins", "filter_chains"],
  consumers: [
    "plugins", "acls", "jwt_secrets", "keyauth_credentials", "basicauth_credentials", "hmacauth_credentials", "oauth2_credentials",
    "mtls_auth_credentials", "groups",
  ],
  upstreams: ["targets"],
  certificates: ["snis", "upstreams"],
  consumer_groups: ["consumers", "plugins"],
  key_sets: ["keys"],
};

/** Every field of Kong 3.x's schema of each entity (the inputs a file or a decK dump may hold). */
export const KONG_FIELDS: Readonly<Record<string, readonly string[]>> = {
  services: [
    "id", "created_at", "updated_at", "name", "retries", "protocol", "host", "port", "path", "connect_timeout", "write_timeout", "read_timeout",
    "tags", "client_certificate", "tls_verify", "tls_verify_depth", "ca_certificates", "enabled", "url",
  ],
  routes: [
    "id", "created_at", "updated_at", "name", "protocols", "methods", "hosts", "paths", "headers", "https_redirect_status_code", "regex_priority",
    "strip_path", "path_handling", "preserve_host", "request_buffering", "response_buffering", "snis", "sources", "destinations", "tags", "service",
    "expression", "priority",
  ],
  consumers: ["id", "created_at", "updated_at", "username", "custom_id", "tags"],
  plugins: ["id", "created_at", "updated_at", "name", "instance_name", "route", "service", "consumer", "consumer_group", "config", "protocols", "enabled", "tags", "ordering"],
  acls: ["id", "created_at", "consumer", "group", "tags"],
  jwt_secrets: ["id", "created_at", "consumer", "key", "secret", "rsa_public_key", "algorithm", "tags"],
  keyauth_credentials: ["id", "created_at", "consumer", "key", "ttl", "tags"],
  basicauth_credentials: ["id", "created_at", "consumer", "username", "password", "tags"],
  keys: ["id", "created_at", "updated_at", "set", "name", "kid", "jwk", "pem", "tags"],
  upstreams: [
    "id", "created_at", "updated_at", "name", "algorithm", "hash_on", "hash_fallback", "hash_on_header", "hash_fallback_header", "hash_on_cookie",
    "hash_on_cookie_path", "hash_on_query_arg", "hash_fallback_query_arg", "hash_on_uri_capture", "hash_fallback_uri_capture", "slots", "healthchecks",
    "tags", "host_header", "client_certificate", "use_srv_name",
  ],
  targets: ["id", "created_at", "updated_at", "upstream", "target", "weight", "tags"],
  certificates: ["id", "created_at", "updated_at", "cert", "key", "cert_alt", "key_alt", "tags"],
  snis: ["id", "created_at", "updated_at", "name", "certificate", "tags"],
  ca_certificates: ["id", "created_at", "updated_at", "cert", "cert_digest", "tags"],
  vaults: ["id", "created_at", "updated_at", "prefix", "name", "description", "config", "tags"],
};

/** Every protocol Kong's routes and services take. */
export const KONG_PROTOCOLS: ReadonlySet<string> = new Set(["http", "https", "grpc", "grpcs", "tcp", "tls", "tls_passthrough", "udp", "ws", "wss"]);

/** A field's refusal of a value that asks for a Kong feature the gateway does not have. */
export type Unsupported = (value: unknown) => string | null;

export function notSupported(asks: (value: unknown) => boolean, feature: string): Unsupported {
  return (value) => (asks(value) ? `${feature} is not supported by this gateway` : null);
}

/** The string literals a schema accepts (a union of literals, or an array of one), for "is X supported". */
export function literalsOf(schema: TSchema): string[] {
  const node = schema as { const?: unknown; anyOf?: TSchema[]; items?: TSchema };
  if (typeof node.const === "string") return [node.const];
  if (node.anyOf) return node.anyOf.flatMap(literalsOf);
  if (node.items) return literalsOf(node.items);
  return [];
}

/** The protocols Kong has and this schema lacks, refused as features; any other value is the schema's to refuse. */
export function protocolsNotIn(schema: TSchema): Unsupported {
  const accepted = new Set(literalsOf(schema));
  return (value) => {
    const given = Array.isArray(value) ? value : [value];
    const missing = given.filter((protocol): protocol is string => typeof protocol === "string" && KONG_PROTOCOLS.has(protocol) && !accepted.has(protocol));
    if (missing.length === 0) return null;
    return `${missing.length > 1 ? "protocols" : "protocol"} ${missing.map((p) => `'${p}'`).join(", ")} ${missing.length > 1 ? "are" : "is"} not supported`;
  };
}
