// What a CLI command is, and the shared parsing of flags and addresses.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "../errors.ts";

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
    throw new UsageError(message.replace(/\. To specify a positional argument.*$/, "").replace(/^Unknown option '(.*?)'.*$/, "unknown flag $1"));
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

export function formatAddress(hostname: string, port: number): string {
  return `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
}
