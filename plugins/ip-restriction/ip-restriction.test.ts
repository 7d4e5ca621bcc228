// ip-restriction through the real proxy: Kong's deny-then-allow rules, status and body, config
// checks, the client address behind --trusted-ips, and its place after jwt (Kong's priorities).
import { beforeAll, describe, expect, test } from "bun:test";
import { echoOf, sign, signingKey, type SigningKey, startAuthRig } from "../../tests/support/auth.ts";
import { startTestGateway } from "../../tests/support/gateway.ts";
import { startUpstream } from "../../tests/support/upstream.ts";

const REFUSED = '{"message":"Your IP address is not allowed"}';

/** The client here is always 127.0.0.1. */
const rules: [string, Record<string, unknown>, number][] = [
  ["allow the client's IP", { allow: ["127.0.0.1"] }, 200],
  ["allow a CIDR holding it", { allow: ["127.0.0.0/8"] }, 200],
  ["allow another IP", { allow: ["10.0.0.1"] }, 403],
  ["allow only IPv6", { allow: ["::1"] }, 403],
  ["deny the client's IP", { deny: ["127.0.0.1"] }, 403],
  ["deny a CIDR holding it", { deny: ["127.0.0.0/24"] }, 403],
  ["deny another IP", { deny: ["10.0.0.0/8"] }, 200],
  ["deny wins over allow", { allow: ["127.0.0.1"], deny: ["127.0.0.1"] }, 403],
  ["allowed and not denied", { allow: ["127.0.0.0/8"], deny: ["127.0.0.2"] }, 200],
];

describe("Kong's rules (client 127.0.0.1)", () => {
  for (const [name, config, expected] of rules) {
    test(`${name} → ${expected}`, async () => {
      const r = startAuthRig([{ name: "ip-restriction", config }]);
      try {
        const response = await r.get("/api");
        const body = await response.text();
        expect(response.status).toBe(expected);
        if (expected === 403) expect(body).toBe(REFUSED);
      } finally {
        await r.close();
      }
    });
  }

  test("status and message", async () => {
    const r = startAuthRig([{ name: "ip-restriction", config: { deny: ["127.0.0.1"], status: 401, message: "go away" } }]);
    try {
      const response = await r.get("/api");
      expect(response.status).toBe(401);
      expect(await response.text()).toBe('{"message":"go away"}');
    } finally {
      await r.close();
    }
  });

  test("config checks", async () => {
    const r = startAuthRig([]);
    try {
      const create = (config: Record<string, unknown>) => r.gateway.store.create("plugins", { name: "ip-restriction", config });
      expect(() => create({})).toThrow("at least one of these fields must be non-empty: 'config.allow', 'config.deny'");
      expect(() => create({ allow: ["10.0.0.300"] })).toThrow("invalid ip or cidr range: '10.0.0.300'");
      expect(() => create({ deny: ["10.0.0.0/40"] })).toThrow("invalid ip or cidr range");
      expect(create({ allow: ["2001:db8::/32"] }).config).toEqual({ allow: ["2001:db8::/32"], deny: null, status: null, message: null });
    } finally {
      await r.close();
    }
  });
});

describe("behind a trusted proxy (--trusted-ips)", () => {
  async function rig(trustedIps: string | undefined, config: Record<string, unknown>) {
    const upstream = startUpstream();
    const gateway = startTestGateway({ trustedIps });
    gateway.store.create("services", { name: "echo", url: upstream.url });
    const route = gateway.store.create("routes", { name: "api", service: { name: "echo" }, paths: ["/api"] });
    gateway.store.create("plugins", { name: "ip-restriction", config, route: { id: route.id } });
    return { gateway, close: async () => [await gateway.close(), await upstream.stop()] };
  }

  test("from a trusted peer, the rightmost untrusted X-Forwarded-For hop is the client", async () => {
    const r = await rig("127.0.0.1,10.0.0.0/8", { deny: ["203.0.113.0/24"] });
    try {
      const denied = await r.gateway.request("/api", { headers: { "x-forwarded-for": "198.51.100.1, 203.0.113.9, 10.0.0.5" } });
      expect(denied.status).toBe(403);
      expect(await denied.text()).toBe(REFUSED);
      const allowed = await r.gateway.request("/api", { headers: { "x-forwarded-for": "203.0.113.9, 198.51.100.1" } });
      const echo = await echoOf(allowed);
      // X-Real-IP is the walked client; X-Forwarded-For is extended with the peer.
      expect(echo.headers["x-real-ip"]).toBe("198.51.100.1");
      expect(echo.headers["x-forwarded-for"]).toBe("203.0.113.9, 198.51.100.1, 127.0.0.1");
    } finally {
      await r.close();
    }
  });

  test("without --trusted-ips, X-Forwarded-For is not believed", async () => {
    const r = await rig(undefined, { allow: ["203.0.113.9"] });
    try {
      const response = await r.gateway.request("/api", { headers: { "x-forwarded-for": "203.0.113.9" } });
      expect(response.status).toBe(403);
      await response.arrayBuffer();
    } finally {
      await r.close();
    }
  });
});

describe("ip-restriction (990) runs after jwt (1450), as in Kong", () => {
  let hs: SigningKey;
  beforeAll(async () => {
    hs = await signingKey("HS256");
  });

  test("a denied IP without a token gets jwt's 401; with a valid token, ip-restriction's 403", async () => {
    const r = startAuthRig([{ name: "jwt" }, { name: "ip-restriction", config: { deny: ["127.0.0.1"] } }]);
    try {
      const consumer = r.gateway.store.create("consumers", { username: "alice" });
      r.gateway.store.create("jwt_secrets", { key: "alice-key", ...hs.credential }, { kind: "consumers", id: consumer.id });
      const noToken = await r.get("/api");
      expect(noToken.status).toBe(401);
      await noToken.arrayBuffer();
      const withToken = await r.get("/api", { authorization: `Bearer ${await sign(hs, { iss: "alice-key" })}` });
      expect(withToken.status).toBe(403);
      expect(await withToken.text()).toBe(REFUSED);
    } finally {
      await r.close();
    }
  });
});
