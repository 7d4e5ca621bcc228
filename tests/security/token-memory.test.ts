// The verified-token cache under a flood of distinct large tokens (security hardening item 10):
// 20,000 valid ~8 KB tokens, each seen once, through a gateway in its own process. The cache
// holds ~20 MB of them at most (its byte budget at the default cache_size). JSC frees evicted
// entries at its next full collection, which an idle process reaches within seconds (when
// varies), and the allocator then returns the pages; so RSS is compared once settled, and its
// peak during the flood is bounded too. Measured here: +27-34 MB settled, +95-136 MB at the peak;
// with the cache before its byte budget (10,000 tokens, keyed by themselves), +275-305 MB
// settled and +305-345 MB at the peak.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rssBytes } from "../support/rss.ts";
import { createHmac, randomBytes } from "node:crypto";
import { join } from "node:path";
import { type TestUpstream, startUpstream } from "../support/upstream.ts";

const TOKENS = 20_000;
const WARM_UP = 500;
const IN_FLIGHT = 32;
const SECRET = randomBytes(32).toString("hex");
const HEADER = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url");

let upstream: TestUpstream;
let gateway: ReturnType<typeof Bun.spawn>;
let base = "";


/** The lowest RSS over `ms` of idle: what stays once garbage is collected and its pages returned. */
async function settledRss(pid: number, ms: number): Promise<number> {
  let lowest = rssBytes(pid);
  for (let waited = 0; waited < ms; waited += 100) {
    await Bun.sleep(100);
    lowest = Math.min(lowest, rssBytes(pid));
  }
  return lowest;
}

/** A valid HS256 token of about 8,000 bytes (under the default max_token_bytes of 8192). */
function largeToken(n: number): string {
  // ~5.9 KB of random claim text: distinct tokens that no compression or interning shares.
  const payload = Buffer.from(JSON.stringify({ iss: "alice-key", n, data: randomBytes(4400).toString("base64") })).toString("base64url");
  const input = `${HEADER}.${payload}`;
  return `${input}.${createHmac("sha256", SECRET).update(input).digest("base64url")}`;
}

/** Sends tokens first…first+count-1, IN_FLIGHT at a time over keep-alive connections. */
async function send(first: number, count: number): Promise<void> {
  let next = first;
  const end = first + count;
  const worker = async () => {
    while (next < end) {
      const token = largeToken(next++);
      const response = await fetch(`${base}/`, { headers: { authorization: `Bearer ${token}` } });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`token ${next - 1} (${token.length} bytes): ${response.status}`);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
}

beforeAll(async () => {
  upstream = startUpstream(() => new Response("ok"));
  gateway = Bun.spawn([process.execPath, join(import.meta.dir, "../support/jwt-proxy-process.ts"), upstream.url, SECRET], { stdout: "pipe", stderr: "inherit" });
  const { value } = await (gateway.stdout as ReadableStream<Uint8Array>).getReader().read();
  base = `http://127.0.0.1:${/PORT (\d+)/.exec(new TextDecoder().decode(value))![1]}`;
});
afterAll(async () => {
  gateway.kill("SIGTERM");
  await gateway.exited;
  await upstream.stop();
});

test("20,000 distinct valid 8 KB tokens: gateway RSS settles < 60 MB above warm-up, peaks < 200 MB above", async () => {
  expect(largeToken(0).length).toBeGreaterThan(7900);
  expect(largeToken(0).length).toBeLessThanOrEqual(8192);
  await send(0, WARM_UP);
  const before = await settledRss(gateway.pid, 2000);
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssBytes(gateway.pid));
  }, 50);
  const started = performance.now();
  try {
    await send(WARM_UP, TOKENS);
  } finally {
    clearInterval(sampler);
  }
  const elapsed = performance.now() - started;
  peak = Math.max(peak, rssBytes(gateway.pid));
  const after = await settledRss(gateway.pid, 8000);
  const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
  console.log(`gateway RSS: ${mb(before)} MB after warm-up, ${mb(after)} MB settled after ${TOKENS} tokens in ${Math.round(elapsed)} ms, peak ${mb(peak)} MB`);
  // The cache's ~20 MB, with JSC's and the allocator's slack on top.
  expect(after - before).toBeLessThan(60 * 1024 * 1024);
  expect(peak - before).toBeLessThan(200 * 1024 * 1024);
}, 60_000);
