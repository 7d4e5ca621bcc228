// Plugin instances: /plugins[/{id}], the scoped collections under services, routes and
// consumers, and what is installed (/plugins/enabled, /plugins/schema/{name}). Nothing here
// knows a plugin by name: everything comes from the registry.
import { NotFoundError } from "../../errors.ts";
import type { Parent } from "../../db/store.ts";
import { PluginInput } from "../../model/plugin.ts";
import { quote } from "../../model/quote.ts";
import { coerceToSchema } from "../body.ts";
import { type EntityEndpoints, entityOperations } from "../crud.ts";
import type { AdminDeps } from "../deps.ts";
import { EXAMPLE_PLUGIN_ID, pluginExample } from "../examples.ts";
import { json } from "../http.ts";
import type { Example, Operation } from "../operation.ts";

const common = {
  kind: "plugins",
  tag: "plugins",
  noun: "plugin",
  nouns: "plugins",
  schemas: { input: "PluginInput", update: "PluginUpdate", output: "Plugin", inputSchema: PluginInput },
} satisfies Partial<EntityEndpoints<"plugins">>;

const SCOPES: { parent: Parent["kind"]; param: string; stem: string }[] = [
  { parent: "services", param: "service", stem: "Service" },
  { parent: "routes", param: "route", stem: "Route" },
  { parent: "consumers", param: "consumer", stem: "Consumer" },
];

export function pluginOperations({ store, registry }: AdminDeps): Operation[] {
  // Form fields are strings: the plugin's own schema says which config values are numbers or lists.
  const fromForm = (fields: Record<string, unknown>, params: Record<string, string>) => {
    const body = coerceToSchema(PluginInput, fields) as Record<string, unknown>;
    const name = typeof body.name === "string" ? body.name : params.plugin ? store.find("plugins", params.plugin)?.name : undefined;
    const definition = name ? registry.get(name) : undefined;
    if (definition && body.config !== undefined) body.config = coerceToSchema(definition.configSchema, body.config);
    return body;
  };
  const example = pluginExample(registry, false);
  const consumerExample = pluginExample(registry, true);
  const examples = (summary: string, value: object | undefined): Example[] => (value ? [{ summary, value }] : []);

  return [
    ...entityOperations(store, {
      ...common,
      stem: "Plugin",
      stems: "Plugins",
      collection: "/plugins",
      item: "/plugins/:plugin",
      idOnly: true,
      methods: ["list", "create", "get", "update", "upsert", "delete"],
      fromForm,
      examples: {
        create: examples("a global instance (applies to every route)", example && { id: EXAMPLE_PLUGIN_ID, ...example }),
        upsert: examples("replace an instance by id", example),
        update: examples("switch an instance off", example && { enabled: false }),
      },
    }),
    ...SCOPES.map((scope) =>
      entityOperations(store, {
        ...common,
        stem: `${scope.stem}Plugin`,
        stems: `${scope.stem}Plugins`,
        collection: `/${scope.parent}/:${scope.param}/plugins`,
        parent: { kind: scope.parent, param: scope.param },
        methods: ["list", "create"],
        fromForm,
        examples: { create: examples(`an instance for this ${scope.param} only`, scope.parent === "consumers" ? consumerExample : example) },
      }),
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
  ];
}
