// Every command of the CLI, in the order `gateway help` lists them.
import type { Command } from "./command.ts";
import { serveCommand } from "./serve.ts";

export const commands: Command[] = [serveCommand];
