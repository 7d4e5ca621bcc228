// Differential test of the verification fast path (parseToken + node:crypto verifySignature)
// against jose, over the fuzz corpus, the reference table's malformations and validly signed
// oddities, for all 13 algorithms: both must accept and reject exactly the same tokens.
//
// jose's answer is compactVerify (with the same key and allowed algorithms) plus the structure
// rules jwtVerify adds to it: the payload is a JSON object (decodeJwt) and `b64: false` is
// refused. jwtVerify itself is not the reference because it also judges claims (e.g. an `exp`
// that is not a number), which the plugin does later, with Kong's rules and messages.
import { describe, expect, test } from "bun:test";
import { compactVerify, decodeJwt } from "jose";
import type { KeyObject } from "node:crypto";
import { ALGORITHMS, type Algorithm, keyFamily } from "../../src/jose/algorithms.ts";
import { parseToken } from "./compact.ts";
import { buildCorpus, referenceCases } from "./fuzz-corpus.ts";
import { createVerifier, type SignatureVerifier, verifySignature } from "./signature.ts";
import { sign, signingKey, signRaw, type SigningKey } from "../../tests/support/auth.ts";

const TOKENS_PER_ALGORITHM = 1700;

async function joseAccepts(token: string, key: KeyObject | Uint8Array, algorithms: Algorithm[]): Promise<boolean> {
  try {
    const { protectedHeader } = await compactVerify(token, key, { algorithms });
    decodeJwt(token);
    return !(protectedHeader.crit?.includes("b64") && protectedHeader.b64 === false);
  } catch {
    return false;
  }
}

function fastPathAccepts(token: string, verifiers: ReadonlyMap<Algorithm, SignatureVerifier>): boolean {
  const parsed = parseToken(token);
  if (typeof parsed === "string") return false;
  const verifier = verifiers.get(parsed.alg);
  return verifier !== undefined && verifySignature(parsed, verifier);
}

/** Validly signed tokens with unusual but legal (or illegal but signed) contents. */
function signedOddities(key: SigningKey): string[] {
  const alg = key.alg;
  const header = JSON.stringify({ alg });
  const claims = JSON.stringify({ iss: "x" });
  const odd = [
    signRaw(key, `\ufeff${header}`, claims),
    signRaw(key, header, `\ufeff${claims}`),
    signRaw(key, `{"alg":"none","alg":"${alg}"}`, claims),
    signRaw(key, `{"alg":"${alg}","crit":["b64"],"b64":true}`, claims),
    signRaw(key, `{"alg":"${alg}","crit":["b64"],"b64":false}`, claims),
    signRaw(key, `{"alg":"${alg}","crit":["b64","b64"],"b64":true}`, claims),
    signRaw(key, `{"alg":"${alg}","crit":["exp"],"exp":1}`, claims),
    signRaw(key, `{"alg":"${alg}","crit":[]}`, claims),
    signRaw(key, `{"alg":"${alg}","b64":false}`, claims),
    signRaw(key, `{"alg":"${alg}","jwk":{"kty":"oct","k":"AAAA"},"jku":"http://127.0.0.1:1/"}`, claims),
    signRaw(key, header, "null"),
    signRaw(key, header, "[]"),
    signRaw(key, header, "42"),
    signRaw(key, header, '"text"'),
    signRaw(key, header, "{}"),
    signRaw(key, header, '{"exp":"soon","iat":[],"nbf":null}'),
    signRaw(key, header, '{"iss":"\\u00e9\\u65e5"}'),
    signRaw(key, `[${header}]`, claims),
    signRaw(key, "null", claims),
  ];
  // The header names one algorithm, the signature was made with another of the same key type.
  for (const other of ALGORITHMS) {
    if (other !== alg && keyFamily(other) === keyFamily(alg) && !(other.startsWith("ES") || other === "EdDSA")) odd.push(signRaw(key, header, claims, other));
  }
  return odd;
}

/** What a credential of this key would allow: every algorithm its key type can verify. */
function allowedFor(alg: Algorithm): Algorithm[] {
  return ALGORITHMS.filter((other) => keyFamily(other) === keyFamily(alg));
}

describe.each([...ALGORITHMS])("%s: node:crypto path ≡ jose", (alg) => {
  test("same verdict on every token of the corpus", async () => {
    const [key, stranger] = await Promise.all([signingKey(alg), signingKey(alg)]);
    const allowed = allowedFor(alg);
    const verifiers = new Map(allowed.map((a) => [a, createVerifier(a, key.verifyKey)!] as const));
    const valid = await Promise.all([
      sign(key, { iss: "x", exp: 2e9 }),
      sign(key, { iss: "x", nested: { a: [1, 2] } }, { kid: "k1", typ: "JWT" }),
      sign(key, {}),
      sign(key, { sub: "é日本", pad: "y".repeat(500) }),
    ]);
    const seed = 0x5eed + ALGORITHMS.indexOf(alg);
    const tokens = [
      ...valid,
      ...buildCorpus(valid, TOKENS_PER_ALGORITHM, seed),
      ...valid.flatMap(referenceCases),
      ...signedOddities(key),
      await sign(stranger, { iss: "x" }),
    ];
    const mismatches: { token: string; jose: boolean; fastPath: boolean }[] = [];
    let accepted = 0;
    for (const token of tokens) {
      const [jose, fastPath] = [await joseAccepts(token, key.verifyKey, allowed), fastPathAccepts(token, verifiers)];
      if (jose) accepted++;
      if (jose !== fastPath) mismatches.push({ token, jose, fastPath });
    }
    expect(mismatches).toEqual([]);
    // The corpus is only meaningful if it has both verdicts in it.
    expect(accepted).toBeGreaterThan(valid.length);
    expect(tokens.length - accepted).toBeGreaterThan(TOKENS_PER_ALGORITHM * 0.8);
  });
});

test("an empty HMAC secret verifies nothing, as jose cannot use it either", async () => {
  expect(createVerifier("HS256", new Uint8Array())).toBeNull();
  expect(await joseAccepts(signRaw({ alg: "HS256", privateKey: new Uint8Array(1) } as SigningKey, '{"alg":"HS256"}', "{}"), new Uint8Array(), ["HS256"])).toBe(false);
});
