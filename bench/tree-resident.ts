// The resident memory of a process tree with every physical page counted once (issue 16's
// "idle RSS of the whole tree"): summing each process's RSS counts the pages they share (the
// executable's code, mapped by every worker) once per process. Reads each process's resident
// pages' frame numbers from /proc/PID/pagemap (needs root: others see frame 0) and counts the
// distinct frames.
//   bun bench/tree-resident.ts ROOT_PID   → "processes N summed_rss_mb X tree_resident_mb Y shared_mb Z"
import { openSync, readFileSync, readSync, closeSync, readdirSync } from "node:fs";

const PAGE = 4096;
const PRESENT = 1n << 63n;
const FRAME_MASK = (1n << 55n) - 1n;

function children(pid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (parent === pid) found.push(Number(entry));
    } catch {
      // The process ended while the tree was walked.
    }
  }
  return found;
}

function tree(root: number): number[] {
  const all = [root];
  for (let i = 0; i < all.length; i++) all.push(...children(all[i]!));
  return all;
}

/** The address ranges of a process's mappings that have resident pages. */
function residentRanges(pid: number): [bigint, bigint][] {
  const ranges: [bigint, bigint][] = [];
  let current: [bigint, bigint] | null = null;
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const range = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (range) current = [BigInt(`0x${range[1]}`), BigInt(`0x${range[2]}`)];
    else if (current && line.startsWith("Rss:") && Number(line.split(/\s+/)[1]) > 0) ranges.push(current);
  }
  return ranges;
}

function addFrames(pid: number, frames: Set<bigint>): number {
  const fd = openSync(`/proc/${pid}/pagemap`, "r");
  let resident = 0;
  const chunkPages = 1 << 16;
  const buffer = Buffer.alloc(chunkPages * 8);
  try {
    for (const [start, end] of residentRanges(pid)) {
      for (let page = start / BigInt(PAGE); page < end / BigInt(PAGE); page += BigInt(chunkPages)) {
        const pages = Number(end / BigInt(PAGE) - page < BigInt(chunkPages) ? end / BigInt(PAGE) - page : BigInt(chunkPages));
        const read = readSync(fd, buffer, 0, pages * 8, Number(page * 8n));
        for (let i = 0; i < read / 8; i++) {
          const entry = buffer.readBigUInt64LE(i * 8);
          if ((entry & PRESENT) === 0n) continue;
          const frame = entry & FRAME_MASK;
          if (frame === 0n) throw new Error("pagemap shows no frame numbers: run as root");
          frames.add(frame);
          resident++;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return resident;
}

const root = Number(process.argv[2]);
if (!Number.isInteger(root) || root <= 0) {
  console.error("usage: bun bench/tree-resident.ts ROOT_PID");
  process.exit(2);
}
const frames = new Set<bigint>();
const pids = tree(root);
let summed = 0;
for (const pid of pids) summed += addFrames(pid, frames);
const mb = (pages: number) => ((pages * PAGE) / 1024 / 1024).toFixed(1);
console.log(`processes ${pids.length} summed_rss_mb ${mb(summed)} tree_resident_mb ${mb(frames.size)} shared_mb ${mb(summed - frames.size)}`);
