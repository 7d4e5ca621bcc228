// Plugin pipeline (SPEC §4.6): Kong's scope precedence, consumer-scope timing, priority order,
// disabled instances — with test plugins registered next to nothing else.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { t } from "elysia";
import { definePlugin } from "../src/pipeline/contract.ts";
import { createRegistry } from "../src/pipeline/registry.ts";
import { type TestGateway, startTestGateway } from "./support/gateway.ts";
import { type Echo, type TestUpstream, startUpstream } from "./support/upstream.ts";

/** Authenticates the consumer named in `x-test-consumer` (priority above `mark`). */
const identify = definePlugin<Record<string, never>>({
  name: "identify",
  priority: 2000,
  configSchema: t.Object({}, { additionalProperties: false }),
  create: () => ({
    access(ctx) {
      const name = ctx.request.headers.get("x-test-consumer");
      ctx.consumer = name ? (ctx.state.consumer(name) ?? null) : null;
      return undefined;
    },
  }),
});

/** Records which instance ran, in request order, in `x-marks`. */
function marker(name: string, priority: number) {
  return definePlugin<{ value: string }>({
    name,
    priority,
    configSchema: t.Object({ value: t.String() }, { additionalProperties: false }),
    create: (config) => ({
      access(ctx) {
        const prior = ctx.upstreamHeaders.get("x-marks");
        ctx.upstreamHeaders.set("x-marks", prior ? `${prior},${name}=${config.value}` : `${name}=${config.value}`);
        return undefined;
      },
    }),
  });
}

/** Appends `name=value` to the response's `x-stamps` in its response phase; refuses with 403 when the request sends `x-test-refuse: name`. */
function stamper(name: string, priority: number) {
  return definePlugin<{ value: string }>({
    name,
    priority,
    configSchema: t.Object({ value: t.String() }, { additionalProperties: false }),
    create: (config) => ({
      access(ctx) {
        return ctx.request.headers.get("x-test-refuse") === name ? new Response("refused", { status: 403 }) : undefined;
      },
      response(_ctx, response) {
        const prior = response.headers.get("x-stamps");
        response.headers.set("x-stamps", prior ? `${prior},${name}=${config.value}` : `${name}=${config.value}`);
        return response;
      },
    }),
  });
}

/** What each log phase saw, in order: `name=value status source`; with `fail: true` it throws after recording. */
const logged: string[] = [];
function logger(name: string, priority: number) {
  return definePlugin<{ value: string; fail?: boolean }>({
    name,
    priority,
    configSchema: t.Object({ value: t.String(), fail: t.Optional(t.Boolean()) }, { additionalProperties: false }),
    create: (config) => ({
      log(ctx, answered) {
        logged.push(`${name}=${config.value} ${answered.status} ${answered.source} upstream:${answered.upstreamMs === null ? "none" : "timed"} consumer:${ctx.consumer?.username ?? "-"}`);
        if (config.fail) throw new Error("log phase broke");
      },
    }),
  });
}

const registry = createRegistry([
  identify, marker("mark", 1000), marker("early", 1500), marker("zeta", 500), marker("alpha", 500), stamper("stamp-a", 900), stamper("stamp-b", 800),
  logger("log-a", 20), logger("log-b", 10),
]);
let upstream: TestUpstream;
let gateway: TestGateway;

beforeAll(() => {
  upstream = startUpstream();
  gateway = startTestGateway({ registry });
  const { store } = gateway;
  store.create("services", { name: "svc", url: upstream.url });
  store.create("services", { name: "other", url: upstream.url });
  store.create("routes", { name: "r", service: { name: "svc" }, paths: ["/r"] });
  store.create("routes", { name: "other-route", service: { name: "other" }, paths: ["/o"] });
  store.create("consumers", { username: "alice" });
  store.create("consumers", { username: "bob" });
  store.create("plugins", { name: "identify", config: {} });
});
afterAll(async () => {
  await gateway.close();
  await upstream.stop();
});

async function marks(path: string, consumer?: string): Promise<string | undefined> {
  const res = await gateway.request(path, { headers: consumer ? { "x-test-consumer": consumer } : {} });
  expect(res.status).toBe(200);
  return ((await res.json()) as Echo).headers["x-marks"];
}

// Kong's order, most specific first (reference §6).
const SCOPES: { label: string; scope: Record<string, unknown>; consumer: boolean }[] = [
  { label: "route+service+consumer", scope: { route: { name: "r" }, service: { name: "svc" }, consumer: { username: "alice" } }, consumer: true },
  { label: "route+consumer", scope: { route: { name: "r" }, consumer: { username: "alice" } }, consumer: true },
  { label: "service+consumer", scope: { service: { name: "svc" }, consumer: { username: "alice" } }, consumer: true },
  { label: "route+service", scope: { route: { name: "r" }, service: { name: "svc" } }, consumer: false },
  { label: "consumer", scope: { consumer: { username: "alice" } }, consumer: true },
  { label: "route", scope: { route: { name: "r" } }, consumer: false },
  { label: "service", scope: { service: { name: "svc" } }, consumer: false },
  { label: "global", scope: {}, consumer: false },
];

describe("scope precedence", () => {
  for (let top = 0; top < SCOPES.length; top++) {
    const present = SCOPES.slice(top);
    const expectedWithConsumer = present[0]!.label;
    const expectedWithout = present.find((s) => !s.consumer)!.label;
    test(`with instances from '${SCOPES[top]!.label}' down: alice gets '${expectedWithConsumer}', anonymous gets '${expectedWithout}'`, async () => {
      const ids = present.map((s) => gateway.store.create("plugins", { name: "mark", config: { value: s.label }, ...s.scope }).id);
      try {
        expect(await marks("/r/x", "alice")).toBe(`mark=${expectedWithConsumer}`);
        expect(await marks("/r/x")).toBe(`mark=${expectedWithout}`);
        expect(await marks("/r/x", "bob")).toBe(`mark=${expectedWithout}`);
      } finally {
        for (const id of ids) gateway.store.delete("plugins", id);
      }
    });
  }

  test("instances scoped to another route or service never apply", async () => {
    const ids = [
      gateway.store.create("plugins", { name: "mark", config: { value: "other-route" }, route: { name: "other-route" } }).id,
      gateway.store.create("plugins", { name: "mark", config: { value: "other-service" }, service: { name: "other" } }).id,
    ];
    try {
      expect(await marks("/r/x")).toBeUndefined();
      expect(await marks("/o/x")).toBe("mark=other-route");
    } finally {
      for (const id of ids) gateway.store.delete("plugins", id);
    }
  });

  test("a disabled instance does not shadow a less specific one", async () => {
    const ids = [
      gateway.store.create("plugins", { name: "mark", config: { value: "route" }, route: { name: "r" }, enabled: false }).id,
      gateway.store.create("plugins", { name: "mark", config: { value: "global" } }).id,
    ];
    try {
      expect(await marks("/r/x")).toBe("mark=global");
    } finally {
      for (const id of ids) gateway.store.delete("plugins", id);
    }
  });

  test("a consumer-scoped instance of a plugin that runs before authentication is not used", async () => {
    const ids = [
      gateway.store.create("plugins", { name: "early", config: { value: "consumer" }, consumer: { username: "alice" } }).id,
      gateway.store.create("plugins", { name: "early", config: { value: "global" } }).id,
    ];
    try {
      // `early` (1500) runs after `identify` (2000), so the consumer is known: the consumer instance wins.
      expect(await marks("/r/x", "alice")).toBe("early=consumer");
    } finally {
      for (const id of ids) gateway.store.delete("plugins", id);
    }
  });
});

describe("execution order", () => {
  test("higher priority first; ties by name descending", async () => {
    const ids = ["mark", "early", "zeta", "alpha"].map((name) => gateway.store.create("plugins", { name, config: { value: "g" } }).id);
    try {
      expect(await marks("/r/x")).toBe("early=g,mark=g,zeta=g,alpha=g");
    } finally {
      for (const id of ids) gateway.store.delete("plugins", id);
    }
  });

  test("one instance per name per scope", () => {
    const id = gateway.store.create("plugins", { name: "mark", config: { value: "a" }, route: { name: "r" } }).id;
    try {
      expect(() => gateway.store.create("plugins", { name: "mark", config: { value: "b" }, route: { name: "r" } })).toThrow(/UNIQUE violation/);
    } finally {
      gateway.store.delete("plugins", id);
    }
  });
});

describe("response phase", () => {
  async function stamps(path: string, headers: Record<string, string> = {}): Promise<[number, string | null]> {
    const res = await gateway.request(path, { headers });
    await res.arrayBuffer();
    return [res.status, res.headers.get("x-stamps")];
  }

  test("the instances that ran, in chain order (no consumer-scoped instance: known when the chain is built)", async () => {
    const ids = ["stamp-b", "stamp-a"].map((name) => gateway.store.create("plugins", { name, config: { value: "g" } }).id);
    try {
      expect(await stamps("/r/x")).toEqual([200, "stamp-a=g,stamp-b=g"]);
      expect(await stamps("/r/x", { "x-test-consumer": "alice" })).toEqual([200, "stamp-a=g,stamp-b=g"]);
    } finally {
      for (const id of ids) gateway.store.delete("plugins", id);
    }
  });

  test("a consumer-scoped instance's response phase for its consumer, the general one's for others", async () => {
    const ids = [
      gateway.store.create("plugins", { name: "stamp-a", config: { value: "alice" }, consumer: { username: "alice" } }).id,
      gateway.store.create("plugins", { name: "stamp-a", config: { value: "g" } }).id,
      gateway.store.create("plugins", { name: "stamp-b", config: { value: "bob" }, consumer: { username: "bob" } }).id,
    ];
    try {
      expect(await stamps("/r/x", { "x-test-consumer": "alice" })).toEqual([200, "stamp-a=alice"]);
      expect(await stamps("/r/x", { "x-test-consumer": "bob" })).toEqual([200, "stamp-a=g,stamp-b=bob"]);
      expect(await stamps("/r/x")).toEqual([200, "stamp-a=g"]);
    } finally {
      for (const id of ids) gateway.store.delete("plugins", id);
    }
  });

  test("a plugin's own answer gets no response phase, from it or from the plugins before it", async () => {
    const ids = ["stamp-a", "stamp-b"].map((name) => gateway.store.create("plugins", { name, config: { value: "g" } }).id);
    try {
      expect(await stamps("/r/x", { "x-test-refuse": "stamp-b" })).toEqual([403, null]);
      expect(await stamps("/r/x", { "x-test-refuse": "stamp-a", "x-test-consumer": "alice" })).toEqual([403, null]);
    } finally {
      for (const id of ids) gateway.store.delete("plugins", id);
    }
  });
});

describe("log phase", () => {
  test("every instance's, in chain order, for upstream answers and for a plugin's own (source kong, no upstream latency)", async () => {
    const ids = [
      gateway.store.create("plugins", { name: "log-b", config: { value: "g" } }).id,
      gateway.store.create("plugins", { name: "log-a", config: { value: "g" } }).id,
      gateway.store.create("plugins", { name: "stamp-a", config: { value: "g" } }).id,
    ];
    try {
      logged.length = 0;
      expect((await gateway.request("/r/x")).status).toBe(200);
      expect((await gateway.request("/r/x", { headers: { "x-test-refuse": "stamp-a" } })).status).toBe(403);
      expect(logged).toEqual([
        "log-a=g 200 service upstream:timed consumer:-",
        "log-b=g 200 service upstream:timed consumer:-",
        "log-a=g 403 kong upstream:none consumer:-",
        "log-b=g 403 kong upstream:none consumer:-",
      ]);
    } finally {
      for (const id of ids) gateway.store.delete("plugins", id);
    }
  });

  test("the consumer's own instance when one is scoped to it, with the consumer known at the end", async () => {
    const ids = [
      gateway.store.create("plugins", { name: "log-a", config: { value: "g" } }).id,
      gateway.store.create("plugins", { name: "log-a", config: { value: "alice" }, consumer: { username: "alice" } }).id,
    ];
    try {
      logged.length = 0;
      expect((await gateway.request("/r/x", { headers: { "x-test-consumer": "alice" } })).status).toBe(200);
      expect((await gateway.request("/r/x")).status).toBe(200);
      expect(logged).toEqual(["log-a=alice 200 service upstream:timed consumer:alice", "log-a=g 200 service upstream:timed consumer:-"]);
    } finally {
      for (const id of ids) gateway.store.delete("plugins", id);
    }
  });

  test("a log phase that throws changes nothing for the client, and the next instance still runs", async () => {
    const ids = [
      gateway.store.create("plugins", { name: "log-a", config: { value: "g", fail: true } }).id,
      gateway.store.create("plugins", { name: "log-b", config: { value: "g" } }).id,
    ];
    try {
      logged.length = 0;
      const answer = await gateway.request("/r/x");
      expect(answer.status).toBe(200);
      expect(((await answer.json()) as Echo).path).toBe("/x");
      expect(logged).toEqual(["log-a=g 200 service upstream:timed consumer:-", "log-b=g 200 service upstream:timed consumer:-"]);
    } finally {
      for (const id of ids) gateway.store.delete("plugins", id);
    }
  });
});
