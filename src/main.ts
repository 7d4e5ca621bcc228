#!/usr/bin/env bun
// argv → command. Exit codes: 0 success, 2 usage error, 1 any other failure, always with a
// one-line reason on stderr and never a stack trace.
// Before anything that may load @peculiar/x509: its tsyringe needs the Reflect metadata API
// when it loads, and the bundle evaluates it ahead of the dynamically imported commands.
import "reflect-metadata";
import { restartWithRuntimeSettings } from "./cli/runtime-settings.ts";
import type { Command } from "./cli/command.ts";
import { UsageError, describeError } from "./errors.ts";
import { quote } from "./entities/quote.ts";
import { VERSION, versionInfo, versionLine } from "./version.ts";
import { WORKER_FLAG } from "./workers/ipc.ts";

function overview(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `gateway ${VERSION}: JWT-authenticating API gateway

Usage: gateway <command> [options]

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n")}

  gateway help <command>   details of one command
  gateway --version        version, commit and target (gateway version --json: as JSON)
`;
}

function printVersion(args: string[]): number {
  const json = args[0] === "--json";
  if (args.length > (json ? 1 : 0)) throw new UsageError(`version takes only --json, not ${quote(args[json ? 1 : 0])}`);
  process.stdout.write(json ? `${JSON.stringify(versionInfo())}\n` : `${versionLine()}\n`);
  return 0;
}

async function main(args: string[]): Promise<number> {
  // A leading `--` (docker-compose's `run ... SERVICE -- proxy adduser ...` passes it on) ends
  // nothing here: the command follows it.
  const argv = args[0] === "--" ? args.slice(1) : args;
  const [name, ...rest] = argv;
  // First, while nothing is loaded yet: a restart costs only this module's start.
  if (name === "serve") restartWithRuntimeSettings();
  // A worker of `serve --workers N` loads the proxy alone: the admin API, the CLI and their
  // libraries stay out of its heap (about 6 MB less per worker).
  if (name === "serve" && rest[0] === WORKER_FLAG) {
    const { runWorker } = await import("./workers/worker.ts");
    return runWorker(rest[1]);
  }
  const { commands } = await import("./cli/commands.ts");
  if (name === undefined || name === "--help" || name === "-h") {
    process.stdout.write(overview(commands));
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-v" || name === "version") return printVersion(rest);
  if (name === "help") {
    const target = rest[0] ? commands.find((c) => c.name === rest[0]) : undefined;
    if (rest[0] && !target) throw new UsageError(`unknown command '${rest[0]}' (see gateway help)`);
    process.stdout.write(target ? target.usage : overview(commands));
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) throw new UsageError(`unknown command '${name}' (see gateway help)`);
  return command.run(rest);
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`gateway: ${describeError(error)}\n`);
  process.exitCode = error instanceof UsageError ? 2 : 1;
}
