// Size and start-up time of each Linux release executable: `--version` (process start to exit)
// and `serve --config` (spawn to the first proxied 200). arm64 runs under qemu-aarch64 when it is
// installed, so its times are emulation's, not an arm64 machine's.
//   bun deploy/startup.ts [DIR=dist/release] [runs=20]
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { RELEASE_TARGETS, ROOT } from "./build.ts";
import { artifactName } from "./release.ts";

const dir = resolve(process.argv[2] ?? join(ROOT, "dist/release"));
const runs = Number(process.argv[3] ?? 20);
const qemu = Bun.which("qemu-aarch64");

const upstream = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("ok") });
const work = mkdtempSync(join(tmpdir(), "gateway-startup-"));
const config = join(work, "kong.yml");
writeFileSync(config, `_format_version: "3.0"\nservices:\n  - name: up\n    url: http://127.0.0.1:${upstream.port}\n    routes:\n      - name: all\n        paths: [/]\n`);

async function freePort(): Promise<number> {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port as number;
  probe.stop(true);
  return port;
}

const quantiles = (times: number[]) => {
  const sorted = [...times].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(0);
  return `median ${at(0.5)} ms, p90 ${at(0.9)} ms`;
};

for (const target of RELEASE_TARGETS.filter((t) => t.os === "linux")) {
  const file = join(dir, artifactName(target));
  if (!existsSync(file)) continue;
  const emulated = target.arch !== (process.arch === "arm64" ? "arm64" : "x64");
  if (emulated && !qemu) {
    console.log(`${target.name}: skipped (qemu-aarch64 not installed)`);
    continue;
  }
  const prefix = emulated ? [qemu!, "-L", "/usr/aarch64-linux-gnu"] : [];
  const version: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const child = Bun.spawn([...prefix, file, "--version"], { cwd: work, stdout: "ignore", stderr: "ignore" });
    await child.exited;
    version.push(performance.now() - started);
  }
  // Under qemu-user one process: workers are the executable exec'd again, outside the emulator.
  const serve: string[] = [];
  for (const workers of emulated ? ["1"] : ["1", "auto"]) {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const port = await freePort();
      const started = performance.now();
      const argv = [...prefix, file, "serve", "--config", config, "--proxy-listen", `127.0.0.1:${port}`, "--admin-listen", "127.0.0.1:0", "--access-log", "off", "--workers", workers];
      const child = Bun.spawn(argv, { cwd: work, stdout: "ignore", stderr: "pipe" });
      while (!(await fetch(`http://127.0.0.1:${port}/`).then((r) => r.status === 200, () => false))) {
        if (child.exitCode !== null) throw new Error(`${target.name} serve exited ${child.exitCode}: ${await new Response(child.stderr).text()}`);
        await Bun.sleep(2);
      }
      times.push(performance.now() - started);
      child.kill("SIGTERM");
      await child.exited;
    }
    serve.push(`serve --workers ${workers} to first 200 ${quantiles(times)}`);
  }
  const size = (Bun.file(file).size / 1e6).toFixed(1);
  console.log(`${target.name}${emulated ? " (qemu)" : ""}: ${size} MB; --version ${quantiles(version)}; ${serve.join("; ")} (${runs} runs each)`);
}
upstream.stop(true);
rmSync(work, { recursive: true, force: true });
