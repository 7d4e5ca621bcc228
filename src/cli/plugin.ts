// `gateway plugin add|list|get|delete`: plugin instances, globally or scoped to a service,
// route or consumer.
import { commandGroup, jsonObjectFlag, required } from "./command.ts";
import { addCommand, deleteCommand, getCommand, listCommand, tagsOf } from "./entity-commands.ts";

const base = { group: "plugin", kind: "plugins", noun: "plugin" } as const;

export const pluginCommand = commandGroup("plugin", "manage plugins (jwt, acl, anonymous, ...)", "Plugin instances: global, or scoped to a service, a route, a consumer or a combination.", [
  addCommand({
    ...base,
    summary: "enable a plugin",
    synopsis: "--name NAME [--service S] [--route R] [--consumer C] [--config JSON|@FILE] [--disabled]",
    options: `  --name NAME            the plugin, e.g. jwt, acl, anonymous
  --service S            scope it to a service (name or id)
  --route R              scope it to a route (name or id)
  --consumer C           scope it to a consumer (username or id)
  --config JSON|@FILE    its config, e.g. '{"claims_to_verify":["exp"]}' or '{"allow":["admins"]}'
  --disabled             store it switched off
  --tag TAG              a tag (repeatable)
`,
    flags: {
      name: { type: "string" },
      service: { type: "string" },
      route: { type: "string" },
      consumer: { type: "string" },
      config: { type: "string" },
      disabled: { type: "boolean" },
      tag: { type: "string", multiple: true },
    },
    build: (values) => ({
      input: {
        name: required(values.name as string | undefined, "--name", "the plugin to enable, e.g. jwt"),
        service: values.service,
        route: values.route,
        consumer: values.consumer,
        config: values.config === undefined ? undefined : jsonObjectFlag(values.config as string, "--config"),
        enabled: values.disabled ? false : undefined,
        tags: tagsOf(values),
      },
    }),
  }),
  listCommand({
    ...base,
    nouns: "plugins",
  }),
  getCommand({ ...base, keyLabel: "ID" }),
  deleteCommand({ ...base, keyLabel: "ID" }),
]);
