// The jwt-signer config: defaults, and the field errors a write gets (schema, then check).
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ValidationError } from "../../src/errors.ts";
import { checkPluginConfig } from "../../src/entities/plugin.ts";
import type { EntityLookup } from "../../src/pipeline/contract.ts";
import { jwtSignerPlugin } from "./index.ts";

const withKeystore: EntityLookup = { findConsumer: () => undefined, findKey: (kid) => (kid === "es-key" ? { kid, alg: "ES256" } : undefined) };

function fieldErrors(config: Record<string, unknown>, lookup: EntityLookup = withKeystore): Record<string, string> | undefined {
  try {
    checkPluginConfig(jwtSignerPlugin, config, lookup);
    return undefined;
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return error.fields;
  }
}

test("defaults: keystore key, compact serialization, 300 s JWK set cache, https only", () => {
  expect(checkPluginConfig(jwtSignerPlugin, { alg: "ES256", keys_to_sign: ["access_token"] }, withKeystore)).toEqual({
    alg: "ES256",
    kid: null,
    jwk_file: null,
    jwk_local_path: null,
    jwk_url: null,
    cache_duration: 300,
    disable_jwk_security: false,
    keys_to_sign: ["access_token"],
    full: false,
  });
});

describe("field errors", () => {
  const base = { alg: "ES256", keys_to_sign: ["access_token"] };
  test.each([
    ["no alg and no keys_to_sign", { full: true }, { "config.alg": "required field missing", "config.keys_to_sign": "required field missing" }],
    ["an empty keys_to_sign", { ...base, keys_to_sign: [] }, { "config.keys_to_sign": "length should be between 1 and 64" }],
    ["an HMAC alg without a JWK set", { ...base, alg: "HS256" }, { "config.alg": 'HS256 signs with an "oct" key of a JWK set: give jwk_file (or jwk_local_path) or jwk_url, and kid; the keystore holds asymmetric keys only' }],
    ["an unknown alg", { ...base, alg: "none" }, { "config.alg": "expected one of: HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA" }],
    ["an unknown field", { ...base, jwk_path: "/k.json" }, { "config.jwk_path": "unknown field" }],
    ["jwk_file and jwk_local_path", { ...base, kid: "a", jwk_file: "/k.json", jwk_local_path: "/k.json" }, { "config.jwk_local_path": "KrakenD's name for jwk_file: give one of them, not both" }],
    ["jwk_local_path and jwk_url", { ...base, kid: "a", jwk_local_path: "/k.json", jwk_url: "https://keys.example/jwks" }, { "config.jwk_url": "give jwk_local_path or jwk_url, not both" }],
    ["jwk_file and jwk_url", { ...base, kid: "a", jwk_file: "/k.json", jwk_url: "https://keys.example/jwks" }, { "config.jwk_url": "give jwk_file or jwk_url, not both" }],
    ["jwk_file without kid", { ...base, jwk_file: "/k.json" }, { "config.kid": "required with jwk_file or jwk_url: names the key of the set that signs" }],
    ["a plain-http jwk_url", { ...base, kid: "a", jwk_url: "http://keys.example/jwks" }, { "config.jwk_url": "must be https: the set holds private keys (set disable_jwk_security to allow http)" }],
    ["a jwk_url that is not http(s)", { ...base, kid: "a", jwk_url: "file:///k.json" }, { "config.jwk_url": "invalid value: expected a URL serving the JWK set with the private signing key, instead of the keystore" }],
    ["a kid not in the keystore", { ...base, kid: "nope" }, { "config.kid": "no key 'nope' in the keystore" }],
    ["a kid of another alg", { ...base, alg: "RS256", kid: "es-key" }, { "config.alg": "keystore key 'es-key' is an ES256 key" }],
  ])("%s", (_what, config, expected) => {
    expect(fieldErrors(config)).toEqual(expected);
  });
});

test.each([
  ["a keystore kid", { kid: "es-key" }],
  ["a JWK set file", { kid: "any", jwk_file: "/etc/gateway/signing.jwks.json" }],
  ["a JWK set file under KrakenD's name", { kid: "any", jwk_local_path: "/etc/gateway/signing.jwks.json" }],
  ["HS256 from a JWK set file", { alg: "HS256", kid: "any", jwk_local_path: "/etc/gateway/signing.jwks.json" }],
  ["an https jwk_url", { kid: "any", jwk_url: "https://keys.example/jwks" }],
  ["a plain-http jwk_url with disable_jwk_security", { kid: "any", jwk_url: "http://127.0.0.1:9000/jwks", disable_jwk_security: true }],
])("valid: %s", (_what, extra) => {
  expect(fieldErrors({ alg: "ES256", keys_to_sign: ["access_token"], ...extra })).toBeUndefined();
});

test("a kid that is not in the keystore is a field error", () => {
  expect(fieldErrors({ alg: "ES256", kid: "nope", keys_to_sign: ["t"] })).toEqual({ "config.kid": "no key 'nope' in the keystore" });
});

describe("a JWK set file that can be read when the config is written is checked then", () => {
  const dir = mkdtempSync(join(tmpdir(), "signer-schema-"));
  const file = (name: string, keys: Record<string, unknown>[]) => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify({ keys }));
    return path;
  };
  const oct = { kty: "oct", k: "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow", kid: "sim2", alg: "HS256" };
  const ec = { kty: "EC", crv: "P-256", x: "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4", y: "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM", d: "870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE" };
  const signer = (extra: Record<string, unknown>) => fieldErrors({ keys_to_sign: ["t"], ...extra });

  test.each([
    ["an EC key marked use: enc", { alg: "ES256", kid: "1" }, [{ ...ec, use: "enc", kid: "1" }], { "config.kid": `key '1' of JWK set {file} is marked "use": "enc", not "sig": not for signing` }],
    ["key_ops without sign", { alg: "ES256", kid: "1" }, [{ ...ec, key_ops: ["verify"], kid: "1" }], { "config.kid": `key '1' of JWK set {file} has "key_ops" ["verify"] without "sign": not for signing` }],
    ["a kid not in the set", { alg: "HS256", kid: "nope" }, [oct], { "config.kid": "no key 'nope' in JWK set {file}" }],
    ["an oct key for ES256", { alg: "ES256", kid: "sim2" }, [oct], { "config.alg": `key 'sim2' of JWK set {file} is a "oct" key; ES256 needs a "EC" P-256 key` }],
    ["a key whose alg is another", { alg: "HS512", kid: "sim2" }, [oct], { "config.alg": "key 'sim2' of JWK set {file} is for HS256, not HS512" }],
    ["a public key", { alg: "ES256", kid: "1" }, [{ ...ec, d: undefined, kid: "1" }], { "config.kid": "key '1' of JWK set {file} has no private part" }],
  ])("%s", (what, config, keys, expected) => {
    const path = file(`${what.replace(/\W+/g, "-")}.json`, keys);
    const errors = Object.fromEntries(Object.entries(expected).map(([k, v]) => [k, v.replace("{file}", path)]));
    expect(signer({ ...config, jwk_local_path: path })).toEqual(errors);
  });

  test("valid: HS256 with an oct key; a use: enc key of the same kid is skipped for a signing one", () => {
    expect(signer({ alg: "HS256", kid: "sim2", jwk_local_path: file("oct.json", [{ ...oct, use: "enc" }, oct]) })).toBeUndefined();
    expect(signer({ alg: "ES256", kid: "1", jwk_file: file("sig.json", [{ ...ec, use: "sig", kid: "1" }]) })).toBeUndefined();
  });

  test("not JSON: the field that names the file", () => {
    const path = join(dir, "broken.json");
    writeFileSync(path, "{");
    expect(signer({ alg: "HS256", kid: "a", jwk_local_path: path })).toEqual({ "config.jwk_local_path": `${path}: not valid JSON` });
  });
});
