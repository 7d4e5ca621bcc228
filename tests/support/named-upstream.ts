// An upstream in its own Bun process that says who it is (`{"name": ...}` and `x-upstream-name`),
// so a test can kill it and start it again on the same port. `/health` answers 200.
import { type Subprocess, spawn } from "bun";

const SCRIPT = `
const name = process.env.UPSTREAM_NAME;
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(process.env.UPSTREAM_PORT),
  fetch(request) {
    const url = new URL(request.url);
    return Response.json({ name, path: url.pathname, host: request.headers.get("host") }, { headers: { "x-upstream-name": name } });
  },
});
process.stdout.write("PORT " + server.port + "\\n");
`;

export interface NamedUpstream {
  readonly name: string;
  port: number;
  /** host:port, as a target. */
  readonly target: string;
  /** Ends the process (SIGKILL: as a crash, no goodbye to open connections). */
  kill(): Promise<void>;
  /** Starts it again on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function launch(name: string, port: number): Promise<{ child: Subprocess; port: number }> {
  const child = spawn([process.execPath, "-e", SCRIPT], { env: { ...process.env, UPSTREAM_NAME: name, UPSTREAM_PORT: String(port) }, stdout: "pipe", stderr: "inherit" });
  const reader = (child.stdout as ReadableStream<Uint8Array>).getReader();
  let text = "";
  while (!/PORT \d+\n/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`upstream ${name} did not start: ${text}`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return { child, port: Number(/PORT (\d+)/.exec(text)![1]) };
}

export async function startNamedUpstream(name: string): Promise<NamedUpstream> {
  let { child, port } = await launch(name, 0);
  let running = true;
  const upstream: NamedUpstream = {
    name,
    port,
    target: `127.0.0.1:${port}`,
    async kill() {
      if (!running) return;
      running = false;
      child.kill("SIGKILL");
      await child.exited;
    },
    async restart() {
      if (running) return;
      child = (await launch(name, port)).child;
      running = true;
    },
    stop: () => upstream.kill(),
  };
  return upstream;
}
