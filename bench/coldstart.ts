// Cold start of the compiled binary: time from spawn to the first proxied 200, and idle RSS.
//   bun bench/coldstart.ts [runs=20]      (one process unless GATEWAY_WORKERS says otherwise)
import { join } from "node:path";
import { rssBytes } from "../tests/support/rss.ts";
import { startupRig } from "./startup-rig.ts";

const runs = Number(process.argv[2] ?? 20);
const binary = join(import.meta.dir, "../dist/gateway");
const rig = startupRig("gateway-coldstart-");
const times: number[] = [];
const rss: number[] = [];
for (let i = 0; i < runs; i++) {
  const port = await rig.freePort();
  const argv = [binary, "serve", "--config", rig.config, "--proxy-listen", `127.0.0.1:${port}`, "--admin-listen", "127.0.0.1:0", "--access-log", "off"];
  const { child, ms } = await rig.firstProxied200(argv, port);
  times.push(ms);
  await Bun.sleep(200);
  rss.push(rssBytes(child.pid) / 1024 / 1024);
  child.kill("SIGTERM");
  await child.exited;
}
rig.stop();
const sorted = [...times].sort((a, b) => a - b);
const pick = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
console.log(`cold start to first proxied 200 over ${runs} runs: median ${pick(0.5).toFixed(0)} ms, p90 ${pick(0.9).toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms`);
console.log(`idle RSS after the first request: median ${[...rss].sort((a, b) => a - b)[Math.floor(rss.length / 2)]!.toFixed(1)} MB`);
