// WebSocket relay cost: echo round trips per second straight to a Bun upstream, through the
// compiled gateway and through nginx proxying WebSockets (each pinned to core 1, one process,
// run one after the other in each round), and each proxy's CPU time per round trip (two
// relayed messages) read from /proc.
//   flock /tmp/gateway-bench.lock taskset -c 0 bun bench/websocket.ts [seconds=5] [connections=50]
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
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
const nginxPort = port + 1;
mkdirSync(join(dir, "nginx"));
writeFileSync(
  join(dir, "nginx/nginx.conf"),
  `worker_processes 1;
daemon off;
pid nginx.pid;
error_log stderr error;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path tmp; proxy_temp_path tmp; fastcgi_temp_path tmp; uwsgi_temp_path tmp; scgi_temp_path tmp;
  server {
    listen 127.0.0.1:${nginxPort};
    location / {
      proxy_pass http://127.0.0.1:${upstream.port};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
    }
  }
}
`,
);
mkdirSync(join(dir, "nginx/tmp"));
const nginx = Bun.spawn(["taskset", "-c", "1", "nginx", "-p", join(dir, "nginx"), "-c", join(dir, "nginx/nginx.conf")], { stdout: "ignore", stderr: "inherit" });
for (const each of [port, nginxPort]) while (!(await fetch(`http://127.0.0.1:${each}/`).then(() => true, () => false))) await Bun.sleep(20);
// nginx's worker is the master's only child.
const nginxWorker = Number(readFileSync(`/proc/${nginx.pid}/task/${nginx.pid}/children`, "utf8").trim().split(" ")[0]);

const ticks = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
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
/** Round trips per second through `proxyPort`, and the proxy's CPU µs per round trip. */
async function through(proxyPort: number, pid: number, payload: string | Uint8Array): Promise<[number, number]> {
  const before = ticks(pid);
  const count = await roundTrips(`ws://127.0.0.1:${proxyPort}/`, payload);
  return [count / seconds, ((ticks(pid) - before) * TICK_US) / count];
}

console.log(`${connections} connections, ${seconds} s per run; the gateway and nginx pinned to core 1`);
for (const [name, payload] of workloads) {
  for (let round = 1; round <= 2; round++) {
    const direct = (await roundTrips(`ws://127.0.0.1:${upstream.port}/`, payload)) / seconds;
    const [gw, gwUs] = await through(port, gateway.pid, payload);
    const [ng, ngUs] = await through(nginxPort, nginxWorker, payload);
    console.log(
      `${name}, round ${round}: direct ${direct.toFixed(0)}/s; gateway ${gw.toFixed(0)}/s, ${gwUs.toFixed(1)} us CPU per round trip; nginx ${ng.toFixed(0)}/s, ${ngUs.toFixed(1)} us; gateway/nginx CPU per round trip ${(gwUs / ngUs).toFixed(2)}x`,
    );
  }
}
gateway.kill("SIGTERM");
nginx.kill("SIGTERM");
await Promise.all([gateway.exited, nginx.exited]);
upstream.stop(true);
