// The jwt-signer config: defaults, and the field errors a write gets (schema, then check).
import { describe, expect, test } from "bun:test";
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
    ["an empty keys_to_sign", { ...base, keys_to_sign: [] }, { "config.keys_to_sign": "expected array length to be greater or equal to 1" }],
    ["an HMAC alg", { ...base, alg: "HS256" }, { "config.alg": "expected union value" }],
    ["an unknown field", { ...base, jwk_local_path: "/k.json" }, { "config.jwk_local_path": "unknown field" }],
    ["jwk_file and jwk_url", { ...base, kid: "a", jwk_file: "/k.json", jwk_url: "https://keys.example/jwks" }, { "config.jwk_url": "give jwk_file or jwk_url, not both" }],
    ["jwk_file without kid", { ...base, jwk_file: "/k.json" }, { "config.kid": "required with jwk_file or jwk_url: names the key of the set that signs" }],
    ["a plain-http jwk_url", { ...base, kid: "a", jwk_url: "http://keys.example/jwks" }, { "config.jwk_url": "must be https: the set holds private keys (set disable_jwk_security to allow http)" }],
    ["a jwk_url that is not http(s)", { ...base, kid: "a", jwk_url: "file:///k.json" }, { "config.jwk_url": "expected union value" }],
    ["a kid not in the keystore", { ...base, kid: "nope" }, { "config.kid": "no key 'nope' in the keystore" }],
    ["a kid of another alg", { ...base, alg: "RS256", kid: "es-key" }, { "config.alg": "keystore key 'es-key' is an ES256 key" }],
  ])("%s", (_what, config, expected) => {
    expect(fieldErrors(config)).toEqual(expected);
  });
});

test.each([
  ["a keystore kid", { kid: "es-key" }],
  ["a JWK set file", { kid: "any", jwk_file: "/etc/gateway/signing.jwks.json" }],
  ["an https jwk_url", { kid: "any", jwk_url: "https://keys.example/jwks" }],
  ["a plain-http jwk_url with disable_jwk_security", { kid: "any", jwk_url: "http://127.0.0.1:9000/jwks", disable_jwk_security: true }],
])("valid: %s", (_what, extra) => {
  expect(fieldErrors({ alg: "ES256", keys_to_sign: ["access_token"], ...extra })).toBeUndefined();
});

test("a kid that is not in the keystore is a field error", () => {
  expect(fieldErrors({ alg: "ES256", kid: "nope", keys_to_sign: ["t"] })).toEqual({ "config.kid": "no key 'nope' in the keystore" });
});
