// Starts `gateway serve` from the source tree as its own process with a chosen proxy engine
// (GATEWAY_PROXY_ENGINE), over a declarative file. A process of its own per engine: Bun's
// fetch keeps one connection pool per process, and two gateways in one process would share it.
import { join } from "node:path";

const MAIN = join(import.meta.dir, "../../src/main.ts");

export type ProxyEngine = "serve" | "raw";
export const ENGINES: readonly ProxyEngine[] = ["serve", "raw"];

export interface EngineGateway {
  engine: ProxyEngine;
  host: string;
  port: number;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * Whether this tree has the raw engine: `serve --help` names `--proxy-engine`. Without it the
 * environment variable is ignored and both gateways run the serve engine.
 */
export function rawEngineBuilt(): boolean {
  const help = Bun.spawnSync([process.execPath, MAIN, "serve", "--help"], { stdout: "pipe", stderr: "pipe" });
  return help.stdout.toString().includes("--proxy-engine");
}

/** `serve` on `host:port` (port 0: any) with `engine`; resolves once the proxy listens. */
export async function startEngineGateway(engine: ProxyEngine, configPath: string, host: string, port = 0): Promise<EngineGateway> {
  // The engine is the only GATEWAY_ variable the child sees: a suite run with another engine
  // in its environment must not choose for it.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("GATEWAY_")));
  const child = Bun.spawn(
    [process.execPath, MAIN, "serve", "--config", configPath, "--proxy-listen", `${host}:${port}`, "--admin-listen", "127.0.0.1:0", "--workers", "1", "--access-log", "off", "--drain-timeout", "1"],
    { env: { ...env, GATEWAY_PROXY_ENGINE: engine }, stdout: "ignore", stderr: "pipe" },
  );
  let text = "";
  const decoder = new TextDecoder();
  const pump = (async () => {
    for await (const chunk of child.stderr as ReadableStream<Uint8Array>) text += decoder.decode(chunk);
  })();
  const deadline = Date.now() + 15_000;
  while (!/admin: http/.test(text)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill();
      await pump.catch(() => {});
      throw new Error(`gateway (${engine} engine) did not start: ${text}`);
    }
    await Bun.sleep(10);
  }
  const listening = /proxy: http:\/\/([^\s:]+):(\d+)/.exec(text)!;
  return {
    engine,
    host: listening[1]!,
    port: Number(listening[2]),
    stderr: () => text,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      await child.exited;
      await pump.catch(() => {});
    },
  };
}
