// The examples of the OpenAPI document: one coherent little configuration (service `orders`,
// consumer `reporting-app`, ...), so that sending the documented requests in order works, which
// a test checks. Plugin examples come from the installed plugins' own schema examples.
import type { PluginRegistry } from "../pipeline/registry.ts";
import { checkPluginConfig } from "../model/plugin.ts";

export const EXAMPLE_PLUGIN_ID = "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f";
export const EXAMPLE_ACL_ID = "7d1e6c9a-2b3c-4d5e-8f60-718293a4b5c6";
export const EXAMPLE_ES256_PUBLIC_KEY = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8Gd6e+5zo2qX1nMK9PyRkU5B3bqF
sCfuL3wDG+YOG8BRql0Ozlpt6VCPcNgPT6WqMZB+pcrIbjDrdGJxL9REJw==
-----END PUBLIC KEY-----
`;

/** Values of the path parameters, by name, that the documented examples refer to. */
export const PARAMETER_EXAMPLES: Record<string, string> = {
  service: "orders",
  route: "orders-api",
  consumer: "reporting-app",
  jwt: "reporting-app-hs256",
  acl: "finance",
  acl_id: EXAMPLE_ACL_ID,
  plugin: EXAMPLE_PLUGIN_ID,
  key: "signing-2026-11",
};

const ID = "4b3f7a2e-6f3a-4f38-9d7e-2a9c1d0e5b11";
const SERVICE_ID = "0c8a4f5e-1d2b-4c3a-9e8f-7a6b5c4d3e2f";
const CONSUMER_ID = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b";
const TIMES = { created_at: 1795000000, updated_at: 1795000000 };

/** One stored entity of each kind, as the API returns it. */
export const ENTITY_EXAMPLES = {
  Service: { id: SERVICE_ID, name: "orders", protocol: "http", host: "orders.internal", port: 8080, path: null, connect_timeout: 60000, read_timeout: 60000, write_timeout: 60000, retries: 5, enabled: true, tags: [], ...TIMES },
  Route: { id: ID, name: "orders-api", service: { id: SERVICE_ID }, paths: ["/orders"], hosts: null, methods: ["GET", "POST"], protocols: ["http", "https"], strip_path: true, preserve_host: false, regex_priority: 0, tags: [], ...TIMES },
  Consumer: { id: CONSUMER_ID, username: "reporting-app", custom_id: "app-42", tags: [], ...TIMES },
  JwtCredential: { id: ID, consumer: { id: CONSUMER_ID }, key: "reporting-app-hs256", algorithm: "HS256", secret: "6bUzAaHc9hR5qvUiFfWJm3yXkLrT2nVd", rsa_public_key: null, jwks_uri: null, jwks_cache_ttl: 300, algorithms: null, tags: [], ...TIMES },
  Acl: { id: EXAMPLE_ACL_ID, consumer: { id: CONSUMER_ID }, group: "finance", tags: [], ...TIMES },
  Plugin: { id: EXAMPLE_PLUGIN_ID, name: "acl", config: { allow: ["finance"], hide_groups_header: false }, enabled: true, service: null, route: { id: ID }, consumer: null, tags: [], ...TIMES },
  Key: { id: ID, kid: "signing-2026-11", alg: "ES256", status: "active", public_jwk: { kty: "EC", crv: "P-256", x: "8Gd6e-5zo2qX1nMK9PyRkU5B3bqFsCfuL3wDG-YOG8A", y: "UapdDs5abelQj3DYD0-lqjGQfqXKyG4w63RicS_URCc", kid: "signing-2026-11", alg: "ES256", use: "sig" }, retire_after: null, tags: [], ...TIMES },
};

export const CONFIG_EXAMPLE = `_format_version: "3.0"
services:
  - name: billing
    url: http://billing.internal:8080
    routes:
      - name: billing-route
        paths: ["/billing"]
consumers:
  - username: reporting-app
    jwt_secrets:
      - key: reporting-app-issuer
        algorithm: HS256
        secret: change-me-to-a-long-random-secret
    acls:
      - group: finance
`;

export interface PluginExample {
  name: string;
  config: Record<string, unknown>;
}

const noEntities = { findConsumer: () => undefined, findKey: () => undefined };

/**
 * A plugin and config to show in examples: the first installed plugin whose own schema example
 * (or empty config) is valid on its own, optionally one that may be scoped to a consumer.
 */
export function pluginExample(registry: PluginRegistry, consumerScope: boolean): PluginExample | undefined {
  for (const definition of registry.values()) {
    if (consumerScope && definition.noConsumerScope) continue;
    const candidates = [...((definition.configSchema.examples as unknown[] | undefined) ?? []), {}];
    for (const config of candidates) {
      try {
        checkPluginConfig(definition, config, noEntities);
        return { name: definition.name, config: config as Record<string, unknown> };
      } catch {
        // not valid without other entities (e.g. names a consumer): try the next one
      }
    }
  }
  return undefined;
}
