// The jwt config: Kong's fields and defaults, and the cross-field checks made on write.
import { describe, expect, test } from "bun:test";
import { Value } from "@sinclair/typebox/value";
import type { Consumer } from "../../src/entities/consumer.ts";
import { type JwtConfig, JwtConfigSchema, checkJwtConfig } from "./schema.ts";

const guest = { id: "c1", username: "guest" } as Consumer;
const lookup = { findConsumer: (ref: string) => (ref === "guest" || ref === "c1" ? guest : undefined), findKey: () => undefined };
const filled = (config: Record<string, unknown>) => Value.Default(JwtConfigSchema, structuredClone(config)) as JwtConfig;
const errorsOf = (config: Record<string, unknown>) => checkJwtConfig(filled(config), lookup);

test("an empty config gets Kong's defaults, and every extension is off", () => {
  expect(filled({})).toEqual({
    uri_param_names: ["jwt"],
    cookie_names: [],
    header_names: ["authorization"],
    key_claim_name: "iss",
    secret_is_base64: false,
    claims_to_verify: null,
    anonymous: null,
    run_on_preflight: true,
    maximum_expiration: 0,
    realm: null,
    max_token_bytes: 8192,
    leeway: 0,
    issuers: null,
    audiences: null,
    required_claims: null,
    roles_claim: null,
    roles: null,
    scopes_claim: "scope",
    scopes: null,
    scopes_match: "any",
    groups_claim: null,
    claims_to_headers: null,
    hide_credentials: false,
    cache_size: 10000,
  });
  expect(Value.Check(JwtConfigSchema, filled({}))).toBe(true);
});

test("a config exported by Kong (explicit nulls) is valid", () => {
  const kong = { anonymous: null, claims_to_verify: ["exp"], cookie_names: [], header_names: ["authorization"], key_claim_name: "kid", maximum_expiration: 0, realm: null, run_on_preflight: true, secret_is_base64: false, uri_param_names: ["jwt"] };
  expect(Value.Check(JwtConfigSchema, filled(kong))).toBe(true);
  expect(checkJwtConfig(filled(kong), lookup)).toBeUndefined();
});

describe("schema violations", () => {
  for (const [name, config] of [
    ["an unknown field", { hide_token: true }],
    ["maximum_expiration below 0", { maximum_expiration: -1 }],
    ["maximum_expiration above a year", { maximum_expiration: 31536001 }],
    ["an unsupported claims_to_verify entry", { claims_to_verify: ["aud"] }],
    ["a header name that is not an HTTP token", { header_names: ["x auth"] }],
    ["a realm with a quote", { realm: 'a"b' }],
    ["scopes_match other than any/all", { scopes_match: "most" }],
    ["a negative cache_size", { cache_size: -1 }],
  ] as const) {
    test(name, () => expect(Value.Check(JwtConfigSchema, filled(config))).toBe(false));
  }
});

describe("checks on write", () => {
  test("maximum_expiration > 0 needs exp in claims_to_verify (Kong's message)", () => {
    expect(errorsOf({ maximum_expiration: 60 })).toEqual({ claims_to_verify: "expected to contain: exp" });
    expect(errorsOf({ maximum_expiration: 60, claims_to_verify: ["nbf"] })).toEqual({ claims_to_verify: "expected to contain: exp" });
    expect(errorsOf({ maximum_expiration: 60, claims_to_verify: ["exp"] })).toBeUndefined();
  });

  test("anonymous must name an existing consumer, by username or id", () => {
    expect(errorsOf({ anonymous: "nobody" })).toEqual({ anonymous: "no consumer with id or username 'nobody'" });
    expect(errorsOf({ anonymous: "guest" })).toBeUndefined();
    expect(errorsOf({ anonymous: "c1" })).toBeUndefined();
  });

  test("the token cannot be read from a header the gateway strips as spoofable", () => {
    expect(errorsOf({ header_names: ["authorization", "X-Consumer-Token"] })).toEqual({ header_names: "'X-Consumer-Token' is an identity header the gateway removes from requests" });
  });

  test("roles need roles_claim", () => {
    expect(errorsOf({ roles: ["admin"] })).toEqual({ roles_claim: "required when roles is set" });
  });

  test("claims_to_headers cannot overwrite identity, routing or token headers", () => {
    expect(errorsOf({ claims_to_headers: { sub: "X-Consumer-Username", aud: "X-Authenticated-Groups", iss: "Authorization", "a..b": "X-A" } })).toEqual({
      "claims_to_headers.sub": "'X-Consumer-Username' is set by the gateway itself",
      "claims_to_headers.aud": "'X-Authenticated-Groups' is set by the gateway itself",
      "claims_to_headers.iss": "'Authorization' is set by the gateway itself",
      "claims_to_headers.a..b": "must be a claim name or dot path",
    });
  });
});
