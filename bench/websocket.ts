// WebSocket relay cost: echo round trips per second straight to a Bun upstream and through the
// compiled gateway (pinned to core 1, one process), same run, and the gateway's CPU time per
// round trip (two relayed messages) read from /proc.
//   flock /tmp/gateway-bench.lock taskset -c 0 bun bench/websocket.ts [seconds=5] [connections=50]
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../tests/support/gateway.ts";

const seconds = Number(process.argv[2] ?? 5);
const connections = Number(process.argv[3] ?? 50);
const binary = join(import.meta.dir, "../dist/gateway");

const upstream = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: (request, server) => (server.upgrade(request) ? undefined : new Response("not a websocket", { status: 400 })),
  websocket: { message: (ws, message) => void ws.send(message) },
});
const dir = tempDir("gateway-bench-ws-");
writeFileSync(join(dir, "kong.yml"), `_format_version: "3.0"\nservices:\n  - name: echo\n    url: http://127.0.0.1:${upstream.port}\n    routes:\n      - name: all\n        paths: [/]\n`);
const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
const port = probe.port as number;
probe.stop(true);
const gateway = Bun.spawn(["taskset", "-c", "1", binary, "serve", "--config", "kong.yml", "--proxy-listen", `127.0.0.1:${port}`, "--admin-listen", "127.0.0.1:0", "--access-log", "off"], {
  cwd: dir,
  env: { ...process.env, GATEWAY_WORKERS: "1" },
  stdout: "ignore",
  stderr: "inherit",
});
while (!(await fetch(`http://127.0.0.1:${port}/`).then(() => true, () => false))) await Bun.sleep(20);

const ticks = () => {
  const fields = readFileSync(`/proc/${gateway.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return Number(fields[11]) + Number(fields[12]);
};
const TICK_US = 1e6 / 100;

/** Each connection sends one message and waits for its echo, until the deadline. */
async function roundTrips(url: string, payload: string | Uint8Array): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  const counts = await Promise.all(
    Array.from({ length: connections }, () =>
      new Promise<number>((resolve, reject) => {
        const socket = new WebSocket(url);
        let count = 0;
        socket.onopen = () => socket.send(payload);
        socket.onmessage = () => {
          count++;
          if (performance.now() < deadline) socket.send(payload);
          else socket.close(1000);
        };
        socket.onclose = () => resolve(count);
        socket.onerror = () => reject(new Error(`connection to ${url} failed`));
      }),
    ),
  );
  return counts.reduce((a, b) => a + b, 0);
}

const workloads: [string, string | Uint8Array][] = [["32-byte text", "x".repeat(32)], ["64 KiB binary", new Uint8Array(65536)]];
console.log(`${connections} connections, ${seconds} s per run; gateway pinned to core 1`);
for (const [name, payload] of workloads) {
  for (let round = 1; round <= 2; round++) {
    const direct = await roundTrips(`ws://127.0.0.1:${upstream.port}/`, payload);
    const before = ticks();
    const through = await roundTrips(`ws://127.0.0.1:${port}/`, payload);
    const cpuUs = ((ticks() - before) * TICK_US) / through;
    console.log(
      `${name}, round ${round}: direct ${(direct / seconds).toFixed(0)}/s, through the gateway ${(through / seconds).toFixed(0)}/s (${(through / direct).toFixed(2)}x), gateway CPU ${cpuUs.toFixed(1)} us per round trip`,
    );
  }
}
gateway.kill("SIGTERM");
await gateway.exited;
upstream.stop(true);
