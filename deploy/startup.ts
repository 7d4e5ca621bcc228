// Size and start-up time of each Linux release executable: `--version` (process start to exit)
// and `serve --config` (spawn to the first proxied 200). arm64 runs under qemu-aarch64 when it is
// installed, so its times are emulation's, not an arm64 machine's.
//   bun deploy/startup.ts [DIR=dist/release] [runs=20]
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { startupRig } from "../bench/startup-rig.ts";
import { RELEASE_TARGETS, ROOT } from "./build.ts";
import { artifactName } from "./release.ts";

const dir = resolve(process.argv[2] ?? join(ROOT, "dist/release"));
const runs = Number(process.argv[3] ?? 20);
const qemu = Bun.which("qemu-aarch64");

const rig = startupRig("gateway-startup-");

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
    const child = Bun.spawn([...prefix, file, "--version"], { cwd: rig.dir, stdout: "ignore", stderr: "ignore" });
    await child.exited;
    version.push(performance.now() - started);
  }
  // Under qemu-user one process: workers are the executable exec'd again, outside the emulator.
  const serve: string[] = [];
  for (const workers of emulated ? ["1"] : ["1", "auto"]) {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const port = await rig.freePort();
      const argv = [...prefix, file, "serve", "--config", rig.config, "--proxy-listen", `127.0.0.1:${port}`, "--admin-listen", "127.0.0.1:0", "--access-log", "off", "--workers", workers];
      const { child, ms } = await rig.firstProxied200(argv, port);
      times.push(ms);
      child.kill("SIGTERM");
      await child.exited;
    }
    serve.push(`serve --workers ${workers} to first 200 ${quantiles(times)}`);
  }
  const size = (Bun.file(file).size / 1e6).toFixed(1);
  console.log(`${target.name}${emulated ? " (qemu)" : ""}: ${size} MB; --version ${quantiles(version)}; ${serve.join("; ")} (${runs} runs each)`);
}
rig.stop();
