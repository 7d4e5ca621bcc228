// The verified-token cache's hot path: what a hit costs keyed by the token string (the old
// cache) and by its SHA-256 (the cache now), and what each SHA-256 available in Bun costs per
// token of 300 B, 1 KB and 8 KB.   taskset -c 1 bun bench/token-cache-bench.ts [rounds=15]
import { createHash, createHmac, randomBytes } from "node:crypto";
import type { VerifiedToken } from "../plugins/jwt/token-cache.ts";
import { VerifiedTokenCache } from "../plugins/jwt/token-cache.ts";

const rounds = Number(process.argv[2] ?? 15);
const DISTINCT = 1000;
const HEADER = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url");

/** A signed HS256 token of about `bytes` bytes. */
function token(bytes: number, n: number): string {
  const filler = Math.max(0, Math.floor(((bytes - 100) * 3) / 4) - 40);
  const payload = Buffer.from(JSON.stringify({ iss: "alice-key", n, data: randomBytes(filler).toString("base64").slice(0, filler) })).toString("base64url");
  const input = `${HEADER}.${payload}`;
  return `${input}.${createHmac("sha256", "secret").update(input).digest("base64url")}`;
}

let sink = 0;

/** ns per call of `run` over one pass, each token a fresh string per call. */
function pass(headers: string[], run: (token: string) => unknown, iterations: number): number {
  const started = Bun.nanoseconds();
  for (let i = 0; i < iterations; i++) {
    // slice: a new string each call, as a request's header value is, so no hash is cached on it.
    if (run(headers[i % DISTINCT]!.slice(7)) !== undefined) sink++;
  }
  return (Bun.nanoseconds() - started) / iterations;
}

const verified = { claims: { iss: "alice-key" }, groups: null, claimHeaders: null, jwksVersion: 0 } as unknown as VerifiedToken;
const hasher = new Bun.CryptoHasher("sha256");
const cases: [string, (tokens: string[]) => (token: string) => unknown][] = [
  ["token string only (slice)", () => (t) => t.length],
  ["hit, Map keyed by token (old)", (tokens) => {
    const map = new Map(tokens.map((t) => [t, verified]));
    return (t) => map.get(t);
  }],
  ["hit, VerifiedTokenCache (SHA-256)", (tokens) => {
    const cache = new VerifiedTokenCache(DISTINCT);
    for (const t of tokens) cache.set(cache.keyOf(t), verified);
    return (t) => cache.get(cache.keyOf(t));
  }],
  ["CryptoHasher reused, latin1", () => (t) => hasher.update(t).digest("latin1")],
  ["new CryptoHasher, latin1", () => (t) => new Bun.CryptoHasher("sha256").update(t).digest("latin1")],
  ["Bun.SHA256.hash, latin1", () => (t) => Bun.SHA256.hash(t, "latin1")],
  ["Bun.SHA256.hash, buffer", () => (t) => Bun.SHA256.hash(t)],
  ["node createHash, latin1", () => (t) => createHash("sha256").update(t).digest("latin1")],
  ["node createHash, base64", () => (t) => createHash("sha256").update(t).digest("base64")],
  ["Bun.hash (64-bit, reference only)", () => (t) => Bun.hash(t)],
  ["HMAC-SHA256 (an HS256 miss, at least)", () => (t) => new Bun.CryptoHasher("sha256", "secret").update(t).digest()],
];

// Rounds alternate the cases, so the VM's noise falls on all of them alike; the minimum is the
// cost without interference, the median what a busy machine sees. Round 0 only warms up.
const sizes = [300, 1024, 8000];
const columns = sizes.map((size) => {
  const tokens = Array.from({ length: DISTINCT }, (_, n) => token(size, n));
  // Distinct copies: the Map's keys must not be the very strings looked up.
  const headers = tokens.map((t) => Buffer.from(`Bearer ${t}`).toString("latin1"));
  const runs = cases.map(([, make]) => make(tokens));
  const iterations = Math.max(20_000, Math.floor(40_000_000 / headers[0]!.length));
  const samples = cases.map(() => [] as number[]);
  for (let round = 0; round <= rounds; round++) {
    runs.forEach((run, index) => {
      const ns = pass(headers, run, iterations);
      if (round > 0) samples[index]!.push(ns);
    });
  }
  return { size: tokens[0]!.length, results: samples.map((list) => list.sort((a, b) => a - b)) };
});

console.log(`ns per call, min / median of ${rounds} rounds, Bun ${Bun.version}`);
console.log(["".padEnd(36), ...columns.map((c) => `${c.size} B`.padStart(14))].join(""));
cases.forEach(([name], index) =>
  console.log([name.padEnd(36), ...columns.map((c) => {
    const list = c.results[index]!;
    return `${list[0]!.toFixed(0)} / ${list[list.length >> 1]!.toFixed(0)}`.padStart(14);
  })].join("")),
);
if (sink < 0) console.log(sink);
