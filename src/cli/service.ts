// `gateway service add|list|get|delete`: upstreams.
import { commandGroup, required } from "./command.ts";
import { addCommand, deleteCommand, getCommand, listCommand, tagsOf } from "./entity-commands.ts";

const base = { group: "service", kind: "services", noun: "service" } as const;

export const serviceCommand = commandGroup("service", "manage services (upstreams)", "Services: the upstreams routes send requests to.", [
  addCommand({
    ...base,
    summary: "create a service",
    synopsis: "--name NAME --url URL [--tag TAG ...]",
    options: `  --name NAME            unique name
  --url URL              the upstream, e.g. http://127.0.0.1:9000/v1
  --tag TAG              a tag (repeatable)
`,
    flags: { name: { type: "string" }, url: { type: "string" }, tag: { type: "string", multiple: true } },
    build: (values) => ({
      input: { name: values.name, url: required(values.url as string | undefined, "--url", "the upstream URL, e.g. http://127.0.0.1:9000"), tags: tagsOf(values) },
    }),
  }),
  listCommand({
    ...base,
    nouns: "services",
  }),
  getCommand({ ...base, keyLabel: "NAME|ID" }),
  deleteCommand({ ...base, keyLabel: "NAME|ID", cascade: "also delete its routes (otherwise a service with routes is kept)" }),
]);
