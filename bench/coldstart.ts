// Cold start of the compiled binary: time from spawn to the first proxied 200, and idle RSS.
//   bun bench/coldstart.ts [runs=20]
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const runs = Number(process.argv[2] ?? 20);
const binary = join(import.meta.dir, "../dist/gateway");
const upstream = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("ok") });
const dir = mkdtempSync(join(tmpdir(), "gateway-coldstart-"));
const config = join(dir, "kong.yml");
writeFileSync(config, `_format_version: "3.0"\nservices:\n  - name: up\n    url: http://127.0.0.1:${upstream.port}\n    routes:\n      - name: all\n        paths: [/]\n`);

async function freePort(): Promise<number> {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port as number;
  probe.stop(true);
  return port;
}

const times: number[] = [];
const rss: number[] = [];
for (let i = 0; i < runs; i++) {
  const port = await freePort();
  const started = performance.now();
  const child = Bun.spawn([binary, "serve", "--config", config, "--proxy-listen", `127.0.0.1:${port}`, "--admin-listen", "127.0.0.1:0", "--access-log", "off"], { cwd: dir, stdout: "ignore", stderr: "ignore" });
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.status === 200, () => false);
    if (ok) break;
    await Bun.sleep(2);
  }
  times.push(performance.now() - started);
  await Bun.sleep(200);
  rss.push(Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))![1]) / 1024);
  child.kill("SIGTERM");
  await child.exited;
}
upstream.stop(true);
const sorted = [...times].sort((a, b) => a - b);
const pick = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
console.log(`cold start to first proxied 200 over ${runs} runs: median ${pick(0.5).toFixed(0)} ms, p90 ${pick(0.9).toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms`);
console.log(`idle RSS after the first request: median ${[...rss].sort((a, b) => a - b)[Math.floor(rss.length / 2)]!.toFixed(1)} MB`);
