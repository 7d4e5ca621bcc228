// The examples of the OpenAPI document: one coherent little configuration (service `orders`,
// consumer `reporting-app`, ...), so that sending the documented requests in order works, which
// a test checks. Entity and path-parameter examples come from the entity definitions; plugin
// examples from the installed plugins' own schema examples.
import { checkPluginConfig, pluginEntity } from "../entities/plugin.ts";
import type { PluginRegistry } from "../pipeline/registry.ts";

export const EXAMPLE_PLUGIN_ID = String(pluginEntity.example.id);

/** Values of path parameters no entity definition exemplifies (each entity's own come with its operations). */
export const PARAMETER_EXAMPLES: Record<string, string> = {};

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
