// Red team of rate-limiting, basic-auth and jwt-signer, and of authentication plugins combined
// (tests/security/plugins-red-team.md): each finding's repro, which failed before its fix, and
// the cheap defences that held. Through the real proxy on the engine GATEWAY_PROXY_ENGINE picks
// (the file is in SERVE_FILES, so both run), with a Node `http` upstream where what the
// upstream reads matters.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { type AuthRig, echoOf, sign, signingKey, startAuthRig } from "../support/auth.ts";
import { type NodeEcho, type NodeUpstream, startNodeUpstream } from "../support/node-upstream.ts";
import { type TestGateway, startTestGateway } from "../support/gateway.ts";
import { talk } from "../support/raw-socket.ts";
import { LocalCounters, MAX_LOCAL_COUNTERS, usageFor } from "../../plugins/rate-limiting/counters.ts";
import { IDENTIFIER_MAX_LENGTH } from "../../plugins/rate-limiting/handler.ts";

const RATE_LIMITED = { message: "API rate limit exceeded" };
const INVALID = { message: "Invalid authentication credentials" };
const basic = (text: string | Uint8Array) => `Basic ${Buffer.from(text).toString("base64")}`;

/** A gateway with route `/api` (strip_path) to a Node upstream, and the given route plugins. */
async function nodeRig(plugins: { name: string; config?: Record<string, unknown> }[]): Promise<{ gateway: TestGateway; upstream: NodeUpstream; port: number; close(): Promise<void> }> {
  const upstream = await startNodeUpstream("none");
  const gateway = startTestGateway();
  gateway.store.create("services", { name: "node", url: upstream.url });
  const route = gateway.store.create("routes", { service: { name: "node" }, paths: ["/api"] });
  for (const plugin of plugins) gateway.store.create("plugins", { ...plugin, route: { id: route.id } });
  return {
    gateway,
    upstream,
    port: Number(new URL(gateway.proxyUrl).port),
    async close() {
      await gateway.close();
      await upstream.stop();
    },
  };
}

/** One request written as bytes (the target exactly as given), answered and closed. */
async function rawGet(port: number, target: string, headerLines = ""): Promise<{ status: number; headers: string; body: string }> {
  const { raw } = await talk(port, [`GET ${target} HTTP/1.1\r\nHost: gateway.test\r\n${headerLines}Connection: close\r\n\r\n`], 3000);
  const end = raw.indexOf("\r\n\r\n");
  return { status: Number(raw.slice(9, 12)), headers: raw.slice(0, end).toLowerCase(), body: raw.slice(end + 4) };
}

describe("rate-limiting limit_by path: the request's canonical path is counted, not its spelling", () => {
  // Each spelling is the path /api/a to the router and to the upstream (which gets /a), so it
  // must draw on the same counter; before, only the exact text matched and `//` or `%61` was
  // counted by client IP, a fresh allowance per spelling. (Dot segments held: URL parsing
  // resolves them before the plugin reads the path.)
  for (const spelling of ["/api//a", "/api/%61", "/api/./a", "/api/b/../a", "//api/a"]) {
    test(`${spelling} shares the counter of /api/a`, async () => {
      const r = await nodeRig([{ name: "rate-limiting", config: { minute: 2, limit_by: "path", path: "/api/a" } }]);
      try {
        const first = await rawGet(r.port, "/api/a");
        expect(first.status).toBe(200);
        expect(first.headers).toContain("x-ratelimit-remaining-minute: 1");
        const second = await rawGet(r.port, spelling);
        expect(second.status).toBe(200);
        expect((JSON.parse(second.body) as NodeEcho).url).toBe("/a");
        expect(second.headers).toContain("x-ratelimit-remaining-minute: 0");
        const third = await rawGet(r.port, spelling);
        expect(third.status).toBe(429);
        expect(JSON.parse(third.body)).toEqual(RATE_LIMITED);
      } finally {
        await r.close();
      }
    });
  }

  test("a configured path in another spelling (/api/%61) is the same path", async () => {
    const r = await nodeRig([{ name: "rate-limiting", config: { minute: 1, limit_by: "path", path: "/api/%61" } }]);
    try {
      expect((await rawGet(r.port, "/api/a")).status).toBe(200);
      const refused = await rawGet(r.port, "/api/a");
      expect(refused.status).toBe(429);
      expect(JSON.parse(refused.body)).toEqual(RATE_LIMITED);
      // Another path still falls back to the client IP (a counter of its own).
      expect((await rawGet(r.port, "/api/b")).status).toBe(200);
    } finally {
      await r.close();
    }
  });
});

describe("rate-limiting counters are bounded: a client that varies its identifier cannot grow them without end", () => {
  const yearly = { periods: [5], limits: [1] };

  test("local: at most maxCounters identifiers; a flood on one scope evicts its own oldest, not another scope's", () => {
    expect(MAX_LOCAL_COUNTERS).toBeLessThanOrEqual(100_000);
    const counters = new LocalCounters(100);
    const usage = usageFor(1);
    const now = Date.now();
    counters.take("victim-route|", "alice", yearly.periods, yearly.limits, now, usage);
    expect(usage.stop).toBe(-1);
    for (let i = 0; i < 1000; i++) counters.take("flooded-route|", `value-${i}`, yearly.periods, yearly.limits, now, usage);
    expect(counters.size).toBe(100);
    // alice's counter survived the flood: her second request of the year is still refused.
    counters.take("victim-route|", "alice", yearly.periods, yearly.limits, now, usage);
    expect(usage.stop).toBe(0);
  });

  test("long identifiers (a header value of kilobytes) are counted by digest, each apart, and no short value shares a digest's counter", async () => {
    const r = startAuthRig([{ name: "rate-limiting", config: { minute: 1, limit_by: "header", header_name: "x-tenant", policy: "cluster" } }], { file: true });
    try {
      const long = (c: string) => c.repeat(4000);
      const statusOf = async (tenant: string) => {
        const response = await r.get("/api", { "x-tenant": tenant });
        const body = await response.text();
        return response.status === 429 ? [429, JSON.parse(body)] : [response.status];
      };
      expect(await statusOf(long("a"))).toEqual([200]);
      expect(await statusOf(long("a"))).toEqual([429, RATE_LIMITED]);
      expect(await statusOf(long("b"))).toEqual([200]);
      // The digest's own text is another tenant.
      const digest = `sha256:${new Bun.CryptoHasher("sha256").update(long("a")).digest("base64")}`;
      expect(await statusOf(digest)).toEqual([200]);
      const db = new Database(r.gateway.dbPath, { readonly: true });
      try {
        const rows = db.query<{ identifier: string }, []>("SELECT identifier FROM rate_limiting_counters").all();
        expect(rows.length).toBe(3);
        for (const row of rows) expect(row.identifier.length).toBeLessThanOrEqual(IDENTIFIER_MAX_LENGTH);
      } finally {
        db.close();
      }
    } finally {
      await r.close();
    }
  });
});

describe("rate-limiting error_code: an informational status cannot end a request", () => {
  let r: AuthRig;
  beforeAll(() => {
    r = startAuthRig([]);
  });
  afterAll(() => r.close());
  // Before: 101 answered "101 Switching Protocols" to a plain GET (a proxy in front may then
  // tunnel the connection), 100 made every refusal a 500. request-termination refuses 1xx too.
  for (const error_code of [100, 101, 199]) {
    test(`error_code ${error_code} is rejected on write`, () => {
      expect(() => r.gateway.store.create("plugins", { name: "rate-limiting", route: { id: r.routeId }, config: { minute: 1, error_code } })).toThrow(
        "an informational status (1xx) cannot end a request",
      );
    });
  }
});

describe("basic-auth: one spelling per credential, and no username oracle", () => {
  let r: AuthRig;
  // Its base64 (YWxpY2U6YWI/YWI+eA==) has '/' and '+', so the URL-safe alphabet spells it otherwise, and padding.
  const password = "ab?ab>x";
  beforeAll(() => {
    r = startAuthRig([{ name: "basic-auth" }]);
    const alice = r.gateway.store.create("consumers", { username: "alice" });
    r.gateway.store.create("basicauth_credentials", { username: "alice", password }, { kind: "consumers", id: alice.id });
  });
  afterAll(() => r.close());

  const good = () => Buffer.from(`alice:${password}`).toString("base64");

  test("the standard spelling, with or without padding, authenticates (Kong's decoder takes both)", async () => {
    expect((await r.get("/api", { authorization: `Basic ${good()}` })).status).toBe(200);
    expect((await r.get("/api", { authorization: `basic ${good().replace(/=+$/, "")}` })).status).toBe(200);
  });

  // Before: Buffer's lenient decoder read each of these as alice's right password (200).
  const spellings: [string, () => string][] = [
    ["a stray character inside", () => `Basic ${good().slice(0, 4)}*${good().slice(4)}`],
    ["characters after the text", () => `Basic ${good()}!!`],
    ["the URL-safe alphabet", () => `Basic ${Buffer.from(`alice:${password}`).toString("base64url")}`],
    ["more after the padding", () => `Basic ${good().replace(/=*$/, "=")}=QUFB`],
    // Held before (Buffer keeps U+FEFF); kept so the strict decoder does not start dropping it.
    ["a byte order mark before the name", () => basic(`\uFEFFalice:${password}`)],
  ];
  for (const [name, value] of spellings) {
    test(`${name} → 401 invalid`, async () => {
      const response = await r.get("/api", { authorization: value() });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual(INVALID);
    });
  }

  test("bytes that are not UTF-8 are not a name: 401 invalid", async () => {
    // "alice\xff:..." would have become "alice\uFFFD", a name that many byte strings share.
    const store = r.gateway.store;
    const c = store.create("consumers", { username: "replacement" });
    store.create("basicauth_credentials", { username: "ali\uFFFD", password: "pw-replacement" }, { kind: "consumers", id: c.id });
    const bytes = Buffer.concat([Buffer.from("ali"), Buffer.from([0xff]), Buffer.from(":pw-replacement")]);
    const response = await r.get("/api", { authorization: basic(bytes) });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual(INVALID);
  });

  // That an unknown username costs a password check as a wrong password does (before: answered
  // in under 1 ms, against ~100 ms) is counted, not timed: plugins/basic-auth/password-checks.test.ts.
});

describe("authentication plugins combined (Kong's logical OR)", () => {
  test("basic-auth hide_credentials removes a Basic password even when an earlier plugin authenticated; another scheme stays", async () => {
    const r = startAuthRig([]);
    try {
      const store = r.gateway.store;
      store.create("consumers", { username: "guest" });
      const alice = store.create("consumers", { username: "alice" });
      store.create("keyauth_credentials", { key: "alice-key" }, { kind: "consumers", id: alice.id });
      store.create("basicauth_credentials", { username: "alice", password: "alice-password" }, { kind: "consumers", id: alice.id });
      store.create("plugins", { name: "key-auth", route: { id: r.routeId }, config: { anonymous: "guest" } });
      store.create("plugins", { name: "basic-auth", route: { id: r.routeId }, config: { anonymous: "guest", hide_credentials: true } });
      // Before: key-auth authenticated first, basic-auth returned early, and the password went upstream.
      const echo = await echoOf(await r.get("/api", { apikey: "alice-key", authorization: basic("alice:alice-password"), "proxy-authorization": basic("alice:alice-password") }));
      expect(echo.headers["x-consumer-username"]).toBe("alice");
      expect(echo.headers.authorization).toBeUndefined();
      expect(echo.headers["proxy-authorization"]).toBeUndefined();
      const bearer = await echoOf(await r.get("/api", { apikey: "alice-key", authorization: "Bearer for-another-plugin" }));
      expect(bearer.headers.authorization).toBe("Bearer for-another-plugin");
    } finally {
      await r.close();
    }
  });

  // AND mode (no anonymous): the last plugin's consumer is the request's. jwt's groups_claim
  // groups belonged to the token's consumer and stayed on the request: acl judged bob, who has no
  // ACL rows, as a member of the token's groups.
  test("AND mode: a later plugin's consumer is judged by its own groups, not an earlier token's groups_claim", async () => {
    const r = startAuthRig([]);
    try {
      const store = r.gateway.store;
      const key = await signingKey("HS256");
      const admin = store.create("consumers", { username: "token-holder" });
      store.create("jwt_secrets", { key: "holder-iss", ...key.credential }, { kind: "consumers", id: admin.id });
      const bob = store.create("consumers", { username: "bob" });
      store.create("basicauth_credentials", { username: "bob", password: "bob-password" }, { kind: "consumers", id: bob.id });
      store.create("plugins", { name: "jwt", route: { id: r.routeId }, config: { groups_claim: "groups" } });
      store.create("plugins", { name: "basic-auth", route: { id: r.routeId } });
      store.create("plugins", { name: "acl", route: { id: r.routeId }, config: { allow: ["admins"] } });
      const token = await sign(key, { iss: "holder-iss", groups: ["admins"] });
      const refused = await r.get("/api", { authorization: `Bearer ${token}`, "proxy-authorization": basic("bob:bob-password") });
      expect({ status: refused.status, body: await refused.json() }).toEqual({ status: 403, body: { message: "You cannot consume this service" } });
      store.create("acls", { group: "admins" }, { kind: "consumers", id: bob.id });
      await Bun.sleep(50);
      const echo = await echoOf(await r.get("/api", { authorization: `Bearer ${token}`, "proxy-authorization": basic("bob:bob-password") }));
      expect({ consumer: echo.headers["x-consumer-username"], groups: echo.headers["x-consumer-groups"] }).toEqual({ consumer: "bob", groups: "admins" });
    } finally {
      await r.close();
    }
  });

  // Held: a client's identity headers, in any spelling a CGI-style upstream folds together, never
  // reach the upstream beside the ones basic-auth sets.
  test("held: spoofed X-Consumer-*, X-Credential-Identifier, X-Anonymous-Consumer and group headers are replaced", async () => {
    const r = await nodeRig([{ name: "basic-auth" }]);
    try {
      const store = r.gateway.store;
      const bob = store.create("consumers", { username: "bob" });
      store.create("basicauth_credentials", { username: "bob", password: "bob-password" }, { kind: "consumers", id: bob.id });
      const spoofed = ["X-Consumer-Username: admin", "X_Consumer_Username: admin", "X-Consumer-ID: admin", "X.Consumer.Custom.ID: admin", "X-Anonymous-Consumer: false", "X-Consumer-Groups: admin", "X-Authenticated-Groups: admin", "X-Credential-Identifier: admin"];
      const answer = await rawGet(r.port, "/api", `Authorization: ${basic("bob:bob-password")}\r\n${spoofed.join("\r\n")}\r\n`);
      expect(answer.status).toBe(200);
      const echo = JSON.parse(answer.body) as NodeEcho;
      expect(echo.cgi.HTTP_X_CONSUMER_USERNAME).toBe("bob");
      expect(echo.cgi.HTTP_X_CONSUMER_ID).toBe(bob.id);
      expect(echo.cgi.HTTP_X_CREDENTIAL_IDENTIFIER).toBe("bob");
      for (const name of ["HTTP_X_CONSUMER_CUSTOM_ID", "HTTP_X_ANONYMOUS_CONSUMER", "HTTP_X_CONSUMER_GROUPS", "HTTP_X_AUTHENTICATED_GROUPS"]) expect(echo.cgi[name]).toBeUndefined();
      expect(echo.rawHeaders.filter(([name]) => /consumer|credential|groups/i.test(name)).length).toBe(3);
    } finally {
      await r.close();
    }
  });

  test("held: two Authorization fields (one right, one wrong, either order) → 401, nothing upstream", async () => {
    const r = await nodeRig([{ name: "basic-auth" }]);
    try {
      const store = r.gateway.store;
      for (const name of ["alice", "bob"]) {
        const consumer = store.create("consumers", { username: name });
        store.create("basicauth_credentials", { username: name, password: `${name}-password` }, { kind: "consumers", id: consumer.id });
      }
      const good = `Authorization: ${basic("bob:bob-password")}\r\n`;
      const bad = `Authorization: ${basic("alice:wrong")}\r\n`;
      for (const lines of [good + bad, bad + good]) {
        const answer = await rawGet(r.port, "/api", lines);
        expect(answer.status).toBe(401);
        expect(JSON.parse(answer.body)).toEqual(INVALID);
      }
    } finally {
      await r.close();
    }
  });
});

describe("as Kong: rate-limiting runs after authentication and never counts a refused attempt", () => {
  // Pinned because the README once advised rate-limiting against password guessing.
  test("wrong basic-auth passwords past the limit are all 401, none 429", async () => {
    const r = startAuthRig([{ name: "basic-auth" }, { name: "rate-limiting", config: { minute: 2, limit_by: "ip" } }]);
    try {
      const alice = r.gateway.store.create("consumers", { username: "alice" });
      r.gateway.store.create("basicauth_credentials", { username: "alice", password: "alice-password" }, { kind: "consumers", id: alice.id });
      for (let i = 0; i < 4; i++) {
        const response = await r.get("/api", { authorization: basic(`alice:guess-${i}`) });
        expect(response.status).toBe(401);
        expect(await response.json()).toEqual(INVALID);
      }
      expect((await r.get("/api", { authorization: basic("alice:alice-password") })).status).toBe(200);
    } finally {
      await r.close();
    }
  });
});

describe("rate-limiting by IP counts an IPv6 client by its /64", () => {
  // Behind a trusted proxy the client address is X-Forwarded-For's; an IPv6 client can send from
  // any address of its /64, and each was a fresh allowance (Kong counts each address).
  test("other addresses of one /64, and an IPv4-mapped address, share a counter; another /64 does not", async () => {
    const gateway = startTestGateway({ trustedIps: "127.0.0.1" });
    const upstream = await startNodeUpstream("none");
    try {
      gateway.store.create("services", { name: "node", url: upstream.url });
      const route = gateway.store.create("routes", { service: { name: "node" }, paths: ["/api"] });
      gateway.store.create("plugins", { name: "rate-limiting", route: { id: route.id }, config: { minute: 1, limit_by: "ip" } });
      const from = (address: string) => gateway.request("/api", { headers: { "x-forwarded-for": address } });
      expect((await from("2001:db8:1:2::1")).status).toBe(200);
      const sameSubnet = await from("2001:db8:1:2:ffff:ffff:ffff:fffe");
      expect({ status: sameSubnet.status, body: await sameSubnet.json() }).toEqual({ status: 429, body: RATE_LIMITED });
      expect((await from("2001:db8:1:3::1")).status).toBe(200);
      expect((await from("198.51.100.7")).status).toBe(200);
      const mapped = await from("::ffff:198.51.100.7");
      expect({ status: mapped.status, body: await mapped.json() }).toEqual({ status: 429, body: RATE_LIMITED });
    } finally {
      await gateway.close();
      await upstream.stop();
    }
  });
});

describe("held: rate-limiting by IP ignores a client's X-Forwarded-For without --trusted-ips", () => {
  test("another X-Forwarded-For is the same client", async () => {
    const r = startAuthRig([{ name: "rate-limiting", config: { minute: 1, limit_by: "ip" } }]);
    try {
      expect((await r.get("/api", { "x-forwarded-for": "203.0.113.1" })).status).toBe(200);
      const refused = await r.get("/api", { "x-forwarded-for": "203.0.113.2" });
      expect(refused.status).toBe(429);
      expect(await refused.json()).toEqual(RATE_LIMITED);
    } finally {
      await r.close();
    }
  });
});
