// The acl plugin behind jwt and anonymous, through the real proxy: reference §5 "ACL with
// anonymous consumers", groups from ACL rows and from jwt's groups_claim, and the headers.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type AuthRig, echoOf, sign, signingKey, startAuthRig, type SigningKey } from "../../tests/support/auth.ts";

let hs: SigningKey;
beforeAll(async () => {
  hs = await signingKey("HS256");
});

function rig(plugins: { name: string; config?: Record<string, unknown> }[], guestGroups: string[] = [], aliceGroups: string[] = []): AuthRig {
  const r = startAuthRig([]);
  const store = r.gateway.store;
  const guest = store.create("consumers", { username: "guest" });
  for (const group of guestGroups) store.create("acls", { group }, { kind: "consumers", id: guest.id });
  const alice = store.create("consumers", { username: "alice" });
  store.create("jwt_secrets", { key: "alice-key", ...hs.credential }, { kind: "consumers", id: alice.id });
  for (const group of aliceGroups) store.create("acls", { group }, { kind: "consumers", id: alice.id });
  for (const plugin of plugins) store.create("plugins", { ...plugin, route: { id: r.routeId } });
  return r;
}

async function outcome(response: Response): Promise<{ status: number; body?: string; groups?: string | undefined }> {
  if (response.status !== 200) return { status: response.status, body: await response.text() };
  return { status: 200, groups: (await echoOf(response)).headers["x-consumer-groups"] };
}

const UNAUTHORIZED = { status: 401, body: '{"message":"Unauthorized"}' };
const FORBIDDEN = { status: 403, body: '{"message":"You cannot consume this service"}' };

describe("reference §5: ACL with anonymous consumers (jwt.anonymous, no token)", () => {
  const cases: [string, string[], Record<string, unknown>, Awaited<ReturnType<typeof outcome>>][] = [
    ["anonymous without groups, allow → 401", [], { allow: ["everyone"] }, UNAUTHORIZED],
    ["anonymous without groups, deny → 200 with an empty X-Consumer-Groups", [], { deny: ["everyone"] }, { status: 200, groups: "" }],
    ["anonymous in everyone, allow everyone → 200", ["everyone"], { allow: ["everyone"] }, { status: 200, groups: "everyone" }],
    ["anonymous in everyone, allow none → 403", ["everyone"], { allow: ["none"] }, FORBIDDEN],
    ["anonymous in everyone, deny everyone → 403", ["everyone"], { deny: ["everyone"] }, FORBIDDEN],
    ["anonymous in everyone, deny none → 200", ["everyone"], { deny: ["none"] }, { status: 200, groups: "everyone" }],
  ];
  for (const [name, guestGroups, acl, expected] of cases) {
    test(name, async () => {
      const r = rig([{ name: "jwt", config: { anonymous: "guest" } }, { name: "acl", config: acl }], guestGroups);
      try {
        expect(await outcome(await r.get("/api"))).toEqual(expected);
      } finally {
        await r.close();
      }
    });
  }

  test("the anonymous plugin gives the same answers as jwt.anonymous", async () => {
    const r = rig([{ name: "jwt" }, { name: "anonymous", config: { consumer: "guest" } }, { name: "acl", config: { allow: ["everyone"] } }], ["everyone"]);
    try {
      expect(await outcome(await r.get("/api"))).toEqual({ status: 200, groups: "everyone" });
    } finally {
      await r.close();
    }
  });

  for (const acl of [{ allow: ["everyone"] }, { deny: ["everyone"] }]) {
    test(`no authentication plugin at all → 401 (${Object.keys(acl)[0]})`, async () => {
      const r = rig([{ name: "acl", config: acl }], ["everyone"]);
      try {
        expect(await outcome(await r.get("/api"))).toEqual(UNAUTHORIZED);
      } finally {
        await r.close();
      }
    });
  }
});

describe("authenticated consumers", () => {
  let r: AuthRig;
  let token: string;
  beforeAll(async () => {
    r = rig([{ name: "jwt" }, { name: "acl", config: { allow: ["finance"] } }], [], ["staff", "finance"]);
    token = await sign(hs, { iss: "alice-key" });
  });
  afterAll(() => r.close());

  test("a member of an allowed group passes, with its groups upstream in stored order", async () => {
    expect(await outcome(await r.get("/api", { authorization: `Bearer ${token}`, "x-consumer-groups": "spoofed" }))).toEqual({ status: 200, groups: "staff, finance" });
  });

  test("ACL errors are compact JSON without a challenge", async () => {
    const other = rig([{ name: "jwt" }, { name: "acl", config: { allow: ["admins"] } }], [], ["staff"]);
    try {
      const response = await other.get("/api", { authorization: `Bearer ${token}` });
      expect(response.status).toBe(403);
      expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
      expect(response.headers.get("www-authenticate")).toBeNull();
      expect(await response.text()).toBe('{"message":"You cannot consume this service"}');
    } finally {
      await other.close();
    }
  });

  test("jwt failures come first: acl never answers for a request jwt refused", async () => {
    const response = await r.get("/api");
    expect(response.headers.get("www-authenticate")).toBe("Bearer");
  });
});

describe("groups from the token (jwt groups_claim)", () => {
  test("a consumer without ACL rows is judged on its token's groups, sent as X-Authenticated-Groups", async () => {
    const r = rig([{ name: "jwt", config: { groups_claim: "realm.groups" } }, { name: "acl", config: { allow: ["admins"] } }]);
    try {
      const admin = await sign(hs, { iss: "alice-key", realm: { groups: ["users", "admins"] } });
      const echo = await echoOf(await r.get("/api", { authorization: `Bearer ${admin}`, "x-authenticated-groups": "spoofed" }));
      expect(echo.headers["x-authenticated-groups"]).toBe("users, admins");
      expect(echo.headers["x-consumer-groups"]).toBeUndefined();
      const user = await sign(hs, { iss: "alice-key", realm: { groups: ["users"] } });
      expect(await outcome(await r.get("/api", { authorization: `Bearer ${user}` }))).toEqual(FORBIDDEN);
    } finally {
      await r.close();
    }
  });

  test("with ACL rows, the rows decide unless always_use_authenticated_groups", async () => {
    const admin = await sign(hs, { iss: "alice-key", groups: ["admins"] });
    for (const [always, expected] of [[false, 403], [true, 200]] as const) {
      const r = rig([{ name: "jwt", config: { groups_claim: "groups" } }, { name: "acl", config: { allow: ["admins"], always_use_authenticated_groups: always } }], [], ["staff"]);
      try {
        expect((await r.get("/api", { authorization: `Bearer ${admin}` })).status).toBe(expected);
      } finally {
        await r.close();
      }
    }
  });
});
