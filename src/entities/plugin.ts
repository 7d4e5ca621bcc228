// Plugin entity: a named plugin with a config, at one scope (global, service, route, consumer
// or a combination). Its config is validated by the plugin's own schema from plugins/<name>.
import { Value } from "@sinclair/typebox/value";
import { type FieldErrors, ValidationError } from "../errors.ts";
import type { EntityLookup, PluginDefinition } from "../pipeline/contract.ts";
import { schemaErrors } from "./common.ts";
import { type RecordOf, defineEntity, nullable, optionalReference } from "./definition.ts";
import { KONG_PROTOCOLS, notSupported } from "./kong.ts";
import { clip, clipQuoted, quote } from "./quote.ts";
import { t } from "./t.ts";

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
export function checkPluginConfig(definition: PluginDefinition<any>, config: unknown, lookup: EntityLookup): Record<string, unknown> {
  const filled = Value.Default(definition.configSchema, Value.Clone(config ?? {}));
  const fields: FieldErrors = schemaErrors(definition.configSchema, filled, "config");
  if (Object.keys(fields).length === 0) {
    // A plugin's own reasons may quote a config value whole: cut them like every other echo.
    for (const [field, why] of Object.entries(definition.check?.(filled, lookup) ?? {})) fields[`config.${clip(field)}`] = clipQuoted(why);
  }
  if (Object.keys(fields).length) throw new ValidationError(fields);
  return filled as Record<string, unknown>;
}

const Config = t.Record(t.String(), t.Unknown());
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
const InstanceName = t.String({ minLength: 1, maxLength: 128, pattern: "^[A-Za-z0-9._~-]+$", description: "letters, digits and . _ ~ -" });
/** Kong's default for the plugins the gateway has (their schemas take every http-family protocol). */
const KONG_PLUGIN_PROTOCOLS = ["grpc", "grpcs", "http", "https"];
const scope = (entity: { service: { id: string } | null; route: { id: string } | null; consumer: { id: string } | null }): PluginScope => ({
  service: entity.service?.id ?? null,
  route: entity.route?.id ?? null,
  consumer: entity.consumer?.id ?? null,
});

export const pluginEntity = defineEntity({
  name: "plugins",
  label: "plugin",
  schemaName: "Plugin",
  fields: {
    name: { storage: "text", input: t.String({ minLength: 1, maxLength: 64 }), output: t.String(), required: true },
    config: {
      storage: "json",
      input: t.Record(t.String(), t.Unknown(), { description: "validated by the plugin's schema: GET /plugins/schema/{name}" }),
      output: Config,
      vault: "inside",
    },
    enabled: { storage: "boolean", input: t.Boolean(), output: t.Boolean(), default: true },
    service: optionalReference("services", { onDelete: "cascade" }),
    route: optionalReference("routes", { onDelete: "cascade" }),
    consumer: optionalReference("consumers", { onDelete: "cascade" }),
    instance_name: { storage: "text", input: nullable(InstanceName), output: nullable(t.String()), unique: true },
    /** Kong's list of the request protocols a plugin runs on; here every plugin runs on http and https alike (README "Kong fields"). */
    protocols: { storage: "json", input: t.Array(t.Union([...KONG_PROTOCOLS].map((protocol) => t.Literal(protocol))), { minItems: 1, uniqueItems: true }), output: t.Array(t.String()), default: KONG_PLUGIN_PROTOCOLS },
    ordering: { input: nullable(t.Record(t.String(), t.Unknown())), unsupported: notSupported((value) => value !== null && value !== undefined && Object.keys(value as object).length > 0, "dynamic plugin ordering (ordering)") },
  },
  computed: {
    scope_key: {
      value: (plugin) => scopeKey(plugin.name, scope(plugin as never)),
      conflict: { field: "name", shown: (plugin) => `name=${JSON.stringify(clip(String(plugin.name)))} at this scope` },
    },
  },
  // jwt-signer configs name keystore keys.
  after: ["keys"],
  inputExamples: [{ name: "jwt", config: { claims_to_verify: ["exp"] } }],
  example: {
    id: "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f", name: "acl", config: { allow: ["finance"], hide_groups_header: false }, enabled: true,
    service: null, route: { id: "4b3f7a2e-6f3a-4f38-9d7e-2a9c1d0e5b11" }, consumer: null, instance_name: null, protocols: ["grpc", "grpcs", "http", "https"], tags: [], created_at: 1795000000, updated_at: 1795000000,
  },
  complete(plugin, { input, existing, ctx }) {
    const registry = ctx.registry as ReadonlyMap<string, PluginDefinition<any>>;
    const definition = registry.get(plugin.name);
    if (!definition) throw new ValidationError({ name: `plugin ${quote(plugin.name)} is not installed (available: ${[...registry.keys()].join(", ")})` });
    if (definition.noConsumerScope && plugin.consumer) throw new ValidationError({ consumer: `the ${definition.name} plugin cannot be applied to a consumer` });
    const refused = isRecord(input.config) ? definition.unsupported?.(input.config) : undefined;
    if (refused && Object.keys(refused).length) throw new ValidationError(Object.fromEntries(Object.entries(refused).map(([field, why]) => [`config.${field}`, why])));
    const given = input.config as Record<string, unknown> | undefined;
    const raw = given !== undefined ? (existing && given ? { ...existing.config, ...given } : given) : existing?.config;
    plugin.config = checkPluginConfig(definition, raw, ctx.lookup as EntityLookup);
  },
  // Served by routes/plugins.ts: its examples and form coercion depend on the installed plugins.
  admin: {
    tag: "plugins",
    tagDescription: "Plugin instances at global, service, route or consumer scope",
    inputDescription: "`config` is checked against the plugin's own schema: see the PluginConfig-<name> schemas or GET /plugins/schema/{name}",
    noun: "plugin",
    nouns: "plugins",
    param: { name: "plugin", description: "id of the plugin instance", example: "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f" },
    collections: [],
  },
  declarative: {
    nestedUnder: ["services", "routes", "consumers"],
    unsupported(entry, registry) {
      if (typeof entry.name !== "string") return [];
      const definition = (registry as ReadonlyMap<string, PluginDefinition<any>>).get(entry.name);
      if (!definition) return [{ feature: `plugin ${quote(entry.name)}`, message: " is not available in this gateway" }];
      const config = entry.config;
      const refused = typeof config === "object" && config !== null && !Array.isArray(config) ? definition.unsupported?.(config as Record<string, unknown>) : undefined;
      return Object.entries(refused ?? {}).map(([field, why]) => ({ feature: `plugin ${quote(entry.name)} config.${field}`, message: `: config.${field}: ${why}` }));
    },
    idSeed: (entry, refs) => `plugins:${String(entry.name)}:${refs.service ?? ""}:${refs.route ?? ""}:${refs.consumer ?? ""}`,
    // One instance of a plugin per scope, as Kong: shown as the plugin's name and where it applies.
    uniques: (plugin) => [["name and scope", `${String(plugin.name)} ${scopeOf(plugin as never)}`]],
  },
  cli: {
    columns: [
      { header: "NAME", value: (p) => p.name },
      { header: "ENABLED", value: (p) => p.enabled },
      { header: "SCOPE", value: (p) => scopeOf(p) },
      { header: "ID", value: (p) => p.id },
    ],
  },
});

function scopeOf(plugin: { service: { id: string } | null; route: { id: string } | null; consumer: { id: string } | null }): string {
  const parts = (["service", "route", "consumer"] as const).filter((field) => plugin[field]).map((field) => `${field}=${plugin[field]!.id}`);
  return parts.length ? parts.join(" ") : "global";
}

export type Plugin = RecordOf<typeof pluginEntity.fields>;
