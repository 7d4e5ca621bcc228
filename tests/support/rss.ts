// A process's resident memory of its own, read from /proc (Linux), for the memory bounds tests
// assert: VmRSS without RssFile. The file-backed part is pages of the 120 MB executable mapped in
// from the page cache, which differ with the cache's state, not with what the process does: the
// same binary idles at 75.5 MB VmRSS in one directory and 79.6 MB in another, with 30 MB of
// anonymous memory in both.
import { readFileSync } from "node:fs";

export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)![1]) * 1024;
  return field("VmRSS") - field("RssFile");
}
