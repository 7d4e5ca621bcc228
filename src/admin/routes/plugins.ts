// Plugin instances: /plugins[/{id}], the scoped collections under services, routes and
// consumers, and what is installed (/plugins/enabled, /plugins/schema/{name}). Nothing here
// knows a plugin by name: everything comes from the registry.
import { NotFoundError } from "../../errors.ts";
import type { AdminCollection } from "../../entities/definition.ts";
import { pluginEntity } from "../../entities/plugin.ts";
import { quote } from "../../entities/quote.ts";
import { coerceToSchema } from "../body.ts";
import { documented, entityOperations } from "../crud.ts";
import type { AdminDeps } from "../deps.ts";
import { EXAMPLE_PLUGIN_ID, pluginExample } from "../examples.ts";
import { json } from "../http.ts";
import type { Example, Operation } from "../operation.ts";

const ALL = ["list", "create", "get", "update", "upsert", "delete"] as const;
/** Under each entity a plugin may be scoped to (every reference of the plugin entity). */
const SCOPES = pluginEntity.referenceFields.map((field) => {
  const parent = (pluginEntity.fields as Record<string, { references?: string }>)[field]!.references!;
  return { parent, stem: field[0]!.toUpperCase() + field.slice(1), field };
});

export function pluginOperations({ store, registry }: AdminDeps): Operation[] {
  // Form fields are strings: the plugin's own schema says which config values are numbers or lists.
  const fromForm = (fields: Record<string, unknown>, params: Record<string, string>) => {
    const body = coerceToSchema(pluginEntity.input, fields) as Record<string, unknown>;
    const name = typeof body.name === "string" ? body.name : params.plugin ? store.find("plugins", params.plugin)?.name : undefined;
    const definition = name ? registry.get(name) : undefined;
    if (definition && body.config !== undefined) body.config = coerceToSchema(definition.configSchema, body.config);
    return body;
  };
  const example = pluginExample(registry, false);
  const consumerExample = pluginExample(registry, true);
  const examples = (summary: string, value: object | undefined): Example[] => (value ? [{ summary, value }] : []);

  const top: AdminCollection = { path: "/plugins", stem: "Plugin", stems: "Plugins", itemParam: "plugin", idOnly: true, methods: ALL, examples: {} };
  return documented(store.entities, [
    ...entityOperations(store, pluginEntity, top, {
      fromForm,
      examples: {
        create: examples("a global instance (applies to every route)", example && { id: EXAMPLE_PLUGIN_ID, ...example }),
        upsert: examples("replace an instance by id", example),
        update: examples("switch an instance off", example && { enabled: false }),
      },
    }),
    ...SCOPES.map((scope) =>
      entityOperations(
        store,
        pluginEntity,
        { under: scope.parent, path: "plugins", stem: `${scope.stem}Plugin`, stems: `${scope.stem}Plugins`, methods: ["list", "create"], examples: {} },
        { fromForm, examples: { create: examples(`an instance for this ${scope.field} only`, scope.field === "consumer" ? consumerExample : example) } },
      ),
    ).flat(),
    {
      method: "GET",
      path: "/plugins/enabled",
      operationId: "listEnabledPlugins",
      tag: "plugins",
      summary: "List the plugins this gateway has installed",
      responses: {
        200: {
          description: "plugin names, as Kong's `enabled_plugins`",
          schema: { type: "object", required: ["enabled_plugins"], properties: { enabled_plugins: { type: "array", items: { type: "string" } } } },
          example: { enabled_plugins: [...registry.keys()] },
        },
      },
      handle: () => json(200, { enabled_plugins: [...registry.keys()] }),
    },
    {
      method: "GET",
      path: "/plugins/schema/:name",
      operationId: "getPluginSchema",
      tag: "plugins",
      summary: "Get the config schema of an installed plugin",
      description: "`config` is the JSON Schema a plugin instance's config is validated against (defaults included).",
      responses: {
        200: {
          description: "the plugin's name, priority, whether it can be scoped to a consumer, and its config schema",
          schema: {
            type: "object",
            required: ["name", "priority", "consumer_scope", "config"],
            properties: { name: { type: "string" }, priority: { type: "integer" }, consumer_scope: { type: "boolean" }, config: { type: "object" } },
          },
        },
      },
      handle: ({ params }) => {
        const definition = registry.get(params.name!);
        if (!definition) throw new NotFoundError(`no plugin named ${quote(params.name)} is installed`);
        return json(200, { name: definition.name, priority: definition.priority, consumer_scope: !definition.noConsumerScope, config: definition.configSchema });
      },
    },
  ]);
}
