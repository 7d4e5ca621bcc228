import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { RUNTIME_ENV, runtimeRestartEnv } from "./runtime-settings.ts";

const MAIN = join(import.meta.dir, "..", "main.ts");
const CONFIG = join(import.meta.dir, "..", "..", "bench", "noplugins.yml");

test("on Linux without the settings: the environment to restart with keeps every variable and adds them", () => {
  expect(runtimeRestartEnv({ PATH: "/bin", HOME: "/root" }, "linux")).toEqual({ PATH: "/bin", HOME: "/root", ...RUNTIME_ENV });
});

test("one setting chosen by the operator: it is kept, the other is added", () => {
  expect(runtimeRestartEnv({ MIMALLOC_PURGE_DELAY: "10" }, "linux")).toEqual({ MIMALLOC_PURGE_DELAY: "10", BUN_CONFIG_MAX_HTTP_REQUESTS: "65535" });
  expect(runtimeRestartEnv({ BUN_CONFIG_MAX_HTTP_REQUESTS: "512" }, "linux")).toEqual({ BUN_CONFIG_MAX_HTTP_REQUESTS: "512", MIMALLOC_PURGE_DELAY: "-1" });
});

test("every setting there already, or another platform: no restart", () => {
  expect(runtimeRestartEnv({ ...RUNTIME_ENV }, "linux")).toBeNull();
  expect(runtimeRestartEnv({ MIMALLOC_PURGE_DELAY: "10", BUN_CONFIG_MAX_HTTP_REQUESTS: "512" }, "linux")).toBeNull();
  expect(runtimeRestartEnv({ PATH: "/bin" }, "darwin")).toBeNull();
});

/** Starts `serve` from source; resolves with its process and its environment once it listens. */
async function serveAndReadEnvironment(env: Record<string, string>): Promise<{ pid: number; environment: string[]; child: ReturnType<typeof Bun.spawn> }> {
  const child = Bun.spawn([process.execPath, MAIN, "serve", "--config", CONFIG, "--workers", "1", "--proxy-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--access-log", "off"], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdout: "ignore",
    stderr: "pipe",
  });
  const reader = child.stderr.getReader();
  let text = "";
  while (!/proxy: \S+:\d+/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`serve exited: ${text}`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return { pid: child.pid, environment: readFileSync(`/proc/${child.pid}/environ`, "latin1").split("\0"), child };
}

test.skipIf(process.platform !== "linux")("serve restarts itself in place (same pid, same arguments) with the settings; an operator's own value is kept", async () => {
  const restarted = await serveAndReadEnvironment({ GATEWAY_WORKERS: "1" });
  try {
    expect(restarted.environment).toContain("MIMALLOC_PURGE_DELAY=-1");
    expect(restarted.environment).toContain("BUN_CONFIG_MAX_HTTP_REQUESTS=65535");
    expect(restarted.environment).toContain("GATEWAY_WORKERS=1");
    expect(readFileSync(`/proc/${restarted.pid}/cmdline`, "latin1").split("\0")).toContain("--proxy-listen");
  } finally {
    restarted.child.kill("SIGTERM");
    await restarted.child.exited;
  }
  const chosen = await serveAndReadEnvironment({ MIMALLOC_PURGE_DELAY: "10" });
  try {
    expect(chosen.environment).toContain("MIMALLOC_PURGE_DELAY=10");
    expect(chosen.environment).toContain("BUN_CONFIG_MAX_HTTP_REQUESTS=65535");
  } finally {
    chosen.child.kill("SIGTERM");
    await chosen.child.exited;
  }
}, 30_000);
