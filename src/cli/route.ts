// `gateway route add|list|get|delete`: which requests go to which service.
import { UsageError } from "../errors.ts";
import { booleanFlag, commandGroup, required } from "./command.ts";
import { addCommand, deleteCommand, getCommand, listCommand, tagsOf } from "./entity-commands.ts";

const base = { group: "route", kind: "routes", noun: "route" } as const;

/** `--header x-version:v2 --header x-version:v3` → Kong's `{ "x-version": ["v2", "v3"] }`. */
function headersOf(flags: string[] | undefined): Record<string, string[]> | undefined {
  if (!flags) return undefined;
  const headers: Record<string, string[]> = {};
  for (const flag of flags) {
    const colon = flag.indexOf(":");
    if (colon <= 0 || colon === flag.length - 1) throw new UsageError(`--header: expected NAME:VALUE, got '${flag.slice(0, 64)}'`);
    (headers[flag.slice(0, colon).trim().toLowerCase()] ??= []).push(flag.slice(colon + 1).trim());
  }
  return headers;
}

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
  --header NAME:VALUE    match requests with this header value (repeatable; a value
                         starting with ~* is a case-insensitive regex)
  --path-handling v0|v1  how service, route and request paths are joined (default v0)
  --strip-path BOOL      remove the matched prefix before proxying (default true)
  --preserve-host        send the client's Host header upstream
  --tag TAG              a tag (repeatable)
  (at least one of --path, --host, --method, --header)
`,
    flags: {
      service: { type: "string" },
      name: { type: "string" },
      path: { type: "string", multiple: true },
      host: { type: "string", multiple: true },
      method: { type: "string", multiple: true },
      header: { type: "string", multiple: true },
      "path-handling": { type: "string" },
      "strip-path": { type: "string" },
      "preserve-host": { type: "boolean" },
      tag: { type: "string", multiple: true },
    },
    build: (values) => {
      const service = required(values.service as string | undefined, "--service", "the service this route sends requests to");
      if (!values.path && !values.host && !values.method && !values.header) throw new UsageError("--path, --host, --method or --header is required: what the route matches");
      return {
        input: {
          name: values.name,
          service,
          paths: values.path,
          hosts: values.host,
          methods: (values.method as string[] | undefined)?.map((method) => method.toUpperCase()),
          headers: headersOf(values.header as string[] | undefined),
          path_handling: values["path-handling"],
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
