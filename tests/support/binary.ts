// Builds dist/gateway once per test run and starts it as a user would: a spawned process
// whose listeners are learned from what `serve` prints.
import { join } from "node:path";

const ROOT = join(import.meta.dir, "../..");
let built: Promise<string> | null = null;

/**
 * Builds the compiled executable (once per test process) and returns its absolute path. Under
 * tests/run-all.sh, which builds it once before its parallel runs, none rebuilds it: a rebuild
 * would replace the file under the processes another run started from it.
 */
export function ensureBinary(): Promise<string> {
  built ??= (async () => {
    if (process.env.GATEWAY_TEST_BINARY_BUILT === "1") return join(ROOT, "dist/gateway");
    const build = Bun.spawn(["npm", "run", "build", "--silent"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    if ((await build.exited) !== 0) throw new Error(`build failed: ${await new Response(build.stderr).text()}`);
    return join(ROOT, "dist/gateway");
  })();
  return built;
}

export interface ServeProcess {
  process: ReturnType<typeof Bun.spawn>;
  proxyUrl: string;
  adminUrl: string;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  stop(signal?: NodeJS.Signals): Promise<number>;
}

/** Spawns `gateway serve` with ephemeral loopback ports and waits for its listeners. */
export async function spawnServe(binary: string, args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<ServeProcess> {
  const child = Bun.spawn([binary, "serve", "--proxy-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", ...args], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? "", HOME: options.cwd, ...options.env },
    stdout: "ignore",
    stderr: "pipe",
  });
  let text = "";
  const reader = (child.stderr as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const pump = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      text += decoder.decode(value);
    }
  })();
  const deadline = Date.now() + 10_000;
  while (!/admin: http/.test(text)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await pump.catch(() => {});
      throw new Error(`gateway did not start: ${text}`);
    }
    await Bun.sleep(10);
  }
  return {
    process: child,
    proxyUrl: /proxy: (http:\/\/\S+)/.exec(text)![1]!,
    adminUrl: /admin: (http:\/\/\S+)/.exec(text)![1]!,
    stderr: () => text,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null) child.kill(signal);
      return child.exited;
    },
  };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one CLI command to completion, with an environment free of the caller's GATEWAY_* variables. */
export async function runCli(binary: string, args: string[], options: { cwd: string; env?: Record<string, string>; stdin?: string }): Promise<CliResult> {
  const child = Bun.spawn([binary, ...args], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? "", HOME: options.cwd, ...options.env },
    stdin: options.stdin === undefined ? "ignore" : new TextEncoder().encode(options.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}
