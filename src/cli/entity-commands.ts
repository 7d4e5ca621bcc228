// The shape every entity command shares (add, list, get, delete on one kind), written once
// over EntityClient so each works on the database file and on the admin API alike.
import type { ParseArgsConfig } from "node:util";
import { GatewayError, UsageError } from "../errors.ts";
import { type Command, helpRequested, parseFlags } from "./command.ts";
import { BACKEND_FLAGS, BACKEND_USAGE, type Entity, type EntityClient, type EntityKind, builtinEntities, openEntityClient } from "./entity-client.ts";
import { printJson, printRecord, printTable } from "./output.ts";
import { entityNamed } from "../entities/index.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;
export type FlagValues = Record<string, string | boolean | string[] | undefined>;

interface EntitySpec<K extends EntityKind> {
  /** The command word, e.g. "consumer". */
  group: string;
  kind: K;
  /** "consumer", "jwt credential": for help and messages. */
  noun: string;
}

const JSON_USAGE = "  --json                 print JSON instead of a table\n";
const CONSUMER_FLAG = { consumer: { type: "string" } } as const;

/** `--tag a --tag b` → ["a", "b"]; absent → undefined (the entity's default). */
export function tagsOf(values: FlagValues): string[] | undefined {
  return values.tag as string[] | undefined;
}

/** Fields the user did not give are left out, so the entity's defaults apply. */
function givenFields(input: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined));
}

async function withClient<T>(values: FlagValues, write: boolean, use: (client: EntityClient) => Promise<T>): Promise<T> {
  const client = openEntityClient(values as Parameters<typeof openEntityClient>[0], { write });
  try {
    return await use(client);
  } finally {
    client.close();
  }
}

/** The single positional an item command takes: a name, key or id. */
function onePositional(positionals: string[], label: string, command: string): string {
  if (positionals.length === 0) throw new UsageError(`${command}: expected ${label}`);
  if (positionals.length > 1) throw new UsageError(`${command}: expected one ${label}, got ${positionals.length} arguments`);
  return positionals[0]!;
}

export function addCommand<K extends EntityKind>(
  spec: EntitySpec<K> & {
    summary: string;
    synopsis: string;
    /** Help lines for `flags`. */
    options: string;
    flags: Options;
    build(values: FlagValues): { input: Record<string, unknown>; consumer?: string };
  },
): Command {
  const usage = `Usage: gateway ${spec.group} add ${spec.synopsis}

${spec.summary[0]!.toUpperCase()}${spec.summary.slice(1)}. Prints the ${spec.noun} as stored, generated fields included.

Options:
${spec.options}${JSON_USAGE}
${BACKEND_USAGE}`;
  return {
    name: "add",
    summary: spec.summary,
    usage,
    async run(argv) {
      const { values } = parseFlags(argv, { ...spec.flags, ...BACKEND_FLAGS, json: { type: "boolean" } });
      if (helpRequested(values, usage)) return 0;
      const { input, consumer } = spec.build(values as FlagValues);
      const created = await withClient(values as FlagValues, true, (client) => client.create(spec.kind, givenFields(input), consumer));
      if (values.json) printJson(created);
      else printRecord(created);
      return 0;
    },
  };
}

/** `list`: a table with the columns the entity's definition names. */
export function listCommand<K extends EntityKind>(spec: EntitySpec<K> & { nouns: string; byConsumer?: boolean }): Command {
  const usage = `Usage: gateway ${spec.group} list${spec.byConsumer ? " [--consumer USERNAME|ID]" : ""} [--json]

Lists the ${spec.nouns}${spec.byConsumer ? " (of one consumer with --consumer)" : ""}.

Options:
${JSON_USAGE}
${BACKEND_USAGE}`;
  return {
    name: "list",
    summary: `list ${spec.nouns}`,
    usage,
    async run(argv) {
      const { values } = parseFlags(argv, { ...(spec.byConsumer ? CONSUMER_FLAG : {}), ...BACKEND_FLAGS, json: { type: "boolean" } });
      if (helpRequested(values, usage)) return 0;
      const consumer = (values as FlagValues).consumer as string | undefined;
      const rows = await withClient(values as FlagValues, false, (client) => client.list(spec.kind, consumer));
      if (values.json) printJson(rows);
      else printTable(rows as Entity<K>[], [...(entityNamed(builtinEntities, spec.kind).cli?.columns ?? [])]);
      return 0;
    },
  };
}

export function getCommand<K extends EntityKind>(spec: EntitySpec<K> & { keyLabel: string; byConsumer?: boolean }): Command {
  const usage = `Usage: gateway ${spec.group} get ${spec.keyLabel}${spec.byConsumer ? " [--consumer USERNAME|ID]" : ""} [--json]

Shows one ${spec.noun}.

Options:
${JSON_USAGE}
${BACKEND_USAGE}`;
  return {
    name: "get",
    summary: `show one ${spec.noun}`,
    usage,
    async run(argv) {
      const { values, positionals } = parseFlags(argv, { ...(spec.byConsumer ? CONSUMER_FLAG : {}), ...BACKEND_FLAGS, json: { type: "boolean" } }, true);
      if (helpRequested(values, usage)) return 0;
      const key = onePositional(positionals, spec.keyLabel, `${spec.group} get`);
      const consumer = (values as FlagValues).consumer as string | undefined;
      const entity = await withClient(values as FlagValues, false, (client) => client.get(spec.kind, key, consumer));
      if (values.json) printJson(entity);
      else printRecord(entity);
      return 0;
    },
  };
}

export function deleteCommand<K extends EntityKind>(
  spec: EntitySpec<K> & {
    keyLabel: string;
    byConsumer?: "optional" | "required";
    /** The item is named by this flag rather than a positional argument (acl --group). */
    keyFlag?: string;
    cascade?: string;
    description?: string;
  },
): Command {
  const consumerPart = spec.byConsumer === "required" ? " --consumer USERNAME|ID" : spec.byConsumer ? " [--consumer USERNAME|ID]" : "";
  const keyPart = spec.keyFlag ? `--${spec.keyFlag} ${spec.keyLabel}` : spec.keyLabel;
  const usage = `Usage: gateway ${spec.group} delete${consumerPart} ${keyPart}${spec.cascade ? " [--cascade]" : ""}

Deletes one ${spec.noun}.${spec.description ? ` ${spec.description}` : ""}
${spec.cascade ? `\nOptions:\n  --cascade              ${spec.cascade}\n` : ""}
${BACKEND_USAGE}`;
  return {
    name: "delete",
    summary: `delete a ${spec.noun}`,
    usage,
    async run(argv) {
      const flags: Options = { ...BACKEND_FLAGS };
      if (spec.byConsumer) Object.assign(flags, CONSUMER_FLAG);
      if (spec.keyFlag) flags[spec.keyFlag] = { type: "string" };
      if (spec.cascade) flags.cascade = { type: "boolean" };
      const { values, positionals } = parseFlags(argv, flags, !spec.keyFlag);
      if (helpRequested(values, usage)) return 0;
      const loose = values as FlagValues;
      const key = spec.keyFlag ? (loose[spec.keyFlag] as string | undefined) : onePositional(positionals, spec.keyLabel, `${spec.group} delete`);
      if (!key) throw new UsageError(`--${spec.keyFlag} is required: the ${spec.noun} to delete`);
      const consumer = loose.consumer as string | undefined;
      if (spec.byConsumer === "required" && !consumer) throw new UsageError(`--consumer is required: the consumer whose ${spec.noun} to delete`);
      await withClient(loose, true, (client) => client.delete(spec.kind, key, { parent: consumer, cascade: loose.cascade === true })).catch((error) => {
        // The store words its refusal for the admin API (`?cascade=true`); here it is a flag.
        if (error instanceof GatewayError && spec.cascade) error.message = error.message.replace("?cascade=true", "--cascade");
        throw error;
      });
      process.stdout.write(`deleted ${spec.noun} '${key}'\n`);
      return 0;
    },
  };
}
