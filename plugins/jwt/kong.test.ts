// Kong compatibility of the jwt plugin, through the real proxy: every row of the reference's
// response table (§3) with its exact body and WWW-Authenticate, token sources (§2.3) and the
// upstream headers (§4). Rows 19 and 20 are Kong 500s that SPEC §5.1 turns into 401s.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type AuthRig, craft, echoOf, inSeconds, sign, signingKey, startAuthRig, type SigningKey } from "../../tests/support/auth.ts";

const JSON_TYPE = "application/json; charset=utf-8";
const BASE = "Bearer";
const ERROR = 'Bearer error="invalid_token"';

let rig: AuthRig;
let hs: SigningKey;
let es: SigningKey;
let ps: SigningKey;
let consumerId: string;

async function expectRefusal(response: Response, body: string, challenge: string | null, status = 401): Promise<void> {
  expect({ status: response.status, body: await response.text(), challenge: response.headers.get("www-authenticate") }).toEqual({ status, body, challenge });
  expect(response.headers.get("content-type")).toBe(JSON_TYPE);
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

beforeAll(async () => {
  rig = startAuthRig([{ name: "jwt", config: { claims_to_verify: ["exp"] } }]);
  const store = rig.gateway.store;
  [hs, es, ps] = await Promise.all([signingKey("HS256"), signingKey("ES256"), signingKey("PS256")]);
  const consumer = store.create("consumers", { username: "alice", custom_id: "A-1" });
  consumerId = consumer.id;
  store.create("jwt_secrets", { key: "hs-issuer", ...hs.credential }, { kind: "consumers", id: consumer.id });
  store.create("jwt_secrets", { key: "es-issuer", ...es.credential }, { kind: "consumers", id: consumer.id });
  store.create("jwt_secrets", { key: "ps-issuer", ...ps.credential }, { kind: "consumers", id: consumer.id });
  const bob = store.create("consumers", { username: "bob" });
  store.create("jwt_secrets", { key: "b64-issuer", algorithm: "HS256", secret: "not base64 at all!" }, { kind: "consumers", id: bob.id });
});
afterAll(() => rig.close());

describe("reference §3: every jwt response", () => {
  test("1: no token → 401 Unauthorized, challenge without error", async () => {
    await expectRefusal(await rig.get("/api"), '{"message":"Unauthorized"}', BASE);
  });

  test("2: two different tokens → Multiple tokens provided", async () => {
    const a = await sign(hs, { iss: "hs-issuer", exp: inSeconds(60) });
    const b = await sign(hs, { iss: "hs-issuer", exp: inSeconds(61) });
    await expectRefusal(await rig.get(`/api?jwt=${a}`, bearer(b)), '{"message":"Multiple tokens provided"}', ERROR);
    await expectRefusal(await rig.get(`/api?jwt=${a}&jwt=${b}`), '{"message":"Multiple tokens provided"}', ERROR);
  });

  test("3: a query parameter without a value → Unrecognizable token", async () => {
    await expectRefusal(await rig.get("/api?jwt"), '{"message":"Unrecognizable token"}', ERROR);
  });

  test("4: not three base64url JSON parts → Bad token; invalid JSON", async () => {
    for (const token of ["abc", "a.b", "e30.e30", craft("{not json", { iss: "hs-issuer" }), craft({ alg: "HS256" }, "nope"), "!!.e30.c2ln"]) {
      await expectRefusal(await rig.get("/api", bearer(token)), '{"message":"Bad token; invalid JSON"}', ERROR);
    }
  });

  test("5: alg missing, not a string, unsupported or none → Bad token; invalid alg", async () => {
    for (const header of [{}, { alg: 256 }, { alg: "HS1024" }, { alg: "none" }, { alg: "hs256" }]) {
      await expectRefusal(await rig.get("/api", bearer(craft(header, { iss: "hs-issuer" }))), '{"message":"Bad token; invalid alg"}', ERROR);
    }
  });

  test("6: signature segment not base64url → Bad token; invalid signature", async () => {
    const valid = await sign(hs, { iss: "hs-issuer", exp: inSeconds(60) });
    for (const token of [craft({ alg: "HS256" }, { iss: "hs-issuer" }, "a+b/c"), `${valid}.extra`, `${valid.slice(0, valid.lastIndexOf("."))}.@@@`]) {
      await expectRefusal(await rig.get("/api", bearer(token)), '{"message":"Bad token; invalid signature"}', ERROR);
    }
  });

  test("7: Bad token; invalid claims is unreachable (payload JSON failures are row 4)", async () => {
    await expectRefusal(await rig.get("/api", bearer(craft({ alg: "HS256" }, "[1,2]"))), '{"message":"Bad token; invalid JSON"}', ERROR);
  });

  test("8: no key claim in payload or header → No mandatory 'iss' in claims", async () => {
    await expectRefusal(await rig.get("/api", bearer(await sign(hs, { sub: "x" }))), `{"message":"No mandatory 'iss' in claims"}`, ERROR);
  });

  test("9: empty key claim → Invalid 'iss' in claims", async () => {
    await expectRefusal(await rig.get("/api", bearer(await sign(hs, { iss: "" }))), `{"message":"Invalid 'iss' in claims"}`, ERROR);
  });

  test("10: unknown key → No credentials found for given 'iss'", async () => {
    await expectRefusal(await rig.get("/api", bearer(await sign(hs, { iss: "nobody" }))), `{"message":"No credentials found for given 'iss'"}`, ERROR);
  });

  test("11: header alg other than the credential's → Invalid algorithm", async () => {
    const token = craft({ alg: "HS384" }, { iss: "hs-issuer" });
    await expectRefusal(await rig.get("/api", bearer(token)), '{"message":"Invalid algorithm"}', ERROR);
    // HS/RS confusion: an HS256 token keyed on the ES credential never reaches verification.
    const confused = await sign(hs, { iss: "es-issuer", exp: inSeconds(60) });
    await expectRefusal(await rig.get("/api", bearer(confused)), '{"message":"Invalid algorithm"}', ERROR);
  });

  test("12: no usable key (secret_is_base64 with a secret that does not decode) → Invalid key/secret", async () => {
    const other = startAuthRig([{ name: "jwt", config: { secret_is_base64: true } }]);
    try {
      const bob = other.gateway.store.create("consumers", { username: "bob" });
      other.gateway.store.create("jwt_secrets", { key: "b64-issuer", algorithm: "HS256", secret: "not base64 at all!" }, { kind: "consumers", id: bob.id });
      const token = craft({ alg: "HS256" }, { iss: "b64-issuer" });
      await expectRefusal(await other.get("/api", bearer(token)), '{"message":"Invalid key/secret"}', ERROR);
    } finally {
      await other.close();
    }
  });

  test("13: wrong signature → Invalid signature", async () => {
    const token = await sign(hs, { iss: "hs-issuer", exp: inSeconds(60) });
    const tampered = `${token.slice(0, token.lastIndexOf("."))}.${"A".repeat(43)}`;
    await expectRefusal(await rig.get("/api", bearer(tampered)), '{"message":"Invalid signature"}', ERROR);
  });

  test("14: a claims_to_verify claim missing or not a number → {claim: must be a number}", async () => {
    await expectRefusal(await rig.get("/api", bearer(await sign(hs, { iss: "hs-issuer" }))), '{"exp":"must be a number"}', ERROR);
    await expectRefusal(await rig.get("/api", bearer(await sign(hs, { iss: "hs-issuer", exp: "soon" }))), '{"exp":"must be a number"}', ERROR);
    const both = startAuthRig([{ name: "jwt", config: { claims_to_verify: ["nbf", "exp"] } }]);
    try {
      const c = both.gateway.store.create("consumers", { username: "c" });
      both.gateway.store.create("jwt_secrets", { key: "hs-issuer", ...hs.credential }, { kind: "consumers", id: c.id });
      const response = await both.get("/api", bearer(await sign(hs, { iss: "hs-issuer" })));
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ nbf: "must be a number", exp: "must be a number" });
      expect(response.headers.get("www-authenticate")).toBe(ERROR);
    } finally {
      await both.close();
    }
  });

  test("15: expired → {exp: token expired}", async () => {
    await expectRefusal(await rig.get("/api", bearer(await sign(hs, { iss: "hs-issuer", exp: inSeconds(-1) }))), '{"exp":"token expired"}', ERROR);
    // Kong's `exp <= now`: a token expiring this very second is already expired.
    await expectRefusal(await rig.get("/api", bearer(await sign(hs, { iss: "hs-issuer", exp: inSeconds(0) }))), '{"exp":"token expired"}', ERROR);
  });

  test("16: nbf in the future → {nbf: token not valid yet}", async () => {
    const other = startAuthRig([{ name: "jwt", config: { claims_to_verify: ["nbf"] } }]);
    try {
      const c = other.gateway.store.create("consumers", { username: "c" });
      other.gateway.store.create("jwt_secrets", { key: "hs-issuer", ...hs.credential }, { kind: "consumers", id: c.id });
      await expectRefusal(await other.get("/api", bearer(await sign(hs, { iss: "hs-issuer", nbf: inSeconds(30) }))), '{"nbf":"token not valid yet"}', ERROR);
      expect((await other.get("/api", bearer(await sign(hs, { iss: "hs-issuer", nbf: inSeconds(0) })))).status).toBe(200);
    } finally {
      await other.close();
    }
  });

  test("17: exp beyond maximum_expiration → {exp: exceeds maximum allowed expiration}", async () => {
    const other = startAuthRig([{ name: "jwt", config: { claims_to_verify: ["exp"], maximum_expiration: 60 } }]);
    try {
      const c = other.gateway.store.create("consumers", { username: "c" });
      other.gateway.store.create("jwt_secrets", { key: "hs-issuer", ...hs.credential }, { kind: "consumers", id: c.id });
      await expectRefusal(await other.get("/api", bearer(await sign(hs, { iss: "hs-issuer", exp: inSeconds(3600) }))), '{"exp":"exceeds maximum allowed expiration"}', ERROR);
      expect((await other.get("/api", bearer(await sign(hs, { iss: "hs-issuer", exp: inSeconds(30) })))).status).toBe(200);
    } finally {
      await other.close();
    }
  });

  test("18: the credential's consumer has vanished → Could not find consumer, no challenge", async () => {
    const other = startAuthRig([{ name: "jwt" }]);
    try {
      const c = other.gateway.store.create("consumers", { username: "ghost" });
      other.gateway.store.create("jwt_secrets", { key: "ghost-key", ...hs.credential }, { kind: "consumers", id: c.id });
      // Only a database edited without foreign keys can hold such a credential.
      other.gateway.opened.sqlite.run("PRAGMA foreign_keys = OFF");
      other.gateway.opened.sqlite.run("DELETE FROM consumers WHERE id = ?", [c.id]);
      other.gateway.state.reload();
      await expectRefusal(await other.get("/api", bearer(await sign(hs, { iss: "ghost-key" }))), `{"message":"Could not find consumer for 'iss=ghost-key'"}`, null);
    } finally {
      await other.close();
    }
  });

  test("19: jwt.anonymous names a consumer deleted since → the original 401, not Kong's 500", async () => {
    const other = startAuthRig([]);
    try {
      const store = other.gateway.store;
      const guest = store.create("consumers", { username: "guest" });
      store.create("plugins", { name: "jwt", route: { id: other.routeId }, config: { anonymous: "guest" } });
      expect((await echoOf(await other.get("/api"))).headers["x-anonymous-consumer"]).toBe("true");
      store.delete("consumers", guest.id);
      await expectRefusal(await other.get("/api"), '{"message":"Unauthorized"}', BASE);
      await expectRefusal(await other.get("/api", bearer("x.y.z")), '{"message":"Bad token; invalid JSON"}', ERROR);
    } finally {
      await other.close();
    }
  });

  describe("20: inputs that crash Kong (Lua errors, 500) are 401s with a message", () => {
    test("ES and PS signatures of the wrong length → Invalid signature", async () => {
      for (const [key, iss] of [[es, "es-issuer"], [ps, "ps-issuer"]] as const) {
        const token = await sign(key, { iss, exp: inSeconds(60) });
        const head = token.slice(0, token.lastIndexOf("."));
        for (const signature of ["", "AAAA", "A".repeat(200)]) {
          await expectRefusal(await rig.get("/api", bearer(`${head}.${signature}`)), '{"message":"Invalid signature"}', ERROR);
        }
      }
    });

    test("a key claim that is not a string → Invalid 'iss' in claims", async () => {
      for (const iss of [42, ["hs-issuer"], { a: 1 }, true, null]) {
        await expectRefusal(await rig.get("/api", bearer(await sign(hs, { iss }))), `{"message":"Invalid 'iss' in claims"}`, ERROR);
      }
    });

    test("a header or payload that is JSON but not an object → Bad token; invalid JSON", async () => {
      for (const [header, payload] of [["null", { iss: "hs-issuer" }], ["42", { iss: "hs-issuer" }], [{ alg: "HS256" }, "null"], [{ alg: "HS256" }, "7"], [{ alg: "HS256" }, '"iss"']] as const) {
        await expectRefusal(await rig.get("/api", bearer(craft(header, payload))), '{"message":"Bad token; invalid JSON"}', ERROR);
      }
    });

    test("a bad PEM on an ES credential is refused when written, so it never reaches a request", () => {
      expect(() =>
        rig.gateway.store.create("jwt_secrets", { key: "bad-es", algorithm: "ES256", rsa_public_key: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----" }, { kind: "consumers", id: consumerId }),
      ).toThrow(/rsa_public_key/);
    });
  });
});

describe("WWW-Authenticate with a realm", () => {
  test('no token → Bearer realm="…"; other failures add error="invalid_token" after a comma', async () => {
    const other = startAuthRig([{ name: "jwt", config: { realm: "kong" } }]);
    try {
      await expectRefusal(await other.get("/api"), '{"message":"Unauthorized"}', 'Bearer realm="kong"');
      await expectRefusal(await other.get("/api", bearer("abc")), '{"message":"Bad token; invalid JSON"}', 'Bearer realm="kong", error="invalid_token"');
    } finally {
      await other.close();
    }
  });
});

describe("reference §2.3: token sources", () => {
  test("query parameter, cookie and custom header are all read", async () => {
    const other = startAuthRig([{ name: "jwt", config: { uri_param_names: ["token"], cookie_names: ["session"], header_names: ["x-auth"] } }]);
    try {
      const c = other.gateway.store.create("consumers", { username: "c" });
      other.gateway.store.create("jwt_secrets", { key: "hs-issuer", ...hs.credential }, { kind: "consumers", id: c.id });
      const token = await sign(hs, { iss: "hs-issuer" });
      expect((await other.get(`/api?token=${token}`)).status).toBe(200);
      expect((await other.get("/api", { cookie: `a=b; session=${token}; c=d` })).status).toBe(200);
      expect((await other.get("/api", { "x-auth": `Bearer ${token}` })).status).toBe(200);
      // Not configured: the default names are replaced, not extended.
      expect((await other.get(`/api?jwt=${token}`)).status).toBe(401);
      expect((await other.get("/api", bearer(token))).status).toBe(401);
      // A custom header needs the Bearer scheme too.
      expect((await other.get("/api", { "x-auth": token })).status).toBe(401);
    } finally {
      await other.close();
    }
  });

  test("the same token in several places counts once", async () => {
    const token = await sign(hs, { iss: "hs-issuer", exp: inSeconds(60) });
    expect((await rig.get(`/api?jwt=${token}&jwt=${token}`, bearer(token))).status).toBe(200);
  });

  test("empty query values are ignored", async () => {
    const token = await sign(hs, { iss: "hs-issuer", exp: inSeconds(60) });
    expect((await rig.get(`/api?jwt=`, bearer(token))).status).toBe(200);
  });

  test("Bearer is case-insensitive and anchored (SPEC §5.1, unlike Kong)", async () => {
    const token = await sign(hs, { iss: "hs-issuer", exp: inSeconds(60) });
    for (const value of [`bearer ${token}`, `BEARER ${token}`, `  Bearer   ${token}  `]) {
      expect((await rig.get("/api", { authorization: value })).status).toBe(200);
    }
    for (const value of [`Basic abc Bearer ${token}`, `Bearer ${token} trailing`, `Bearer`, token]) {
      await expectRefusal(await rig.get("/api", { authorization: value }), '{"message":"Unauthorized"}', BASE);
    }
  });

  test("a header sent twice: the same token is one token, a different second one is refused (Kong: the first is used)", async () => {
    const token = await sign(hs, { iss: "hs-issuer", exp: inSeconds(60) });
    const twice = (second: string) => {
      const headers = new Headers();
      headers.append("authorization", `Bearer ${token}`);
      headers.append("authorization", second);
      return rig.gateway.request("/api", { headers });
    };
    expect((await twice(`Bearer ${token}`)).status).toBe(200);
    // A different token, or a value the gateway cannot check, beside the good one: an upstream
    // reading the other field would get a credential nobody verified.
    for (const second of ["Bearer something-else", "Basic YTpi", "Bearer EVIL extra", "Bearer", ""]) {
      await expectRefusal(await twice(second), '{"message":"Multiple tokens provided"}', ERROR);
    }
    const evilFirst = new Headers();
    evilFirst.append("authorization", "Bearer EVIL extra");
    evilFirst.append("authorization", `Bearer ${token}`);
    await expectRefusal(await rig.gateway.request("/api", { headers: evilFirst }), '{"message":"Multiple tokens provided"}', ERROR);
    // A Bearer value that is no token, beside a token from the query (Kong: two tokens).
    await expectRefusal(await rig.get(`/api?jwt=${token}`, { authorization: "Bearer EVIL x" }), '{"message":"Multiple tokens provided"}', ERROR);
    // Alone, another scheme is no token (Kong's reading); a bad Bearer value alone is none either.
    expect((await rig.get(`/api?jwt=${token}`, { authorization: "Basic YTpi" })).status).toBe(200);
    await expectRefusal(await rig.get("/api", { authorization: "Bearer EVIL x" }), '{"message":"Unauthorized"}', BASE);
  });

  test("key_claim_name is looked up in the payload first, then in the JOSE header", async () => {
    const other = startAuthRig([{ name: "jwt", config: { key_claim_name: "kid" } }]);
    try {
      const c = other.gateway.store.create("consumers", { username: "c" });
      other.gateway.store.create("jwt_secrets", { key: "from-header", ...hs.credential }, { kind: "consumers", id: c.id });
      other.gateway.store.create("jwt_secrets", { key: "from-payload", ...hs.credential }, { kind: "consumers", id: c.id });
      const viaHeader = await echoOf(await other.get("/api", bearer(await sign(hs, { iss: "x" }, { kid: "from-header" }))));
      expect(viaHeader.headers["x-credential-identifier"]).toBe("from-header");
      const both = await echoOf(await other.get("/api", bearer(await sign(hs, { kid: "from-payload" }, { kid: "from-header" }))));
      expect(both.headers["x-credential-identifier"]).toBe("from-payload");
      await expectRefusal(await other.get("/api", bearer(await sign(hs, { iss: "x" }))), `{"message":"No mandatory 'kid' in claims"}`, ERROR);
    } finally {
      await other.close();
    }
  });

  test("typ is not checked", async () => {
    for (const typ of [undefined, "jwt", "at+jwt"]) {
      const token = await sign(hs, { iss: "hs-issuer", exp: inSeconds(60) }, typ ? { typ } : {});
      expect((await rig.get("/api", bearer(token))).status).toBe(200);
    }
  });

  test("run_on_preflight: false lets every OPTIONS request through unauthenticated", async () => {
    const other = startAuthRig([{ name: "jwt", config: { run_on_preflight: false } }]);
    try {
      const echo = await echoOf(await other.get("/api", {}, { method: "OPTIONS" }));
      expect(echo.headers["x-consumer-id"]).toBeUndefined();
      expect((await other.get("/api")).status).toBe(401);
      expect((await rig.get("/api", {}, { method: "OPTIONS" })).status).toBe(401);
    } finally {
      await other.close();
    }
  });
});

describe("reference §4: upstream headers on success", () => {
  test("consumer and credential headers are set; the token is passed on", async () => {
    const token = await sign(hs, { iss: "hs-issuer", exp: inSeconds(60) });
    const echo = await echoOf(await rig.get("/api", bearer(token)));
    expect(echo.headers["x-consumer-id"]).toBe(consumerId);
    expect(echo.headers["x-consumer-custom-id"]).toBe("A-1");
    expect(echo.headers["x-consumer-username"]).toBe("alice");
    expect(echo.headers["x-credential-identifier"]).toBe("hs-issuer");
    expect(echo.headers["x-anonymous-consumer"]).toBeUndefined();
    expect(echo.headers["x-credential-username"]).toBeUndefined();
    expect(echo.headers.authorization).toBe(`Bearer ${token}`);
  });

  test("a consumer without custom_id: the header is absent, whatever the client sent", async () => {
    const other = startAuthRig([{ name: "jwt" }]);
    try {
      const c = other.gateway.store.create("consumers", { username: "only-name" });
      other.gateway.store.create("jwt_secrets", { key: "k", ...hs.credential }, { kind: "consumers", id: c.id });
      const echo = await echoOf(await other.get("/api", { ...bearer(await sign(hs, { iss: "k" })), "x-consumer-custom-id": "spoofed" }));
      expect(echo.headers["x-consumer-custom-id"]).toBeUndefined();
      expect(echo.headers["x-consumer-username"]).toBe("only-name");
    } finally {
      await other.close();
    }
  });
});
