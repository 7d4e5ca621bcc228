// The verified-token cache: a cached token skips signature verification; the cache is keyed by
// the token's SHA-256, bounded in entries and in estimated bytes, and can be turned off. Also the
// decoded-header cache's byte bound.
import { afterEach, beforeAll, describe, expect, spyOn, test } from "bun:test";
import { createHash } from "node:crypto";
import type { Consumer } from "../../src/entities/consumer.ts";
import { cachedHeaderBytes, heldBytes, parseToken } from "./compact.ts";
import type { PreparedCredential } from "./credentials.ts";
import * as signature from "./signature.ts";
import { type AuthRig, craft, sign, signingKey, startAuthRig, type SigningKey } from "../../tests/support/auth.ts";
import { VerifiedTokenCache, type VerifiedToken, budgetFor } from "./token-cache.ts";

let hs: SigningKey;
let rig: AuthRig | undefined;
beforeAll(async () => {
  hs = await signingKey("HS256");
});
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

async function verificationsFor(cacheSize: number, sequence: number[]): Promise<number> {
  rig = startAuthRig([{ name: "jwt", config: { cache_size: cacheSize } }]);
  const alice = rig.gateway.store.create("consumers", { username: "alice" });
  rig.gateway.store.create("jwt_secrets", { key: "alice-key", ...hs.credential }, { kind: "consumers", id: alice.id });
  const tokens = await Promise.all([0, 1, 2].map((n) => sign(hs, { iss: "alice-key", n })));
  const spy = spyOn(signature, "verifySignature");
  try {
    for (const index of sequence) expect((await rig.get("/api", { authorization: `Bearer ${tokens[index]}` })).status).toBe(200);
    return spy.mock.calls.length;
  } finally {
    spy.mockRestore();
  }
}

test("a token verified once is served from the cache afterwards", async () => {
  expect(await verificationsFor(10, [0, 0, 0, 1, 1, 0])).toBe(2);
});

test("cache_size 0 verifies every request", async () => {
  expect(await verificationsFor(0, [0, 0, 0])).toBe(3);
});

test("the cache holds at most cache_size tokens, dropping the oldest", async () => {
  expect(await verificationsFor(2, [0, 1, 2, 0, 2])).toBe(4);
});

/** A verified token whose claims hold `claimBytes` characters of text. */
function verifiedWith(claimBytes: number): VerifiedToken {
  return { prepared: {} as PreparedCredential, consumer: {} as Consumer, claims: { iss: "k", data: "x".repeat(claimBytes) }, groups: null, claimHeaders: null, jwksVersion: 0 };
}

const tokenNumbered = (n: number) => `eyJhbGciOiJIUzI1NiJ9.${"A".repeat(6000)}${n}.c2ln`;

describe("bounds", () => {
  test("large entries stay within the byte budget, the oldest going first", () => {
    const budget = 256 * 1024;
    const cache = new VerifiedTokenCache(10_000, budget);
    for (let n = 0; n < 200; n++) {
      cache.set(cache.keyOf(tokenNumbered(n)), verifiedWith(3000));
      expect(cache.bytes).toBeLessThanOrEqual(budget);
    }
    // ~3.4 KB each: the budget, not the entry cap, decides how many stay.
    expect(cache.size).toBeGreaterThan(60);
    expect(cache.size).toBeLessThan(80);
    const kept = Array.from({ length: 200 }, (_, n) => cache.get(cache.keyOf(tokenNumbered(n))) !== undefined);
    expect(kept.indexOf(true)).toBe(200 - cache.size);
    expect(kept.slice(200 - cache.size).every(Boolean)).toBe(true);
  });

  test("small entries stop at the entry cap, the oldest going first", () => {
    const cache = new VerifiedTokenCache(5);
    for (let n = 0; n < 10; n++) cache.set(cache.keyOf(`token-${n}`), verifiedWith(10));
    expect(cache.size).toBe(5);
    expect([0, 4, 5, 9].map((n) => cache.get(cache.keyOf(`token-${n}`)) !== undefined)).toEqual([false, false, true, true]);
  });

  test("an entry over a 64th of the budget is not cached and evicts nothing", () => {
    const cache = new VerifiedTokenCache(100, 64 * 1024);
    cache.set(cache.keyOf("small"), verifiedWith(10));
    cache.set(cache.keyOf("large"), verifiedWith(2000));
    expect(cache.get(cache.keyOf("large"))).toBeUndefined();
    expect(cache.get(cache.keyOf("small"))).toBeDefined();
    expect(cache.size).toBe(1);
  });

  test("storing a key again counts its bytes once; deleting returns them", () => {
    const cache = new VerifiedTokenCache(100);
    cache.set(cache.keyOf("a"), verifiedWith(1000));
    const once = cache.bytes;
    cache.set(cache.keyOf("a"), verifiedWith(1000));
    expect(cache.bytes).toBe(once);
    cache.delete(cache.keyOf("a"));
    expect([cache.size, cache.bytes]).toEqual([0, 0]);
  });

  test("budget: 2 KiB per entry of cache_size, at least 16 MiB", () => {
    expect(budgetFor(10_000)).toBe(20_480_000);
    expect(budgetFor(100)).toBe(16 * 1024 * 1024);
  });
});

describe("digest keys", () => {
  test("tokens one byte apart are distinct entries", () => {
    const cache = new VerifiedTokenCache(100);
    const a = tokenNumbered(1);
    const b = `${a.slice(0, 100)}B${a.slice(101)}`;
    cache.set(cache.keyOf(a), verifiedWith(10));
    expect(cache.keyOf(b)).not.toBe(cache.keyOf(a));
    expect(cache.get(cache.keyOf(b))).toBeUndefined();
    expect(cache.get(cache.keyOf(a))).toBeDefined();
  });

  test("keys are the 32-byte SHA-256 of the token, never the token", () => {
    const cache = new VerifiedTokenCache(100);
    const tokens = [0, 1, 2].map(tokenNumbered);
    for (const token of tokens) cache.set(cache.keyOf(token), verifiedWith(10));
    const keys = [...cache.keys()];
    expect(keys).toEqual(tokens.map((token) => createHash("sha256").update(token).digest("latin1")));
    for (const key of keys) expect(Buffer.from(key, "latin1").length).toBe(32);
  });
});

describe("estimates", () => {
  test("parsed JSON is sized by its shape, not its text: 2,000 empty arrays ≥ 128 KB", () => {
    const arrays = JSON.parse(`[${Array(2000).fill("[]").join(",")}]`);
    expect(heldBytes(arrays, Infinity)).toBeGreaterThan(128_000);
    expect(heldBytes({ data: "x".repeat(6000) }, Infinity)).toBeLessThan(6300);
  });

  test("nesting as deep as JSON.parse allows is walked without recursion, and cut at the limit", () => {
    const deep = JSON.parse(`${"[".repeat(200_000)}${"]".repeat(200_000)}`);
    expect(heldBytes(deep, Infinity)).toBe(200_000 * 72);
    expect(heldBytes(deep, 1000)).toBeLessThan(1100);
  });

  test("decoded headers stay within 256 KiB however many distinct 1 KB headers arrive", () => {
    for (let n = 0; n < 2000; n++) {
      parseToken(craft({ alg: "HS256", kid: `${n}`, pad: Array(120).fill([]) }, { iss: "k" }));
      expect(cachedHeaderBytes()).toBeLessThanOrEqual(256 * 1024);
    }
  });
});
