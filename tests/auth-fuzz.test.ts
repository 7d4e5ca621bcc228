// Mutation fuzz through the real proxy: tens of thousands of tokens derived from valid ones
// (plugins/jwt/fuzz-corpus.ts, fixed seed). Only a token carrying exactly the signed content of
// a valid one may pass; everything else is a 401 or 403 — never a 5xx — and the gateway keeps
// serving afterwards.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Algorithm } from "../src/jose/algorithms.ts";
import { buildCorpus, referenceCases, sameSignedContent } from "../plugins/jwt/fuzz-corpus.ts";
import { type AuthRig, inSeconds, sign, signingKey, startAuthRig } from "./support/auth.ts";

const TOKENS = 20_000;
const SEED = 20_240_601;
const PARALLEL = 64;
/** Bun answers 431 itself above 16 KiB of request head; such requests never reach the gateway. */
const MAX_HEAD = 15_000;
const ALGS: Algorithm[] = ["HS256", "HS512", "RS256", "PS384", "ES256", "ES512", "EdDSA"];

let rig: AuthRig;
let valid: string[];
/** The answer each valid token gets: 200, or 403 for the ones without the required scope. */
const expectedFor = new Map<string, number>();

beforeAll(async () => {
  rig = startAuthRig([]);
  const store = rig.gateway.store;
  const alice = store.create("consumers", { username: "alice" });
  store.create("acls", { group: "users" }, { kind: "consumers", id: alice.id });
  valid = [];
  for (const alg of ALGS) {
    const key = await signingKey(alg);
    store.create("jwt_secrets", { key: `iss-${alg}`, ...key.credential }, { kind: "consumers", id: alice.id });
    const allowed = await sign(key, { iss: `iss-${alg}`, exp: inSeconds(3600), scope: "read" });
    const forbidden = await sign(key, { iss: `iss-${alg}`, exp: inSeconds(3600), scope: "write", pad: "z".repeat(200) }, { kid: "k", typ: "JWT" });
    valid.push(allowed, forbidden);
    expectedFor.set(allowed, 200).set(forbidden, 403);
  }
  store.create("plugins", { name: "jwt", route: { id: rig.routeId }, config: { claims_to_verify: ["exp"], scopes: ["read"] } });
  store.create("plugins", { name: "acl", route: { id: rig.routeId }, config: { allow: ["users"] } });
});
afterAll(() => rig.close());

const HEADER_SAFE = /^[\x21-\x7e]+$/;

async function send(token: string, index: number): Promise<number> {
  // Every other header-safe token goes in the Authorization header, the rest in the query.
  if (index % 2 === 0 && HEADER_SAFE.test(token)) return (await rig.get("/api", { authorization: `Bearer ${token}` })).status;
  return (await rig.get(`/api?jwt=${encodeURIComponent(token)}`)).status;
}

test(`${TOKENS} mutated tokens: only untouched signed content passes (200, or 403 without the scope), all else 401, never 5xx`, async () => {
  const corpus = [...buildCorpus(valid, TOKENS, SEED), ...valid.flatMap(referenceCases)].filter((token) => encodeURIComponent(token).length < MAX_HEAD);
  expect(corpus.length).toBeGreaterThan(TOKENS * 0.99);
  const statuses = new Map<number, number>();
  const wrong: { token: string; status: number }[] = [];
  for (let start = 0; start < corpus.length; start += PARALLEL) {
    const batch = corpus.slice(start, start + PARALLEL);
    const results = await Promise.all(batch.map((token, i) => send(token, start + i)));
    results.forEach((status, i) => {
      const token = batch[i]!;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      const original = valid.find((v) => sameSignedContent(token, v));
      const expected = original === undefined ? 401 : expectedFor.get(original);
      if (status !== expected) wrong.push({ token, status });
    });
  }
  expect(wrong.slice(0, 5)).toEqual([]);
  expect([...statuses.keys()].sort()).toEqual([200, 401, 403]);
  console.log(`fuzz: ${corpus.length} tokens, statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
  // The gateway is still up and still right.
  expect((await rig.get("/api", { authorization: `Bearer ${valid[0]}` })).status).toBe(200);
}, 90_000);
