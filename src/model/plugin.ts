// Plugin entity: a named plugin with a config, at one scope (global, service, route, consumer
// or a combination). Its config is validated by the plugin's own schema from plugins/<name>.
import type { Static } from "elysia";
import { t } from "./t.ts";
import { Value } from "@sinclair/typebox/value";
import { type FieldErrors, ValidationError } from "../errors.ts";
import type { EntityLookup, PluginDefinition } from "../pipeline/contract.ts";
import { Generated, InputMeta, NullableIdRef, Ref, assertSchema, now, schemaErrors } from "./common.ts";
import { clip, clipQuoted, quote } from "./quote.ts";

export const PluginInput = t.Object(
  {
    ...InputMeta,
    name: t.String({ minLength: 1, maxLength: 64 }),
    config: t.Optional(t.Record(t.String(), t.Unknown(), { description: "validated by the plugin's schema: GET /plugins/schema/{name}" })),
    enabled: t.Optional(t.Boolean()),
    service: t.Optional(t.Union([Ref, t.Null()])),
    route: t.Optional(t.Union([Ref, t.Null()])),
    consumer: t.Optional(t.Union([Ref, t.Null()])),
    protocols: t.Optional(t.Array(t.String())),
  },
  { additionalProperties: false, examples: [{ name: "jwt", config: { claims_to_verify: ["exp"] } }] },
);
export type PluginInput = Static<typeof PluginInput>;

export const Plugin = t.Object({
  ...Generated,
  name: t.String(),
  config: t.Record(t.String(), t.Unknown()),
  enabled: t.Boolean(),
  service: NullableIdRef,
  route: NullableIdRef,
  consumer: NullableIdRef,
});
export type Plugin = Static<typeof Plugin>;

export interface PluginScope {
  service: string | null;
  route: string | null;
  consumer: string | null;
}

/** One instance per plugin name per scope: the uniqueness key. */
export function scopeKey(name: string, scope: PluginScope): string {
  return [name, scope.service ?? "", scope.route ?? "", scope.consumer ?? ""].join("|");
}

/** Validates a config with the plugin's schema, defaults filled in. */
export function checkPluginConfig(
  definition: PluginDefinition<any>,
  config: unknown,
  lookup: EntityLookup,
): Record<string, unknown> {
  const filled = Value.Default(definition.configSchema, Value.Clone(config ?? {}));
  const fields: FieldErrors = schemaErrors(definition.configSchema, filled, "config");
  if (Object.keys(fields).length === 0) {
    // A plugin's own reasons may quote a config value whole: cut them like every other echo.
    for (const [field, why] of Object.entries(definition.check?.(filled, lookup) ?? {})) fields[`config.${clip(field)}`] = clipQuoted(why);
  }
  if (Object.keys(fields).length) throw new ValidationError(fields);
  return filled as Record<string, unknown>;
}

export function buildPlugin(
  input: unknown,
  scope: Partial<PluginScope>,
  definitions: ReadonlyMap<string, PluginDefinition<any>>,
  lookup: EntityLookup,
  existing?: Plugin,
): Plugin {
  const merged = existing && typeof input === "object" && input !== null && !("name" in input) ? { ...input, name: existing.name } : input;
  assertSchema(PluginInput, merged);
  const definition = definitions.get(merged.name);
  if (!definition) {
    throw new ValidationError({ name: `plugin ${quote(merged.name)} is not installed (available: ${[...definitions.keys()].join(", ")})` });
  }
  const resolved: PluginScope = {
    service: scope.service !== undefined ? scope.service : (existing?.service?.id ?? null),
    route: scope.route !== undefined ? scope.route : (existing?.route?.id ?? null),
    consumer: scope.consumer !== undefined ? scope.consumer : (existing?.consumer?.id ?? null),
  };
  if (definition.noConsumerScope && resolved.consumer) {
    throw new ValidationError({ consumer: `the ${definition.name} plugin cannot be applied to a consumer` });
  }
  const rawConfig = merged.config !== undefined ? (existing && merged.config ? { ...existing.config, ...merged.config } : merged.config) : existing?.config;
  const config = checkPluginConfig(definition, rawConfig, lookup);
  const time = now();
  return {
    id: existing?.id ?? merged.id ?? crypto.randomUUID(),
    name: merged.name,
    config,
    enabled: merged.enabled ?? existing?.enabled ?? true,
    service: resolved.service ? { id: resolved.service } : null,
    route: resolved.route ? { id: resolved.route } : null,
    consumer: resolved.consumer ? { id: resolved.consumer } : null,
    tags: merged.tags ?? existing?.tags ?? [],
    created_at: existing?.created_at ?? time,
    updated_at: time,
  };
}
