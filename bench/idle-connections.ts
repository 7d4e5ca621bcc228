// Issue 20's memory target: what 10,000 idle keep-alive client connections cost the gateway in
// RSS. Starts the compiled gateway on a no-plugin route to a local upstream, warms it, reads its
// VmRSS, then opens N client connections that each send one request, read the answer and stay
// open (keep-alive, well inside the 120 s idle timeout), and reads VmRSS again.
//   ulimit -n 65536; bun bench/idle-connections.ts BIN [raw|serve] [N=10000]
// → "engine E connections N rss_before_mb X rss_after_mb Y extra_mb Z per_connection_kb W"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [binary, engine = "raw", countText = "10000"] = process.argv.slice(2);
if (!binary) throw new Error("usage: bun bench/idle-connections.ts BIN [raw|serve] [N]");
const connections = Number(countText);
const BATCH = 500;

const upstream = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response('{"ok":true}') });
const free = () => { const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }); const port = probe.port; probe.stop(true); return port; };
const proxyPort = free();
const adminPort = free();
const dir = mkdtempSync(join(tmpdir(), "idle-connections-"));
const config = join(dir, "gateway.yml");
writeFileSync(config, `_format_version: "3.0"\nservices:\n  - name: upstream\n    url: http://127.0.0.1:${upstream.port}\n    routes:\n      - name: all\n        paths: [/]\n`);

const gateway = Bun.spawn([binary, "serve", "--config", config, "--proxy-listen", `127.0.0.1:${proxyPort}`,
  "--admin-listen", `127.0.0.1:${adminPort}`, "--access-log", "off", "--proxy-engine", engine], {
  env: { ...process.env, GATEWAY_WORKERS: "1" }, stdout: "ignore", stderr: "inherit",
});
const rssMb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${gateway.pid}/status`, "utf8"))![1]) / 1024;

try {
  for (let tries = 0; ; tries++) {
    try { await fetch(`http://127.0.0.1:${proxyPort}/`); break; } catch { if (tries > 200) throw new Error("gateway did not start"); await Bun.sleep(50); }
  }
  for (let i = 0; i < 2000; i++) await (await fetch(`http://127.0.0.1:${proxyPort}/warm`)).arrayBuffer();
  await Bun.sleep(2000);
  const before = rssMb();

  const open: Array<{ end(): void }> = [];
  for (let start = 0; start < connections; start += BATCH) {
    const batch: Promise<void>[] = [];
    for (let i = start; i < Math.min(connections, start + BATCH); i++) {
      batch.push(new Promise<void>((resolve, reject) => {
        Bun.connect({
          hostname: "127.0.0.1", port: proxyPort,
          socket: {
            open(socket) { open.push(socket); socket.write(`GET /idle/${i} HTTP/1.1\r\nHost: bench\r\n\r\n`); },
            data(_socket, bytes) { if (bytes.includes("ok")) resolve(); },
            close() { reject(new Error(`connection ${i} closed before it was idle`)); },
            error(_socket, error) { reject(error); },
          },
        }).catch(reject);
      }));
    }
    await Promise.all(batch);
  }
  await Bun.sleep(3000);
  const after = rssMb();
  console.log(`engine ${engine} connections ${connections} rss_before_mb ${before.toFixed(1)} rss_after_mb ${after.toFixed(1)} ` +
    `extra_mb ${(after - before).toFixed(1)} per_connection_kb ${(((after - before) * 1024) / connections).toFixed(2)}`);
  for (const socket of open) socket.end();
} finally {
  gateway.kill();
  await gateway.exited;
  upstream.stop(true);
}
