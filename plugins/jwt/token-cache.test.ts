// The verified-token cache: a cached token skips signature verification; the cache is bounded
// and can be turned off.
import { afterEach, beforeAll, expect, spyOn, test } from "bun:test";
import * as signature from "./signature.ts";
import { type AuthRig, sign, signingKey, startAuthRig, type SigningKey } from "./testing.ts";

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
