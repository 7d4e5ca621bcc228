// A process's resident set size, read from /proc (Linux), for the memory bounds tests assert.
import { readFileSync } from "node:fs";

export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}
