// What a CLI command is, and the shared parsing of flags and addresses.
import { readFileSync } from "node:fs";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError, describeError } from "../errors.ts";

export interface Command {
  name: string;
  summary: string;
  /** Full `--help` text. */
  usage: string;
  /** Returns the exit code. Throws UsageError for bad invocations (exit 2). */
  run(argv: string[]): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** parseArgs with our usage errors: one line naming the flag and what is expected. */
export function parseFlags<O extends Options>(argv: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals, strict: true });
  } catch (error) {
    const message = (error as Error).message.split("\n")[0] ?? "invalid arguments";
    throw new UsageError(
      message
        .replace(/\. To specify a positional argument.*$/, "")
        .replace(/^Unknown option '(.*?)'.*$/, "unknown flag $1")
        .replace(/^Option '(--[^' ]+).*' argument is ambiguous\.$/, '$1: a value starting with "-" must be written $1=VALUE')
        .replace(/^Option '(--[^' ]+).*' argument missing$/, "$1: a value is required")
        .replace(/^Unexpected argument '(.*)'.*$/, "unexpected argument '$1'"),
    );
  }
}

/** Flags win over GATEWAY_<FLAG> variables (SPEC §2). */
export function flagOrEnv(value: string | undefined, flag: string, fallback?: string): string | undefined {
  return value ?? process.env[`GATEWAY_${flag.toUpperCase().replace(/-/g, "_")}`] ?? fallback;
}

export interface Address {
  hostname: string;
  port: number;
}

/** `HOST:PORT`, `[V6]:PORT`, `:PORT` or `PORT`. */
export function parseAddress(text: string, flag: string): Address {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(text) ?? /^()()(\d+)$/.exec(text);
  const port = match ? Number(match[3]) : NaN;
  if (!match || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`${flag}: expected HOST:PORT (e.g. 127.0.0.1:8001), got '${text}'`);
  }
  return { hostname: match[1] ?? (match[2] || "0.0.0.0"), port };
}

export function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || /^127\./.test(hostname);
}

export function formatAddress(hostname: string, port: number, scheme: "http" | "https" = "http"): string {
  return `${scheme}://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
}

/** A command with subcommands (`gateway consumer add|list|...`): dispatches on the first word. */
export function commandGroup(name: string, summary: string, intro: string, subcommands: Command[]): Command {
  const width = Math.max(...subcommands.map((c) => c.name.length));
  const usage = `Usage: gateway ${name} <${subcommands.map((c) => c.name).join("|")}> [options]

${intro}

Subcommands:
${subcommands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n")}

Each takes --help, e.g. gateway ${name} ${subcommands[0]!.name} --help.
`;
  return {
    name,
    summary,
    usage,
    async run(argv) {
      const [word, ...rest] = argv;
      if (word === undefined || word === "--help" || word === "-h") {
        process.stdout.write(usage);
        return word === undefined ? 2 : 0;
      }
      const sub = subcommands.find((c) => c.name === word);
      if (!sub) throw new UsageError(`unknown subcommand '${name} ${word}' (expected ${subcommands.map((c) => c.name).join(", ")})`);
      return sub.run(rest);
    },
  };
}

/** Prints `usage` when --help was given; true means the command is done. */
export function helpRequested(values: { help?: boolean }, usage: string): boolean {
  if (values.help) process.stdout.write(usage);
  return values.help === true;
}

/** A flag the command cannot do without. */
/** `--flag true|false` → the boolean; absent → undefined (the entity's default). */
export function booleanFlag(value: string | undefined, flag: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === "true" || value === "false") return value === "true";
  throw new UsageError(`${flag}: expected true or false, got '${value}'`);
}

export function required<T>(value: T | undefined, flag: string, what: string): T {
  if (value === undefined || value === "") throw new UsageError(`${flag} is required: ${what}`);
  return value;
}

/** A flag holding a JSON object inline or, as `@FILE`, in a file (sign --claims, plugin --config). */
export function jsonObjectFlag(text: string, flag: string): Record<string, unknown> {
  let source = text;
  if (text.startsWith("@")) {
    try {
      source = readFileSync(text.slice(1), "utf8");
    } catch (error) {
      throw new UsageError(`${flag} ${text}: cannot read ${text.slice(1)} (${(error as NodeJS.ErrnoException).code ?? "unreadable"})`);
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (error) {
    throw new UsageError(`${flag}: expected a JSON object or @FILE, got invalid JSON (${describeError(error)})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new UsageError(`${flag}: expected a JSON object, got ${Array.isArray(value) ? "an array" : typeof value === "object" ? "null" : `a ${typeof value}`}`);
  return value as Record<string, unknown>;
}
