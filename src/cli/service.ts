// `gateway service add|list|get|delete`: upstreams.
import { booleanFlag, commandGroup, required } from "./command.ts";
import { addCommand, deleteCommand, getCommand, listCommand, tagsOf } from "./entity-commands.ts";

const base = { group: "service", kind: "services", noun: "service" } as const;

export const serviceCommand = commandGroup("service", "manage services (upstreams)", "Services: the upstreams routes send requests to.", [
  addCommand({
    ...base,
    summary: "create a service",
    synopsis: "--name NAME --url URL [--ca-certificate ID ...] [--tls-verify BOOL] [--tag TAG ...]",
    options: `  --name NAME            unique name
  --url URL              the upstream, e.g. http://127.0.0.1:9000/v1
  --ca-certificate ID    https: trust this CA certificate (repeatable; replaces the system trust store)
  --tls-verify BOOL      https: false turns off verification of the upstream's certificate (default: verify)
  --tag TAG              a tag (repeatable)
`,
    flags: { name: { type: "string" }, url: { type: "string" }, "ca-certificate": { type: "string", multiple: true }, "tls-verify": { type: "string" }, tag: { type: "string", multiple: true } },
    build: (values) => ({
      input: {
        name: values.name,
        url: required(values.url as string | undefined, "--url", "the upstream URL, e.g. http://127.0.0.1:9000"),
        ca_certificates: values["ca-certificate"],
        tls_verify: booleanFlag(values["tls-verify"] as string | undefined, "--tls-verify"),
        tags: tagsOf(values),
      },
    }),
  }),
  listCommand({
    ...base,
    nouns: "services",
  }),
  getCommand({ ...base, keyLabel: "NAME|ID" }),
  deleteCommand({ ...base, keyLabel: "NAME|ID", cascade: "also delete its routes (otherwise a service with routes is kept)" }),
]);
