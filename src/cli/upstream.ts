// `gateway upstream add|list|get|delete` and `gateway target add|list|delete --upstream U`:
// Kong's upstreams (a host name services can name) and their targets (host:port, weight).
import { UsageError } from "../errors.ts";
import { entityNamed } from "../entities/index.ts";
import { type Command, commandGroup, helpRequested, jsonObjectFlag, parseFlags, required } from "./command.ts";
import { BACKEND_FLAGS, BACKEND_USAGE, builtinEntities, openEntityClient } from "./entity-client.ts";
import { addCommand, deleteCommand, getCommand, listCommand, tagsOf } from "./entity-commands.ts";
import { printJson, printTable } from "./output.ts";

const upstreamBase = { group: "upstream", kind: "upstreams", noun: "upstream" } as const;

export const upstreamCommand = commandGroup(
  "upstream",
  "manage upstreams (load balancing)",
  "Upstreams: a host name a service's host can name; requests to the service are balanced over\nthe upstream's targets (see `gateway target`).",
  [
    addCommand({
      ...upstreamBase,
      summary: "create an upstream",
      synopsis: "--name HOST [--algorithm ALG] [--healthchecks JSON] [--tag TAG ...]",
      options: `  --name HOST            the host name services name (no IP address, no port)
  --algorithm ALG        round-robin (default), consistent-hashing, least-connections or latency
  --hash-on WHAT         consistent-hashing input: consumer, ip, header, cookie, path, query_arg, uri_capture
  --hash-on-header NAME  the header, with --hash-on header
  --healthchecks JSON    Kong's healthchecks record, e.g. '{"passive":{"unhealthy":{"tcp_failures":2}}}'
  --tag TAG              a tag (repeatable)
`,
      flags: {
        name: { type: "string" },
        algorithm: { type: "string" },
        "hash-on": { type: "string" },
        "hash-on-header": { type: "string" },
        healthchecks: { type: "string" },
        tag: { type: "string", multiple: true },
      },
      build: (values) => ({
        input: {
          name: required(values.name as string | undefined, "--name", "the upstream's host name"),
          algorithm: values.algorithm,
          hash_on: values["hash-on"],
          hash_on_header: values["hash-on-header"],
          healthchecks: values.healthchecks === undefined ? undefined : jsonObjectFlag(values.healthchecks as string, "--healthchecks"),
          tags: tagsOf(values),
        },
      }),
    }),
    listCommand({ ...upstreamBase, nouns: "upstreams" }),
    getCommand({ ...upstreamBase, keyLabel: "NAME|ID" }),
    deleteCommand({ ...upstreamBase, keyLabel: "NAME|ID", description: "Its targets are deleted with it." }),
  ],
);

const UPSTREAM_FLAG = { upstream: { type: "string" } } as const;

function upstreamOf(values: Record<string, unknown>, command: string): string {
  const upstream = values.upstream as string | undefined;
  if (!upstream) throw new UsageError(`${command}: --upstream is required: the upstream (name or id) the targets belong to`);
  return upstream;
}

const targetList: Command = (() => {
  const usage = `Usage: gateway target list --upstream NAME|ID [--json]

Lists the targets of one upstream.

Options:
  --json                 print JSON instead of a table

${BACKEND_USAGE}`;
  return {
    name: "list",
    summary: "list the targets of an upstream",
    usage,
    async run(argv) {
      const { values } = parseFlags(argv, { ...UPSTREAM_FLAG, ...BACKEND_FLAGS, json: { type: "boolean" } });
      if (helpRequested(values, usage)) return 0;
      const upstream = upstreamOf(values, "target list");
      const client = openEntityClient(values, { write: false });
      try {
        const rows = await client.list("targets", upstream);
        if (values.json) printJson(rows);
        else printTable(rows, [...(entityNamed(builtinEntities, "targets").cli?.columns ?? [])]);
      } finally {
        client.close();
      }
      return 0;
    },
  };
})();

const targetDelete: Command = (() => {
  const usage = `Usage: gateway target delete --upstream NAME|ID HOST:PORT|ID

Deletes one target of an upstream.

${BACKEND_USAGE}`;
  return {
    name: "delete",
    summary: "delete a target",
    usage,
    async run(argv) {
      const { values, positionals } = parseFlags(argv, { ...UPSTREAM_FLAG, ...BACKEND_FLAGS }, true);
      if (helpRequested(values, usage)) return 0;
      const upstream = upstreamOf(values, "target delete");
      if (positionals.length !== 1) throw new UsageError("target delete: expected one HOST:PORT|ID");
      const client = openEntityClient(values, { write: true });
      try {
        await client.delete("targets", positionals[0]!, { parent: upstream });
      } finally {
        client.close();
      }
      process.stdout.write(`deleted target '${positionals[0]}'\n`);
      return 0;
    },
  };
})();

export const targetCommand = commandGroup("target", "manage the targets of upstreams", "Targets: the host:port instances an upstream balances over, each with a weight (0: no traffic).", [
  addCommand({
    group: "target",
    kind: "targets",
    noun: "target",
    summary: "add a target to an upstream",
    synopsis: "--upstream NAME|ID --target HOST:PORT [--weight N] [--tag TAG ...]",
    options: `  --upstream U           the upstream (name or id)
  --target HOST:PORT     where to send requests (port default 8000, as Kong)
  --weight N             0 to 65535 (default 100; 0 takes no traffic)
  --tag TAG              a tag (repeatable)
`,
    flags: { upstream: { type: "string" }, target: { type: "string" }, weight: { type: "string" }, tag: { type: "string", multiple: true } },
    build: (values) => {
      const weight = values.weight === undefined ? undefined : Number(values.weight);
      if (weight !== undefined && !Number.isInteger(weight)) throw new UsageError(`--weight: expected an integer from 0 to 65535, got '${values.weight}'`);
      return {
        consumer: upstreamOf(values, "target add"),
        input: { target: required(values.target as string | undefined, "--target", "the target's host:port"), weight, tags: tagsOf(values) },
      };
    },
  }),
  targetList,
  targetDelete,
]);
