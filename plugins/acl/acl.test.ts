// The acl decision rules (reference §5) on request contexts built by hand, including states no
// shipped authentication plugin produces (a credential without a consumer).
import { describe, expect, test } from "bun:test";
import { Value } from "@sinclair/typebox/value";
import type { Consumer } from "../../src/entities/consumer.ts";
import type { AuthenticatedCredential, HeaderFields, StateLookups } from "../../src/pipeline/contract.ts";
import { PluginRequestContext } from "../../src/pipeline/request-context.ts";
import { createAclInstance } from "./handler.ts";
import { type AclConfig, AclConfigSchema, checkAclConfig } from "./schema.ts";

const consumer: Consumer = { id: "c1", username: "alice", custom_id: null, tags: [], created_at: 0, updated_at: 0 };
const credential: AuthenticatedCredential = { id: "cred", identifier: "key", consumerId: "c1" };

function config(partial: Partial<AclConfig>): AclConfig {
  return Value.Default(AclConfigSchema, { ...partial }) as AclConfig;
}

interface State {
  consumer?: boolean;
  credential?: boolean;
  rows?: string[];
  tokenGroups?: string[];
  headers?: Record<string, string>;
}

/** The acl handler reads its groups from the index it is given, never from the state. */
const NO_STATE = {} as StateLookups;

function run(acl: Partial<AclConfig>, state: State): { status: number; headers: HeaderFields } {
  const aclGroups = new Map(state.rows ? [["c1", state.rows]] : []);
  const ctx = new PluginRequestContext(new Request("http://gateway/api", { headers: state.headers }), "rid", "127.0.0.1", NO_STATE, "route", null, { event() {} });
  if (state.consumer) ctx.consumer = consumer;
  if (state.credential) ctx.credential = credential;
  ctx.authenticatedGroups = state.tokenGroups ?? null;
  const result = createAclInstance(config(acl), aclGroups).access!(ctx) as Response | undefined;
  return { status: result?.status ?? 200, headers: ctx.upstreamHeaders };
}

describe("reference §5 response table", () => {
  const rows: [string, Partial<AclConfig>, State, number][] = [
    ["no consumer, no groups, no credential → 401", { allow: ["a"] }, {}, 401],
    ["no consumer, no groups, a credential → 403", { allow: ["a"] }, { credential: true }, 403],
    ["no consumer, deny mode, nothing → 401", { deny: ["a"] }, {}, 401],
    ["anonymous consumer without groups, allow → 401", { allow: ["a"] }, { consumer: true }, 401],
    ["consumer with a credential but no groups, allow → 403", { allow: ["a"] }, { consumer: true, credential: true }, 403],
    ["consumer without groups, deny → allowed", { deny: ["a"] }, { consumer: true, credential: true }, 200],
    ["not in an allowed group → 403", { allow: ["a"] }, { consumer: true, credential: true, rows: ["b"] }, 403],
    ["in an allowed group → allowed", { allow: ["a", "x"] }, { consumer: true, credential: true, rows: ["b", "x"] }, 200],
    ["in a denied group → 403", { deny: ["a", "x"] }, { consumer: true, credential: true, rows: ["x"] }, 403],
    ["not in a denied group → allowed", { deny: ["a"] }, { consumer: true, credential: true, rows: ["b"] }, 200],
    ["group names are case-sensitive", { allow: ["Admins"] }, { consumer: true, credential: true, rows: ["admins"] }, 403],
    ["no consumer but authenticated groups → decided on them", { allow: ["a"] }, { tokenGroups: ["a"] }, 200],
    ["credential without consumer, authenticated groups not listed → 403", { allow: ["a"] }, { credential: true, tokenGroups: ["b"] }, 403],
  ];
  for (const [name, acl, state, status] of rows) test(name, () => expect(run(acl, state).status).toBe(status));
});

describe("which groups decide", () => {
  test("a consumer with a credential is judged on its ACL rows, not its token's groups (Kong)", () => {
    const result = run({ allow: ["admin"] }, { consumer: true, credential: true, rows: ["staff"], tokenGroups: ["admin"] });
    expect(result.status).toBe(403);
  });

  test("always_use_authenticated_groups: the token's groups decide", () => {
    const result = run({ allow: ["admin"], always_use_authenticated_groups: true }, { consumer: true, credential: true, rows: ["staff"], tokenGroups: ["admin"] });
    expect(result.status).toBe(200);
    expect(result.headers.get("x-authenticated-groups")).toBe("admin");
    expect(result.headers.get("x-consumer-groups")).toBeNull();
  });

  test("an anonymous consumer uses authenticated groups first", () => {
    expect(run({ allow: ["admin"] }, { consumer: true, rows: ["staff"], tokenGroups: ["admin"] }).status).toBe(200);
  });

  test("beyond Kong: a consumer without ACL rows is judged on its token's groups", () => {
    const allowed = run({ allow: ["admin"] }, { consumer: true, credential: true, tokenGroups: ["admin", "x"] });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get("x-authenticated-groups")).toBe("admin, x");
    expect(run({ deny: ["banned"] }, { consumer: true, credential: true, tokenGroups: ["banned"] }).status).toBe(403);
  });
});

describe("group headers", () => {
  test("X-Consumer-Groups lists the rows in stored order, joined with ', '", () => {
    expect(run({ allow: ["b"] }, { consumer: true, credential: true, rows: ["b", "a", "c"] }).headers.get("x-consumer-groups")).toBe("b, a, c");
  });

  test("deny mode and no groups: an empty X-Consumer-Groups", () => {
    expect(run({ deny: ["a"] }, { consumer: true, credential: true }).headers.get("x-consumer-groups")).toBe("");
  });

  test("client-sent group headers are removed, also with hide_groups_header", () => {
    const spoof = { "x-consumer-groups": "admin", "x-authenticated-groups": "admin" };
    const shown = run({ allow: ["b"] }, { consumer: true, credential: true, rows: ["b"], headers: spoof }).headers;
    expect([shown.get("x-consumer-groups"), shown.get("x-authenticated-groups")]).toEqual(["b", null]);
    const hidden = run({ allow: ["b"], hide_groups_header: true }, { consumer: true, credential: true, rows: ["b"], headers: spoof }).headers;
    expect([hidden.get("x-consumer-groups"), hidden.get("x-authenticated-groups")]).toEqual([null, null]);
  });
});

describe("config", () => {
  test("exactly one of allow or deny, each non-empty", () => {
    expect(checkAclConfig(config({ allow: ["a"] }))).toBeUndefined();
    expect(checkAclConfig(config({ deny: ["a"] }))).toBeUndefined();
    expect(checkAclConfig(config({}))).toEqual({ "@entity": "exactly one of allow or deny must be set" });
    expect(checkAclConfig(config({ allow: ["a"], deny: ["b"] }))).toEqual({ "@entity": "exactly one of allow or deny must be set" });
    expect(Value.Check(AclConfigSchema, config({ allow: [] }))).toBe(false);
  });

  test("Kong's defaults", () => {
    expect(config({ allow: ["a"] })).toEqual({ allow: ["a"], deny: null, hide_groups_header: false, always_use_authenticated_groups: false });
  });
});
