// SPEC §5.2 — the jwt plugin beyond Kong, through the real proxy: iat and leeway, issuer and
// audience allow-lists, required claims, roles and scopes (403), groups, claims_to_headers,
// hide_credentials, max_token_bytes and the verified-token cache.
import { afterAll, afterEach, beforeAll, describe, expect, setSystemTime, test } from "bun:test";
import { type AuthRig, echoOf, inSeconds, sign, signingKey, startAuthRig, type SigningKey } from "../../tests/support/auth.ts";

let hs: SigningKey;
beforeAll(async () => {
  hs = await signingKey("HS256");
});

/** A rig whose jwt plugin has `config`, with consumer alice and credential `alice-key`. */
function rigWith(config: Record<string, unknown>, extra: { name: string; config?: Record<string, unknown> }[] = []): AuthRig {
  const rig = startAuthRig([{ name: "jwt", config }, ...extra]);
  const alice = rig.gateway.store.create("consumers", { username: "alice" });
  rig.gateway.store.create("jwt_secrets", { key: "alice-key", ...hs.credential }, { kind: "consumers", id: alice.id });
  return rig;
}

async function answer(rig: AuthRig, claims: Record<string, unknown>, headers: Record<string, string> = {}) {
  const token = await sign(hs, { iss: "alice-key", ...claims });
  const response = await rig.get("/api", { authorization: `Bearer ${token}`, ...headers });
  return { status: response.status, body: response.status === 200 ? "" : await response.text(), challenge: response.headers.get("www-authenticate") };
}

const OK = { status: 200, body: "", challenge: null };
const invalid = (body: string) => ({ status: 401, body, challenge: 'Bearer error="invalid_token"' });

describe("time claims: iat and leeway", () => {
  let rig: AuthRig;
  beforeAll(() => {
    rig = rigWith({ claims_to_verify: ["exp", "nbf", "iat"], leeway: 30 });
  });
  afterAll(() => rig.close());

  test("within the leeway, exp, nbf and iat pass", async () => {
    expect(await answer(rig, { exp: inSeconds(-20), nbf: inSeconds(20), iat: inSeconds(20) })).toEqual(OK);
  });

  test("beyond it, each fails with its own reason, all reported together", async () => {
    const result = await answer(rig, { exp: inSeconds(-40), nbf: inSeconds(40), iat: inSeconds(40) });
    expect(result.status).toBe(401);
    expect(JSON.parse(result.body)).toEqual({ exp: "token expired", nbf: "token not valid yet", iat: "token issued in the future" });
  });

  test("iat must be a number when listed", async () => {
    expect(await answer(rig, { exp: inSeconds(60), nbf: inSeconds(0), iat: "now" })).toEqual(invalid('{"iat":"must be a number"}'));
  });
});

describe("issuers, audiences, required claims (401 with a message)", () => {
  let rig: AuthRig;
  beforeAll(() => {
    // The credential is found by kid, so iss is free for the issuer allow-list.
    rig = startAuthRig([{ name: "jwt", config: { key_claim_name: "kid", issuers: ["https://idp.example"], audiences: ["billing", "reports"], required_claims: ["sub"] } }]);
    const alice = rig.gateway.store.create("consumers", { username: "alice" });
    rig.gateway.store.create("jwt_secrets", { key: "k1", ...hs.credential }, { kind: "consumers", id: alice.id });
  });
  afterAll(() => rig.close());

  const ok = { kid: "k1", iss: "https://idp.example", aud: "billing", sub: "u1" };
  test("a token meeting all three passes; aud may be a string or an array", async () => {
    expect(await answer(rig, ok)).toEqual(OK);
    expect(await answer(rig, { ...ok, aud: ["other", "reports"] })).toEqual(OK);
  });

  test("a missing required claim", async () => {
    expect(await answer(rig, { ...ok, sub: undefined })).toEqual(invalid(`{"message":"Missing required claim 'sub'"}`));
  });

  test("an issuer not in the list, or none", async () => {
    expect(await answer(rig, { ...ok, iss: "https://evil.example" })).toEqual(invalid('{"message":"Token issuer not allowed"}'));
    expect(await answer(rig, { ...ok, iss: undefined })).toEqual(invalid('{"message":"Token issuer not allowed"}'));
  });

  test("an audience not in the list, or none", async () => {
    expect(await answer(rig, { ...ok, aud: ["other"] })).toEqual(invalid('{"message":"Token audience not allowed"}'));
    expect(await answer(rig, { ...ok, aud: undefined })).toEqual(invalid('{"message":"Token audience not allowed"}'));
  });
});

describe("roles and scopes (403 with a message)", () => {
  const insufficient = (message: string) => ({ status: 403, body: JSON.stringify({ message }), challenge: 'Bearer error="insufficient_scope"' });

  test("roles: any one of them, from a nested claim", async () => {
    const rig = rigWith({ roles_claim: "realm_access.roles", roles: ["admin", "ops"] });
    try {
      expect(await answer(rig, { realm_access: { roles: ["user", "ops"] } })).toEqual(OK);
      expect(await answer(rig, { realm_access: { roles: ["user"] } })).toEqual(insufficient("Missing required role"));
      expect(await answer(rig, {})).toEqual(insufficient("Missing required role"));
    } finally {
      await rig.close();
    }
  });

  test("scopes, any (default): a space-separated `scope` claim", async () => {
    const rig = rigWith({ scopes: ["read", "write"] });
    try {
      expect(await answer(rig, { scope: "openid write" })).toEqual(OK);
      expect(await answer(rig, { scope: "openid" })).toEqual(insufficient("Missing required scope"));
    } finally {
      await rig.close();
    }
  });

  test("scopes, all: an array claim", async () => {
    const rig = rigWith({ scopes_claim: "scp", scopes: ["read", "write"], scopes_match: "all" });
    try {
      expect(await answer(rig, { scp: ["write", "read"] })).toEqual(OK);
      expect(await answer(rig, { scp: ["read"] })).toEqual(insufficient("Missing required scope"));
    } finally {
      await rig.close();
    }
  });

  test("the 403 uses the realm when one is set", async () => {
    const rig = rigWith({ scopes: ["read"], realm: "api" });
    try {
      expect((await answer(rig, {})).challenge).toBe('Bearer realm="api", error="insufficient_scope"');
    } finally {
      await rig.close();
    }
  });
});

describe("claims_to_headers", () => {
  let rig: AuthRig;
  beforeAll(() => {
    rig = rigWith({ claims_to_headers: { sub: "X-User-Id", "org.id": "X-Org", roles: "X-Roles", meta: "X-Meta", name: "X-Name", note: "X-Note" } });
  });
  afterAll(() => rig.close());

  test("claim values become upstream headers: text, nested, arrays joined, objects as JSON", async () => {
    const token = await sign(hs, { iss: "alice-key", sub: "u-1", org: { id: 7 }, roles: ["a", "b"], meta: { x: 1 } });
    const echo = await echoOf(await rig.get("/api", { authorization: `Bearer ${token}` }));
    expect([echo.headers["x-user-id"], echo.headers["x-org"], echo.headers["x-roles"], echo.headers["x-meta"]]).toEqual(["u-1", "7", "a,b", '{"x":1}']);
  });

  test("client-sent values of those headers never reach the upstream", async () => {
    const token = await sign(hs, { iss: "alice-key" });
    const echo = await echoOf(await rig.get("/api", { authorization: `Bearer ${token}`, "x-user-id": "admin", "x-org": "1" }));
    expect(echo.headers["x-user-id"]).toBeUndefined();
    expect(echo.headers["x-org"]).toBeUndefined();
    const anonymous = await rig.get("/api", { "x-user-id": "admin" });
    expect(anonymous.status).toBe(401);
  });

  test("non-ASCII text travels as UTF-8; text with control characters is left out", async () => {
    const token = await sign(hs, { iss: "alice-key", name: "José 日本", note: "line\nbreak" });
    const response = await rig.get("/api", { authorization: `Bearer ${token}` });
    const echo = await echoOf(response);
    expect(Buffer.from(echo.headers["x-name"]!, "latin1").toString("utf8")).toBe("José 日本");
    expect(echo.headers["x-note"]).toBeUndefined();
  });

  test("a claim header may not target the gateway's own identity headers", () => {
    expect(() => rig.gateway.store.create("plugins", { name: "jwt", config: { claims_to_headers: { sub: "X-Consumer-ID" } } })).toThrow(/claims_to_headers\.sub/);
    expect(() => rig.gateway.store.create("plugins", { name: "jwt", config: { claims_to_headers: { sub: "Host" } } })).toThrow(/claims_to_headers\.sub/);
    expect(() => rig.gateway.store.create("plugins", { name: "jwt", config: { claims_to_headers: { sub: "bad header" } } })).toThrow(/claims_to_headers/);
  });
});

describe("hide_credentials", () => {
  test("the token is removed from the header, query parameter or cookie it came in", async () => {
    const rig = rigWith({ hide_credentials: true, cookie_names: ["session"] });
    try {
      const token = await sign(hs, { iss: "alice-key" });
      const viaHeader = await echoOf(await rig.get("/api?x=1", { authorization: `Bearer ${token}` }));
      expect(viaHeader.headers.authorization).toBeUndefined();
      expect(viaHeader.query).toBe("?x=1");
      const viaQuery = await echoOf(await rig.get(`/api?a=1&jwt=${token}&b=2`));
      expect(viaQuery.query).toBe("?a=1&b=2");
      const viaCookie = await echoOf(await rig.get("/api", { cookie: `theme=dark; session=${token}; lang=en` }));
      expect(viaCookie.headers.cookie).toBe("theme=dark; lang=en");
    } finally {
      await rig.close();
    }
  });

  test("off (default): the token is passed on, as in Kong", async () => {
    const rig = rigWith({});
    try {
      const token = await sign(hs, { iss: "alice-key" });
      expect((await echoOf(await rig.get(`/api?jwt=${token}`))).query).toBe(`?jwt=${token}`);
    } finally {
      await rig.close();
    }
  });
});

describe("max_token_bytes", () => {
  test("a longer token is refused before it is parsed", async () => {
    const rig = rigWith({ max_token_bytes: 256 });
    try {
      expect(await answer(rig, { pad: "x".repeat(300) })).toEqual(invalid('{"message":"Bad token; too large"}'));
      expect(await answer(rig, { pad: "x" })).toEqual(OK);
    } finally {
      await rig.close();
    }
  });

  test("the default is 8192", async () => {
    const rig = rigWith({});
    try {
      expect((await answer(rig, { pad: "x".repeat(9000) })).body).toBe('{"message":"Bad token; too large"}');
    } finally {
      await rig.close();
    }
  });
});

describe("verified-token cache", () => {
  afterEach(() => setSystemTime());

  test("a cached token is still refused once it expires", async () => {
    const rig = rigWith({ claims_to_verify: ["exp"] });
    try {
      const token = await sign(hs, { iss: "alice-key", exp: inSeconds(60) });
      const call = () => rig.get("/api", { authorization: `Bearer ${token}` });
      expect((await call()).status).toBe(200);
      expect((await call()).status).toBe(200);
      setSystemTime(new Date(Date.now() + 120_000));
      const late = await call();
      expect([late.status, await late.text()]).toEqual([401, '{"exp":"token expired"}']);
    } finally {
      await rig.close();
    }
  });

  test("a token becomes valid at its nbf even when it was refused before", async () => {
    const rig = rigWith({ claims_to_verify: ["nbf"] });
    try {
      const token = await sign(hs, { iss: "alice-key", nbf: inSeconds(60) });
      const call = () => rig.get("/api", { authorization: `Bearer ${token}` });
      expect((await call()).status).toBe(401);
      setSystemTime(new Date(Date.now() + 120_000));
      expect((await call()).status).toBe(200);
    } finally {
      await rig.close();
    }
  });
});

describe("metrics", () => {
  test("refusals are counted by reason, for jwt and acl", async () => {
    const rig = rigWith({ claims_to_verify: ["exp"] }, [{ name: "acl", config: { allow: ["admins"] } }]);
    try {
      const metrics = rig.gateway.metrics;
      await rig.get("/api");
      await answer(rig, { exp: inSeconds(-5) });
      await answer(rig, { exp: inSeconds(60) });
      expect([metrics.authFailureCount("jwt:missing"), metrics.authFailureCount("jwt:expired"), metrics.authFailureCount("acl:forbidden")]).toEqual([1, 1, 1]);
    } finally {
      await rig.close();
    }
  });
});

describe("RFC 8725", () => {
  test("keys carried by the token (jwk, jku, x5u, x5c) are never used", async () => {
    const rig = startAuthRig([{ name: "jwt" }]);
    try {
      const es = await signingKey("ES256");
      const attacker = await signingKey("ES256");
      const alice = rig.gateway.store.create("consumers", { username: "alice" });
      rig.gateway.store.create("jwt_secrets", { key: "alice-key", ...es.credential }, { kind: "consumers", id: alice.id });
      const header = { jwk: attacker.publicJwk, jku: "http://127.0.0.1:1/jwks.json", x5u: "http://127.0.0.1:1/cert.pem", x5c: ["MIIB"] };
      const forged = await sign(attacker, { iss: "alice-key" }, header);
      const response = await rig.get("/api", { authorization: `Bearer ${forged}` });
      expect([response.status, await response.text()]).toEqual([401, '{"message":"Invalid signature"}']);
      expect((await rig.get("/api", { authorization: `Bearer ${await sign(es, { iss: "alice-key" }, header)}` })).status).toBe(200);
    } finally {
      await rig.close();
    }
  });
});
