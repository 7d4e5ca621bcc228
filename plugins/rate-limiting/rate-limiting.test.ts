// rate-limiting through the real proxy: Kong 3.x's headers, refusal, identifiers and their IP
// fallback, config checks; the cluster policy on one process (exact counts, expiry, a locked
// database under fault_tolerant). Two processes sharing a file: tests/rate-limiting-cluster.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { type AuthRig, sign, signingKey, type SigningKey, startAuthRig } from "../../tests/support/auth.ts";
import { windowEnd, windowStart } from "./windows.ts";

const rateHeaders = (response: Response) =>
  Object.fromEntries([...response.headers].filter(([name]) => name.includes("ratelimit") || name === "retry-after"));

async function statuses(r: AuthRig, count: number, headers: Record<string, string> = {}, path = "/api"): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const response = await r.get(path, headers);
    await response.arrayBuffer();
    out.push(response.status);
  }
  return out;
}

describe("Kong's headers and refusal (policy local)", () => {
  test("minute: 3 → three 200s counting down, then 429 with Retry-After and Kong's body", async () => {
    const r = startAuthRig([{ name: "rate-limiting", config: { minute: 3 } }]);
    try {
      for (const remaining of ["2", "1", "0"]) {
        const response = await r.get("/api");
        expect(response.status).toBe(200);
        await response.arrayBuffer();
        const headers = rateHeaders(response);
        expect(headers).toMatchObject({ "x-ratelimit-limit-minute": "3", "x-ratelimit-remaining-minute": remaining, "ratelimit-limit": "3", "ratelimit-remaining": remaining });
        expect(Number(headers["ratelimit-reset"])).toBeGreaterThanOrEqual(1);
        expect(Number(headers["ratelimit-reset"])).toBeLessThanOrEqual(60);
        expect(headers["retry-after"]).toBeUndefined();
      }
      const refused = await r.get("/api");
      expect(refused.status).toBe(429);
      expect(refused.headers.get("content-type")).toStartWith("application/json");
      expect(await refused.text()).toBe('{"message":"API rate limit exceeded"}');
      const headers = rateHeaders(refused);
      expect(headers).toMatchObject({ "x-ratelimit-limit-minute": "3", "x-ratelimit-remaining-minute": "0", "ratelimit-remaining": "0" });
      expect(headers["retry-after"]).toBe(headers["ratelimit-reset"]!);
      expect(Number(headers["retry-after"])).toBeGreaterThanOrEqual(1);
    } finally {
      await r.close();
    }
  });

  test("a later plugin's own answer carries the headers too (Kong sets them in header_filter, which runs for it)", async () => {
    const r = startAuthRig([
      { name: "rate-limiting", config: { minute: 3 } },
      { name: "request-termination", config: { status_code: 503, message: "maintenance" } },
    ]);
    try {
      const response = await r.get("/api");
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ message: "maintenance" });
      expect(rateHeaders(response)).toMatchObject({ "x-ratelimit-limit-minute": "3", "x-ratelimit-remaining-minute": "2", "ratelimit-remaining": "2" });
    } finally {
      await r.close();
    }
  });

  test("minute + hour: a header pair per period; RateLimit-* name the window with the fewest left (a tie: the longer)", async () => {
    const r = startAuthRig([{ name: "rate-limiting", config: { minute: 3, hour: 4 } }]);
    try {
      let response = await r.get("/api");
      await response.arrayBuffer();
      expect(rateHeaders(response)).toMatchObject({
        "x-ratelimit-limit-minute": "3", "x-ratelimit-remaining-minute": "2",
        "x-ratelimit-limit-hour": "4", "x-ratelimit-remaining-hour": "3",
        "ratelimit-limit": "3", "ratelimit-remaining": "2",
      });
      expect(Number(response.headers.get("ratelimit-reset"))).toBeLessThanOrEqual(60);
      const tie = startAuthRig([{ name: "rate-limiting", config: { minute: 5, hour: 5 } }]);
      try {
        // The hour's reset, not the minute's (they differ but in an hour's last minute).
        const hourLeft = () => 3600 - Math.floor((Date.now() % 3_600_000) / 1000);
        const before = hourLeft();
        response = await tie.get("/api");
        const after = hourLeft();
        await response.arrayBuffer();
        expect(response.headers.get("ratelimit-limit")).toBe("5");
        const reset = Number(response.headers.get("ratelimit-reset"));
        expect(reset).toBeLessThanOrEqual(before);
        expect(reset).toBeGreaterThanOrEqual(after);
      } finally {
        await tie.close();
      }
      expect(await statuses(r, 3)).toEqual([200, 200, 429]);
    } finally {
      await r.close();
    }
  });

  test("a refused request is not counted; the counter starts again in the next window", async () => {
    const r = startAuthRig([{ name: "rate-limiting", config: { second: 2 } }]);
    try {
      // Start just after a second boundary so the three requests fall into one window.
      await Bun.sleep(1000 - (Date.now() % 1000) + 5);
      expect(await statuses(r, 3)).toEqual([200, 200, 429]);
      await Bun.sleep(1000 - (Date.now() % 1000) + 5);
      expect(await statuses(r, 1)).toEqual([200]);
    } finally {
      await r.close();
    }
  });

  test("hide_client_headers: no rate headers on 200 or 429", async () => {
    const r = startAuthRig([{ name: "rate-limiting", config: { minute: 1, hide_client_headers: true } }]);
    try {
      const ok = await r.get("/api");
      await ok.arrayBuffer();
      expect(rateHeaders(ok)).toEqual({});
      const refused = await r.get("/api");
      expect(refused.status).toBe(429);
      expect(rateHeaders(refused)).toEqual({});
      expect(await refused.text()).toBe('{"message":"API rate limit exceeded"}');
    } finally {
      await r.close();
    }
  });

  test("error_code and error_message", async () => {
    const r = startAuthRig([{ name: "rate-limiting", config: { minute: 1, error_code: 503, error_message: "slow down" } }]);
    try {
      await statuses(r, 1);
      const refused = await r.get("/api");
      expect(refused.status).toBe(503);
      expect(await refused.text()).toBe('{"message":"slow down"}');
    } finally {
      await r.close();
    }
  });
});

describe("limit_by and Kong's fallback to the client IP", () => {
  let hs: SigningKey;
  beforeAll(async () => {
    hs = await signingKey("HS256");
  });

  test("consumer (after jwt): each consumer has its own counter", async () => {
    const r = startAuthRig([]);
    try {
      const store = r.gateway.store;
      for (const name of ["alice", "bob"]) {
        const consumer = store.create("consumers", { username: name });
        store.create("jwt_secrets", { key: `${name}-key`, ...hs.credential }, { kind: "consumers", id: consumer.id });
      }
      store.create("plugins", { name: "jwt", route: { id: r.routeId } });
      store.create("plugins", { name: "rate-limiting", config: { minute: 2 }, route: { id: r.routeId } });
      const alice = { authorization: `Bearer ${await sign(hs, { iss: "alice-key" })}` };
      const bob = { authorization: `Bearer ${await sign(hs, { iss: "bob-key" })}` };
      expect(await statuses(r, 3, alice)).toEqual([200, 200, 429]);
      expect(await statuses(r, 2, bob)).toEqual([200, 200]);
      // No token: jwt answers 401 before rate-limiting counts anything.
      expect(await statuses(r, 1)).toEqual([401]);
    } finally {
      await r.close();
    }
  });

  test("consumer without authentication falls back to the IP", async () => {
    const r = startAuthRig([{ name: "rate-limiting", config: { minute: 2, limit_by: "consumer" } }]);
    try {
      expect(await statuses(r, 3)).toEqual([200, 200, 429]);
    } finally {
      await r.close();
    }
  });

  test("header: per value; without the header, the IP", async () => {
    const r = startAuthRig([{ name: "rate-limiting", config: { minute: 1, limit_by: "header", header_name: "x-tenant" } }]);
    try {
      expect(await statuses(r, 2, { "x-tenant": "a" })).toEqual([200, 429]);
      expect(await statuses(r, 1, { "x-tenant": "b" })).toEqual([200]);
      expect(await statuses(r, 2)).toEqual([200, 429]);
    } finally {
      await r.close();
    }
  });

  test("path: the configured path has its own counter, other paths count by IP", async () => {
    const r = startAuthRig([{ name: "rate-limiting", config: { minute: 1, limit_by: "path", path: "/api/a" } }]);
    try {
      expect(await statuses(r, 2, {}, "/api/a")).toEqual([200, 429]);
      expect(await statuses(r, 2, {}, "/api/b")).toEqual([200, 429]);
    } finally {
      await r.close();
    }
  });

  test("service and ip count every client of the route together here (one loopback client)", async () => {
    for (const limit_by of ["service", "ip", "credential"]) {
      const r = startAuthRig([{ name: "rate-limiting", config: { minute: 1, limit_by } }]);
      try {
        expect(await statuses(r, 2)).toEqual([200, 429]);
      } finally {
        await r.close();
      }
    }
  });
});

describe("config checks (Kong's messages)", () => {
  let r: AuthRig;
  beforeAll(() => {
    r = startAuthRig([]);
  });
  afterAll(() => r.close());
  const rejected: [string, Record<string, unknown>, string][] = [
    ["no limit", {}, "You need to set at least one limit"],
    ["hour lower than minute", { minute: 10, hour: 5 }, "The limit for hour(5.0) cannot be lower than the limit for minute(10.0)"],
    ["header without header_name", { minute: 1, limit_by: "header" }, "No header name provided"],
    ["path without path", { minute: 1, limit_by: "path" }, "No path provided"],
    ["policy redis", { minute: 1, policy: "redis" }, "policy"],
  ];
  for (const [name, config, message] of rejected) {
    test(`${name} is rejected`, () => {
      expect(() => r.gateway.store.create("plugins", { name: "rate-limiting", config })).toThrow(message);
    });
  }
  test("defaults are Kong's", () => {
    const plugin = r.gateway.store.create("plugins", { name: "rate-limiting", config: { minute: 5 }, route: { id: r.routeId } });
    expect(plugin.config).toMatchObject({ limit_by: "consumer", policy: "local", fault_tolerant: true, hide_client_headers: false, error_code: 429, error_message: "API rate limit exceeded", second: null, hour: null });
  });
});

describe("policy cluster (one process)", () => {
  test("counts exactly, stored in rate_limiting_counters (not an admin entity)", async () => {
    const r = startAuthRig([{ name: "rate-limiting", config: { minute: 3, policy: "cluster" } }], { file: true });
    try {
      expect(await statuses(r, 4)).toEqual([200, 200, 200, 429]);
      const rows = r.gateway.opened.sqlite.query<{ period: string; value: number }, []>("SELECT period, value FROM rate_limiting_counters").all();
      expect(rows).toEqual([{ period: "minute", value: 3 }]);
      const admin = r.gateway.entities.map((entity) => entity.name);
      expect(admin).not.toContain("rate_limiting_counters");
    } finally {
      await r.close();
    }
  });

  test("rows of past windows are deleted", async () => {
    const r = startAuthRig([{ name: "rate-limiting", config: { second: 5, policy: "cluster" } }], { file: true });
    try {
      const db = r.gateway.opened.sqlite;
      // An old row (a window that ended an hour ago) and a current one.
      const old = windowStart(0, Date.now() - 3_600_000);
      db.run("INSERT INTO rate_limiting_counters VALUES ('x|', 'old', 'second', ?, 7, ?)", [old, windowEnd(0, old)]);
      await statuses(r, 1);
      await Bun.sleep(1100);
      await statuses(r, 1);
      const rows = db.query<{ identifier: string; period_start: number }, []>("SELECT identifier, period_start FROM rate_limiting_counters").all();
      expect(rows.map((row) => row.identifier)).not.toContain("old");
      // Only the window of the second request is left (the first request's window ended before it).
      expect(rows.length).toBe(1);
    } finally {
      await r.close();
    }
  });

  for (const [fault_tolerant, expected] of [[true, 200], [false, 500]] as const) {
    test(`a locked database, fault_tolerant ${fault_tolerant} → ${expected}`, async () => {
      const r = startAuthRig([{ name: "rate-limiting", config: { minute: 3, policy: "cluster", fault_tolerant } }], { file: true });
      const other = new Database(r.gateway.dbPath);
      try {
        other.run("BEGIN IMMEDIATE");
        const started = performance.now();
        const response = await r.get("/api");
        const body = await response.text();
        expect(response.status).toBe(expected);
        expect(performance.now() - started).toBeLessThan(2000);
        if (fault_tolerant) expect(rateHeaders(response)).toEqual({});
        else expect(body).toBe('{"message":"An unexpected error occurred"}');
        other.run("ROLLBACK");
        expect(await statuses(r, 1)).toEqual([200]);
      } finally {
        other.close();
        await r.close();
      }
    });
  }
});
