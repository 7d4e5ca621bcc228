// The anonymous plugin and jwt's own `anonymous` field (SPEC §5.3), through the real proxy:
// the decision matrix of mode × token, config checks on write, and a consumer deleted later.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type AuthRig, echoOf, inSeconds, sign, signingKey, startAuthRig, type SigningKey } from "../../tests/support/auth.ts";

let hs: SigningKey;
let good: string;
let expired: string;
const garbage = "not.a.token";

beforeAll(async () => {
  hs = await signingKey("HS256");
  good = await sign(hs, { iss: "alice-key", exp: inSeconds(300) });
  expired = await sign(hs, { iss: "alice-key", exp: inSeconds(-10) });
});

/** A rig with consumers alice (credential alice-key) and guest, and the given route plugins. */
function rigWith(plugins: { name: string; config?: Record<string, unknown> }[]): AuthRig {
  const rig = startAuthRig([]);
  const store = rig.gateway.store;
  const alice = store.create("consumers", { username: "alice" });
  store.create("jwt_secrets", { key: "alice-key", ...hs.credential }, { kind: "consumers", id: alice.id });
  store.create("consumers", { username: "guest", custom_id: "guest-1" });
  for (const plugin of plugins) store.create("plugins", { ...plugin, route: { id: rig.routeId } });
  return rig;
}

type Expected = "alice" | "anonymous" | { status: number; body: string };

async function expectOutcome(rig: AuthRig, token: string | null, expected: Expected): Promise<void> {
  const response = await rig.get("/api", token === null ? {} : { authorization: `Bearer ${token}` });
  if (typeof expected === "object") {
    expect({ status: response.status, body: await response.text() }).toEqual(expected);
    return;
  }
  const { headers } = await echoOf(response);
  if (expected === "alice") {
    expect(headers["x-consumer-username"]).toBe("alice");
    expect(headers["x-credential-identifier"]).toBe("alice-key");
    expect(headers["x-anonymous-consumer"]).toBeUndefined();
  } else {
    expect(headers["x-consumer-username"]).toBe("guest");
    expect(headers["x-consumer-custom-id"]).toBe("guest-1");
    expect(headers["x-anonymous-consumer"]).toBe("true");
    expect(headers["x-credential-identifier"]).toBeUndefined();
  }
}

const expiredRefusal = { status: 401, body: '{"exp":"token expired"}' };
const garbageRefusal = { status: 401, body: '{"message":"Bad token; invalid JSON"}' };

describe("decision matrix", () => {
  const cases: { name: string; plugins: { name: string; config?: Record<string, unknown> }[]; none: Expected; bad: Expected; expired: Expected }[] = [
    {
      name: "anonymous on: missing (default)",
      plugins: [{ name: "jwt", config: { claims_to_verify: ["exp"] } }, { name: "anonymous", config: { consumer: "guest" } }],
      none: "anonymous",
      bad: garbageRefusal,
      expired: expiredRefusal,
    },
    {
      name: "anonymous on: failure (Kong)",
      plugins: [{ name: "jwt", config: { claims_to_verify: ["exp"] } }, { name: "anonymous", config: { consumer: "guest", on: "failure" } }],
      none: "anonymous",
      bad: "anonymous",
      expired: "anonymous",
    },
    {
      name: "jwt.anonymous (Kong's field, on failure)",
      plugins: [{ name: "jwt", config: { claims_to_verify: ["exp"], anonymous: "guest" } }],
      none: "anonymous",
      bad: "anonymous",
      expired: "anonymous",
    },
    {
      name: "jwt.anonymous wins over anonymous on: missing",
      plugins: [{ name: "jwt", config: { claims_to_verify: ["exp"], anonymous: "guest" } }, { name: "anonymous", config: { consumer: "guest", on: "missing" } }],
      none: "anonymous",
      bad: "anonymous",
      expired: "anonymous",
    },
    {
      name: "no anonymous at all",
      plugins: [{ name: "jwt", config: { claims_to_verify: ["exp"] } }],
      none: { status: 401, body: '{"message":"Unauthorized"}' },
      bad: garbageRefusal,
      expired: expiredRefusal,
    },
  ];
  for (const c of cases) {
    describe(c.name, () => {
      let rig: AuthRig;
      beforeAll(() => {
        rig = rigWith(c.plugins);
      });
      afterAll(() => rig.close());
      test(`no token → ${typeof c.none === "string" ? c.none : c.none.status}`, () => expectOutcome(rig, null, c.none));
      test(`malformed token → ${typeof c.bad === "string" ? c.bad : c.bad.status}`, () => expectOutcome(rig, garbage, c.bad));
      test(`expired token → ${typeof c.expired === "string" ? c.expired : c.expired.status}`, () => expectOutcome(rig, expired, c.expired));
      test("good token → alice", () => expectOutcome(rig, good, "alice"));
    });
  }
});

describe("anonymous plugin details", () => {
  test("without any authentication plugin every request is anonymous", async () => {
    const rig = rigWith([{ name: "anonymous", config: { consumer: "guest" } }]);
    try {
      await expectOutcome(rig, null, "anonymous");
      await expectOutcome(rig, good, "anonymous");
    } finally {
      await rig.close();
    }
  });

  test("the consumer may be given by id", async () => {
    const rig = rigWith([]);
    try {
      const guest = rig.gateway.store.get("consumers", "guest");
      rig.gateway.store.create("plugins", { name: "anonymous", route: { id: rig.routeId }, config: { consumer: guest.id } });
      await expectOutcome(rig, null, "anonymous");
    } finally {
      await rig.close();
    }
  });

  test("a client cannot claim to be someone: identity headers it sends are replaced", async () => {
    const rig = rigWith([{ name: "jwt" }, { name: "anonymous", config: { consumer: "guest" } }]);
    try {
      const spoof = { "x-consumer-username": "admin", "x-consumer-id": "0", "x-credential-identifier": "root", "x-anonymous-consumer": "false", "x-consumer-groups": "admins", "x-consumer-extra": "1" };
      const anonymous = (await echoOf(await rig.get("/api", spoof))).headers;
      expect(anonymous["x-consumer-username"]).toBe("guest");
      expect(anonymous["x-anonymous-consumer"]).toBe("true");
      expect(anonymous["x-credential-identifier"]).toBeUndefined();
      expect(anonymous["x-consumer-groups"]).toBeUndefined();
      expect(anonymous["x-consumer-extra"]).toBeUndefined();
      const authenticated = (await echoOf(await rig.get("/api", { ...spoof, authorization: `Bearer ${good}` }))).headers;
      expect(authenticated["x-consumer-username"]).toBe("alice");
      expect(authenticated["x-anonymous-consumer"]).toBeUndefined();
      expect(authenticated["x-credential-identifier"]).toBe("alice-key");
    } finally {
      await rig.close();
    }
  });
});

describe("configuration checks", () => {
  let rig: AuthRig;
  beforeAll(() => {
    rig = rigWith([]);
  });
  afterAll(() => rig.close());

  test("an anonymous consumer that does not exist is refused on write (plugin and jwt field)", () => {
    const store = rig.gateway.store;
    expect(() => store.create("plugins", { name: "anonymous", config: { consumer: "nobody" } })).toThrow(/config\.consumer: no consumer with id or username 'nobody'/);
    expect(() => store.create("plugins", { name: "jwt", config: { anonymous: "nobody" } })).toThrow(/config\.anonymous: no consumer with id or username 'nobody'/);
    expect(() => store.create("plugins", { name: "anonymous", config: { consumer: "guest", on: "sometimes" } })).toThrow(/config\.on/);
  });

  test("the anonymous plugin cannot be scoped to a consumer", () => {
    expect(() => rig.gateway.store.create("plugins", { name: "anonymous", consumer: { username: "alice" }, config: { consumer: "guest" } })).toThrow(/consumer/);
  });
});

describe("an anonymous consumer deleted after the config was written", () => {
  test("the request gets the answer it would have had without a fallback, never a 500", async () => {
    const rig = rigWith([{ name: "jwt" }, { name: "anonymous", config: { consumer: "guest", on: "failure" } }]);
    try {
      rig.gateway.store.delete("consumers", "guest");
      const missing = await rig.get("/api");
      expect({ status: missing.status, body: await missing.text(), challenge: missing.headers.get("www-authenticate") }).toEqual({
        status: 401,
        body: '{"message":"Unauthorized"}',
        challenge: "Bearer",
      });
      const bad = await rig.get("/api", { authorization: `Bearer ${garbage}` });
      expect({ status: bad.status, body: await bad.text(), challenge: bad.headers.get("www-authenticate") }).toEqual({
        status: 401,
        body: '{"message":"Bad token; invalid JSON"}',
        challenge: 'Bearer error="invalid_token"',
      });
      await expectOutcome(rig, good, "alice");
    } finally {
      await rig.close();
    }
  });

  test("with no authentication plugin: 401 Unauthorized", async () => {
    const rig = rigWith([{ name: "anonymous", config: { consumer: "guest" } }]);
    try {
      rig.gateway.store.delete("consumers", "guest");
      const response = await rig.get("/api");
      expect({ status: response.status, body: await response.text() }).toEqual({ status: 401, body: '{"message":"Unauthorized"}' });
    } finally {
      await rig.close();
    }
  });
});
