// `--workers N|auto`: how many proxy processes `gateway serve` runs. Several workers share one
// listening address through SO_REUSEPORT, which only Linux load-balances across sockets.
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { UsageError } from "../errors.ts";

export const MAX_WORKERS = 256;

/** Cores a CPU quota (cgroup v2 `cpu.max`, or v1 `cfs_quota_us`) allows, rounded up; undefined without one. */
export function cgroupCpuLimit(read: (path: string) => string | undefined = readOptional): number | undefined {
  const v2 = read("/sys/fs/cgroup/cpu.max")?.trim().split(/\s+/);
  if (v2 && v2[0] !== "max" && Number(v2[0]) > 0 && Number(v2[1]) > 0) return Math.ceil(Number(v2[0]) / Number(v2[1]));
  const quota = Number(read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")?.trim());
  const period = Number(read("/sys/fs/cgroup/cpu/cpu.cfs_period_us")?.trim());
  if (quota > 0 && period > 0) return Math.ceil(quota / period);
  return undefined;
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** The cores this process may run on: its CPU affinity (taskset), capped by a container's CPU quota. */
export function availableCores(): number {
  return Math.max(1, Math.min(availableParallelism(), cgroupCpuLimit() ?? Number.POSITIVE_INFINITY));
}

/** `auto` is every available core on Linux and 1 elsewhere; more than one worker is refused off Linux. */
export function workerCount(text: string, platform: NodeJS.Platform = process.platform, cores: () => number = availableCores): number {
  if (text === "auto") return platform === "linux" ? Math.min(cores(), MAX_WORKERS) : 1;
  const count = Number(text);
  if (!/^\d+$/.test(text) || count < 1 || count > MAX_WORKERS) throw new UsageError(`--workers ${text}: expected auto or a whole number from 1 to ${MAX_WORKERS}`);
  if (count > 1 && platform !== "linux") {
    throw new UsageError(
      `--workers ${text}: workers share the proxy port through SO_REUSEPORT, which only Linux balances across processes; on ${platform} the gateway runs one process (--workers 1)`,
    );
  }
  return count;
}
