// The JWKS cache on its own, with a real HTTP server on loopback and a hand-moved clock:
// when it fetches, what it serves while the IdP is down, and which keys it keeps.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { tempDir } from "../../tests/support/gateway.ts";
import { JwksCache, type JwksKey } from "./jwks.ts";

const ec = (kid: string, extra: Record<string, unknown> = {}) => ({ ...generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ format: "jwk" }), kid, ...extra });

let server: ReturnType<typeof Bun.serve>;
let keySet: { keys: unknown[] } | string;
let up = true;
let hits = 0;
let uri: string;
let clock = 0;
const events: Record<string, unknown>[] = [];
const log = (fields: Record<string, unknown>) => events.push(fields);

beforeAll(() => {
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch() {
      hits++;
      if (!up) return new Response("down", { status: 503 });
      return new Response(typeof keySet === "string" ? keySet : JSON.stringify(keySet), { headers: { "content-type": "application/json" } });
    },
  });
});
afterAll(() => server.stop(true));

let cache: JwksCache;
let counter = 0;
beforeEach(() => {
  // A fresh URI per test: entries are per URI.
  uri = `http://127.0.0.1:${server.port}/jwks/${counter++}`;
  cache = new JwksCache({ refreshIntervalMs: 10_000, now: () => clock });
  clock = 1_000_000;
  hits = 0;
  up = true;
  events.length = 0;
  keySet = { keys: [ec("k1")] };
});

const kids = (keys: readonly JwksKey[]) => keys.map((k) => k.kid);
async function candidates(kid: unknown, ttl = 60): Promise<(string | undefined)[]> {
  return kids(await cache.candidates(uri, ttl, kid, log));
}

describe("fetching", () => {
  test("a cold cache fetches once, also for concurrent lookups", async () => {
    const [a, b] = await Promise.all([candidates("k1"), candidates("k1")]);
    expect([a, b, hits]).toEqual([["k1"], ["k1"], 1]);
  });

  test("within the TTL lookups are answered synchronously without fetching", async () => {
    await candidates("k1");
    clock += 59_000;
    const found = cache.candidates(uri, 60, "k1", log);
    expect(Array.isArray(found)).toBe(true);
    expect(hits).toBe(1);
  });

  test("after the TTL the old keys answer at once while a refresh runs in the background", async () => {
    await candidates("k1");
    keySet = { keys: [ec("k2")] };
    clock += 61_000;
    const found = cache.candidates(uri, 60, "k1", log);
    expect(kids(found as JwksKey[])).toEqual(["k1"]);
    await Bun.sleep(50);
    expect(hits).toBe(2);
    expect(await candidates("k2")).toEqual(["k2"]);
  });

  test("a TTL of 0 refreshes in the background at most once a second", async () => {
    await candidates("k1", 0);
    for (let i = 0; i < 5; i++) cache.candidates(uri, 0, "k1", log);
    await Bun.sleep(30);
    expect(hits).toBe(1);
    clock += 1_000;
    cache.candidates(uri, 0, "k1", log);
    await Bun.sleep(30);
    expect(hits).toBe(2);
  });

  test("an unknown kid causes a refetch at most once per refresh interval", async () => {
    await candidates("k1");
    keySet = { keys: [ec("k1"), ec("k2")] };
    expect(await candidates("k2")).toEqual([]);
    expect(hits).toBe(1);
    clock += 10_000;
    expect(await candidates("k2")).toEqual(["k2"]);
    expect(await candidates("k3")).toEqual([]);
    expect(hits).toBe(2);
  });

  test("a token without kid may be verified by every key of the set", async () => {
    keySet = { keys: [ec("a"), ec("b")] };
    expect(await candidates(undefined)).toEqual(["a", "b"]);
    expect(await candidates(42)).toEqual([]);
  });

  test("file: URIs are read from disk", async () => {
    const dir = tempDir();
    try {
      const path = join(dir, "jwks.json");
      writeFileSync(path, JSON.stringify({ keys: [ec("on-disk")] }));
      expect(kids(await cache.candidates(pathToFileURL(path).href, 60, "on-disk", log))).toEqual(["on-disk"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the IdP failing", () => {
  test("cached keys keep serving when refreshes fail; the failure is logged; retries are spaced", async () => {
    await candidates("k1");
    up = false;
    clock += 61_000;
    expect(kids(cache.candidates(uri, 60, "k1", log) as JwksKey[])).toEqual(["k1"]);
    await Bun.sleep(50);
    expect(hits).toBe(2);
    expect(events[0]).toMatchObject({ level: "warn", message: "JWKS refresh failed; serving the cached keys", jwks_uri: uri, error: "HTTP 503" });
    clock += 5_000;
    expect(await candidates("k1")).toEqual(["k1"]);
    expect(hits).toBe(2);
    clock += 5_000;
    cache.candidates(uri, 60, "k1", log);
    await Bun.sleep(50);
    expect(hits).toBe(3);
  });

  test("a cold cache with the IdP down has no keys, and does not hammer it", async () => {
    up = false;
    expect(await candidates("k1")).toEqual([]);
    expect(await candidates("k1")).toEqual([]);
    expect(hits).toBe(1);
    expect(events[0]?.message).toBe("JWKS fetch failed; no keys to verify with");
  });

  test("a broken or empty set does not replace the cached keys", async () => {
    await candidates("k1");
    for (const broken of ["{not json", JSON.stringify({ keys: [] }), JSON.stringify({ nope: 1 })]) {
      keySet = broken;
      clock += 61_000;
      cache.candidates(uri, 60, "k1", log);
      await Bun.sleep(30);
      expect(await candidates("k1")).toEqual(["k1"]);
    }
  });
});

describe("keys", () => {
  test("encryption keys, private keys and small RSA keys are not used; one bad key spares the others", async () => {
    const small = { ...generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ format: "jwk" }), kid: "small" };
    const priv = { ...generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" }), kid: "private" };
    keySet = { keys: [ec("enc", { use: "enc" }), ec("ops", { key_ops: ["sign"] }), priv, small, { kty: "EC", kid: "junk" }, ec("good")] };
    expect(await candidates(undefined)).toEqual(["small", "good"]);
    const [smallKey] = await cache.candidates(uri, 60, "small", log);
    expect(smallKey!.verifierFor("RS256")).toBeNull();
  });

  test("a key's alg and type must fit the token's alg", async () => {
    keySet = { keys: [ec("pinned", { alg: "ES256" })] };
    const [key] = await cache.candidates(uri, 60, "pinned", log);
    expect(key!.verifierFor("ES256")).not.toBeNull();
    expect(key!.verifierFor("ES384")).toBeNull();
    expect(key!.verifierFor("RS256")).toBeNull();
  });

  test("retain drops the sets of URIs no longer named once unused for 10 minutes, and keeps the rest", async () => {
    await candidates("k1");
    const other = `${uri}-other`;
    await cache.candidates(other, 3600, "k1", log);
    expect(hits).toBe(2);
    // Just used: another gateway in the process may still need it.
    cache.retain(new Set([uri]));
    expect(cache.candidates(other, 3600, "k1", log)).toHaveLength(1);
    clock += 11 * 60_000;
    cache.retain(new Set([uri]));
    expect(cache.candidates(uri, 3600, "k1", log)).toHaveLength(1);
    expect(hits).toBe(2);
    // The dropped one starts cold again: a lookup has to wait for the IdP.
    expect(cache.candidates(other, 3600, "k1", log)).toBeInstanceOf(Promise);
  });

  test("the version changes only when the set does", async () => {
    /** Polls (the refresh runs in the background) until `done`, for at most 2 s. */
    const until = async (done: () => boolean) => {
      for (let i = 0; i < 200 && !done(); i++) await Bun.sleep(10);
    };
    await candidates("k1");
    const first = cache.version(uri, 60, log);
    clock += 61_000;
    const before = hits;
    cache.version(uri, 60, log);
    await until(() => hits > before);
    await Bun.sleep(50);
    expect(hits).toBe(before + 1);
    expect(cache.version(uri, 60, log)).toBe(first);
    keySet = { keys: [ec("k9")] };
    clock += 61_000;
    cache.version(uri, 60, log);
    await until(() => cache.version(uri, 60, log) !== first);
    expect(cache.version(uri, 60, log)).toBe(first + 1);
  });
});
