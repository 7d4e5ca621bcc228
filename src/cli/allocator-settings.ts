// The memory allocator's settings of a long-running gateway. Bun's allocator (mimalloc) hands
// pages it has freed back to the kernel 10 ms later by default, so every garbage collection's
// freed blocks are faulted in and zeroed again moments later: on the proxy path that cost 15-25%
// of the CPU per request (bench/RESULTS.md, "Proxy engines (issue 20)"). mimalloc reads its
// options from the environment once, before any JavaScript runs, so `serve` starts itself
// again, in place (same process id, same arguments), with them set.
import { selfInvocation } from "../workers/ipc.ts";

/** Freed pages stay with the process for reuse; the heap's peak stays resident. */
export const ALLOCATOR_ENV: Readonly<Record<string, string>> = { MIMALLOC_PURGE_DELAY: "-1" };

/**
 * The environment to start again with, or null when this one will do: the settings are there
 * already, or the operator set any of them (their choice wins), or the platform is not Linux
 * (where it was measured).
 */
export function allocatorRestartEnv(env: NodeJS.ProcessEnv, platform: NodeJS.Platform): Record<string, string> | null {
  if (platform !== "linux") return null;
  if (Object.keys(ALLOCATOR_ENV).some((name) => env[name] !== undefined)) return null;
  const next: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined) next[name] = value;
  return { ...next, ...ALLOCATOR_ENV };
}

/** Replaces this process with itself under the allocator settings; returns only when it need not (or cannot). */
export function restartWithAllocatorSettings(): void {
  const env = allocatorRestartEnv(process.env, process.platform);
  if (env === null) return;
  try {
    const [file, ...entry] = selfInvocation();
    process.execve?.(file!, [file!, ...entry, ...process.argv.slice(2)], env);
  } catch {
    // Without execve (an older runtime) the gateway runs as it is, only slower.
  }
}
