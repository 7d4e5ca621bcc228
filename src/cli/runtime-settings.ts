// Runtime settings of a long-running gateway that Bun reads from the environment once, before
// any JavaScript runs, so `serve` starts itself again, in place (same process id, same
// arguments), with them set:
// - Bun's allocator (mimalloc) hands pages it has freed back to the kernel 10 ms later by
//   default, so every garbage collection's freed blocks are faulted in and zeroed again moments
//   later: on the proxy path that cost 15-25% of the CPU per request (bench/RESULTS.md, "Proxy
//   engines (issue 20)").
// - Bun's fetch runs at most 256 requests at once, process-wide, and requests with bodies and
//   https services go through it: 256 clients that stop sending their bodies held every slot,
//   and every other such request waited behind them (tests/security/raw-engine-findings.md,
//   "Fourth pass"). 65535 is the most Bun takes; the descriptor limit bounds it, as nginx's.
import { selfInvocation } from "../workers/ipc.ts";

export const RUNTIME_ENV: Readonly<Record<string, string>> = { MIMALLOC_PURGE_DELAY: "-1", BUN_CONFIG_MAX_HTTP_REQUESTS: "65535" };

/**
 * The environment to start again with, or null when this one will do: every setting is there
 * already (a value the operator chose wins), or the platform is not Linux (where it was measured).
 */
export function runtimeRestartEnv(env: NodeJS.ProcessEnv, platform: NodeJS.Platform): Record<string, string> | null {
  if (platform !== "linux") return null;
  const missing = Object.keys(RUNTIME_ENV).filter((name) => env[name] === undefined);
  if (missing.length === 0) return null;
  const next: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined) next[name] = value;
  for (const name of missing) next[name] = RUNTIME_ENV[name]!;
  return next;
}

/** Replaces this process with itself under the runtime settings; returns only when it need not (or cannot). */
export function restartWithRuntimeSettings(): void {
  const env = runtimeRestartEnv(process.env, process.platform);
  if (env === null) return;
  try {
    const [file, ...entry] = selfInvocation();
    process.execve?.(file!, [file!, ...entry, ...process.argv.slice(2)], env);
  } catch {
    // Without execve (an older runtime) the gateway runs as it is, only slower.
  }
}
