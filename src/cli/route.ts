// `gateway route add|list|get|delete`: which requests go to which service.
import { UsageError } from "../errors.ts";
import { booleanFlag, commandGroup, required } from "./command.ts";
import { addCommand, deleteCommand, getCommand, listCommand, tagsOf } from "./entity-commands.ts";

const base = { group: "route", kind: "routes", noun: "route" } as const;

export const routeCommand = commandGroup("route", "manage routes", "Routes: which requests (paths, hosts, methods) go to which service.", [
  addCommand({
    ...base,
    summary: "create a route",
    synopsis: "--service NAME|ID --path /PREFIX [--name NAME] [--host HOST] [--method METHOD] [...]",
    options: `  --service S            the service (name or id)
  --name NAME            unique name
  --path PATH            path prefix, or a regex after ~ (repeatable)
  --host HOST            host, exact or *.example.com (repeatable)
  --method METHOD        HTTP method (repeatable)
  --strip-path BOOL      remove the matched prefix before proxying (default true)
  --preserve-host        send the client's Host header upstream
  --tag TAG              a tag (repeatable)
  (at least one of --path, --host, --method)
`,
    flags: {
      service: { type: "string" },
      name: { type: "string" },
      path: { type: "string", multiple: true },
      host: { type: "string", multiple: true },
      method: { type: "string", multiple: true },
      "strip-path": { type: "string" },
      "preserve-host": { type: "boolean" },
      tag: { type: "string", multiple: true },
    },
    build: (values) => {
      const service = required(values.service as string | undefined, "--service", "the service this route sends requests to");
      if (!values.path && !values.host && !values.method) throw new UsageError("--path, --host or --method is required: what the route matches");
      return {
        input: {
          name: values.name,
          service,
          paths: values.path,
          hosts: values.host,
          methods: (values.method as string[] | undefined)?.map((method) => method.toUpperCase()),
          strip_path: booleanFlag(values["strip-path"] as string | undefined, "--strip-path"),
          preserve_host: values["preserve-host"],
          tags: tagsOf(values),
        },
      };
    },
  }),
  listCommand({
    ...base,
    nouns: "routes",
  }),
  getCommand({ ...base, keyLabel: "NAME|ID" }),
  deleteCommand({ ...base, keyLabel: "NAME|ID" }),
]);
