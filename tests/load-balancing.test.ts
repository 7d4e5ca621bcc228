// Upstreams and targets against three real upstream processes on loopback: weighted
// round-robin, consistent hashing, passive and active health checks with a target killed and
// restarted mid-run, Kong's 503 when no target is left, the health endpoint and /metrics, and
// the admin API and declarative error paths.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createAdminApp } from "../src/admin/server.ts";
import { Balancer } from "../src/balancer/balancer.ts";
import { HealthBook } from "../src/balancer/health.ts";
import { parseDeclarative, exportDeclarative } from "../src/config/declarative.ts";
import type { Target } from "../src/entities/target.ts";
import { type Upstream, withHealthcheckDefaults } from "../src/entities/upstream.ts";
import { builtinPlugins } from "../src/gateway.ts";
import { type NamedUpstream, startNamedUpstream } from "./support/named-upstream.ts";
import { type TestUpstream, startUpstream } from "./support/upstream.ts";
import { runCli } from "./support/binary.ts";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./support/gateway.ts";
import { type TestGateway, startTestGateway } from "./support/gateway.ts";

let gateway: TestGateway;
let admin: ReturnType<typeof createAdminApp>;
let upstreams: NamedUpstream[];

beforeAll(async () => {
  upstreams = await Promise.all(["one", "two", "three"].map(startNamedUpstream));
  gateway = startTestGateway();
  admin = createAdminApp({ store: gateway.store, state: gateway.state, metrics: gateway.metrics, mode: "database", version: "test", registry: gateway.registry, startedAt: Date.now() });
});
afterAll(async () => {
  await gateway?.close();
  await Promise.all((upstreams ?? []).map((upstream) => upstream.stop()));
});

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any; text: string }> {
  const response = await admin.handle(
    new Request(`http://localhost${path}`, { method, headers: body === undefined ? {} : { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) }),
  );
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, body: parsed, text };
}

/** An upstream with these targets, and a service and route `/<name>` in front of it. */
async function balanced(name: string, upstream: Record<string, unknown>, targets: { target: string; weight?: number }[], service: Record<string, unknown> = {}) {
  expect((await call("POST", "/upstreams", { name: `${name}.upstream`, ...upstream })).status).toBe(201);
  for (const target of targets) expect((await call("POST", `/upstreams/${name}.upstream/targets`, target)).status).toBe(201);
  expect((await call("POST", "/services", { name, host: `${name}.upstream`, port: 80, ...service })).status).toBe(201);
  expect((await call("POST", `/services/${name}/routes`, { name, paths: [`/${name}`] })).status).toBe(201);
}

/** Who answered each of `count` requests (8 at a time), and the statuses. */
async function spread(path: string, count: number, headers: (i: number) => Record<string, string> = () => ({})): Promise<{ by: Map<string, number>; statuses: Map<number, number>; names: string[] }> {
  const by = new Map<string, number>();
  const statuses = new Map<number, number>();
  const names: string[] = [];
  for (let i = 0; i < count; i += 8) {
    const replies = await Promise.all(
      Array.from({ length: Math.min(8, count - i) }, async (_, j) => {
        const response = await gateway.request(path, { headers: headers(i + j) });
        await response.arrayBuffer();
        return { status: response.status, name: response.headers.get("x-upstream-name") ?? "-" };
      }),
    );
    for (const { status, name } of replies) {
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      by.set(name, (by.get(name) ?? 0) + 1);
      names.push(name);
    }
  }
  return { by, statuses, names };
}

/** `count` requests from `clients` clients that each send the next as soon as the last is answered. */
async function steady(path: string, count: number, clients: number): Promise<{ by: Map<string, number>; statuses: Map<number, number> }> {
  const by = new Map<string, number>();
  const statuses = new Map<number, number>();
  let sent = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (sent < count) {
        sent++;
        const response = await gateway.request(path);
        await response.arrayBuffer();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        const name = response.headers.get("x-upstream-name") ?? "-";
        by.set(name, (by.get(name) ?? 0) + 1);
      }
    }),
  );
  return { by, statuses };
}

async function healthOf(name: string): Promise<Record<string, string>> {
  const reply = await call("GET", `/upstreams/${name}.upstream/health`);
  expect(reply.status).toBe(200);
  return Object.fromEntries(reply.body.data.map((entry: { target: string; health: string }) => [entry.target, entry.health]));
}

async function until(check: () => Promise<boolean>, withinMs: number): Promise<boolean> {
  const deadline = performance.now() + withinMs;
  while (performance.now() < deadline) {
    if (await check()) return true;
    await Bun.sleep(50);
  }
  return check();
}

describe("weighted round-robin", () => {
  test("3,000 requests over weights 100/200/300 (and a weight-0 target) land within ±3% of the weights", async () => {
    const [one, two, three] = upstreams;
    await balanced("weighted", {}, [
      { target: one!.target, weight: 100 },
      { target: two!.target, weight: 200 },
      { target: three!.target, weight: 300 },
      { target: "127.0.0.1:1", weight: 0 },
    ]);
    const { by, statuses } = await spread("/weighted", 3000);
    expect(statuses.get(200)).toBe(3000);
    for (const [name, share] of [["one", 1 / 6], ["two", 2 / 6], ["three", 3 / 6]] as const) {
      expect(Math.abs(by.get(name)! / 3000 - share)).toBeLessThanOrEqual(0.03);
    }
    expect(by.get("-")).toBeUndefined();
    // No check is configured: Kong's HEALTHCHECKS_OFF, in the admin API and in /metrics.
    expect((await healthOf("weighted"))[one!.target]).toBe("HEALTHCHECKS_OFF");
    const metrics = (await call("GET", "/metrics")).text;
    expect(metrics).toContain(`kong_upstream_target_health{upstream="weighted.upstream",target="${one!.target}",address="${one!.target}",state="healthchecks_off",subsystem="http"} 1`);
    // The Host sent upstream is the target's (Kong, without preserve_host or host_header).
    const echo = (await (await gateway.request("/weighted")).json()) as { host: string };
    expect(upstreams.map((u) => u.target)).toContain(echo.host);
  });

  test("host_header replaces the target's host in the Host header; the route's preserve_host wins over both", async () => {
    await balanced("hosted", { host_header: "orders.internal" }, [{ target: upstreams[0]!.target }]);
    const echo = (await (await gateway.request("/hosted")).json()) as { host: string };
    expect(echo.host).toBe(`orders.internal:${upstreams[0]!.port}`);
    expect((await call("PATCH", "/routes/hosted", { preserve_host: true })).status).toBe(200);
    const preserved = (await (await gateway.request("/hosted", { headers: { host: "shop.example.com" } })).json()) as { host: string };
    expect(preserved.host).toBe("shop.example.com");
  });
});

describe("consistent hashing", () => {
  test("a header keeps each client on one target", async () => {
    await balanced("sticky", { algorithm: "consistent-hashing", hash_on: "header", hash_on_header: "x-session" }, upstreams.map((u) => ({ target: u.target })));
    const first = await spread("/sticky", 200, (i) => ({ "x-session": `s${i % 50}` }));
    const chosen = new Map<string, string>();
    first.names.forEach((name, i) => {
      const key = `s${i % 50}`;
      if (chosen.has(key)) expect(chosen.get(key)).toBe(name);
      chosen.set(key, name);
    });
    // Every target takes some of the 50 sessions.
    expect(new Set(chosen.values()).size).toBe(3);
  });

  test("adding a fourth target moves about 1/4 of 1,000 keys, all of them to the new target", () => {
    const upstream = { id: "u", name: "ring", algorithm: "consistent-hashing", hash_on: "header", hash_on_header: "k", hash_fallback: "none", slots: 10000, healthchecks: withHealthcheckDefaults({}), host_header: null } as unknown as Upstream;
    const target = (n: number): Target => ({ id: `t${n}`, upstream: { id: "u" }, target: `10.0.0.${n}:80`, weight: 100, tags: [], created_at: 0, updated_at: 0 });
    const book = new HealthBook();
    const pickAll = (balancer: Balancer) =>
      Array.from({ length: 1000 }, (_, i) => balancer.pick({ headers: new Headers({ k: `key-${i}` }), clientIp: "", consumerId: null, path: "/", search: "", route: {} as never }, null)!.target.target);
    const before = pickAll(new Balancer(upstream, [1, 2, 3].map(target), (t) => book.health("u", "ring", t.target, upstream.healthchecks as never, new Map())));
    const after = pickAll(new Balancer(upstream, [1, 2, 3, 4].map(target), (t) => book.health("u", "ring", t.target, upstream.healthchecks as never, new Map())));
    const moved = before.filter((was, i) => after[i] !== was);
    expect(moved.length / 1000).toBeGreaterThan(0.15);
    expect(moved.length / 1000).toBeLessThan(0.35);
    expect(after.filter((now, i) => now !== before[i]).every((now) => now === "10.0.0.4:80")).toBe(true);
  });
});

describe("health checks", () => {
  test("passive: a target killed under load leaves after 2 TCP failures, no request is lost (retried on another target)", async () => {
    const victim = await startNamedUpstream("victim");
    try {
      await balanced("passive", { healthchecks: { passive: { unhealthy: { tcp_failures: 2 } } } }, [upstreams[0]!, upstreams[1]!, victim].map((u) => ({ target: u.target })));
      const warm = await spread("/passive", 60);
      expect(warm.by.get("victim")).toBe(20);
      // Killed while 8 clients keep sending: its requests in flight and the next ones to it fail
      // over to the other targets.
      const load = steady("/passive", 600, 8);
      await Bun.sleep(20);
      await victim.kill();
      const during = await load;
      expect(during.statuses.get(200)).toBe(600);
      const after = await spread("/passive", 90);
      expect(after.statuses.get(200)).toBe(90);
      expect(after.by.get("victim")).toBeUndefined();
      expect(await healthOf("passive")).toEqual({ [upstreams[0]!.target]: "HEALTHY", [upstreams[1]!.target]: "HEALTHY", [victim.target]: "UNHEALTHY" });
      // A configuration change rebuilds the balancers; unchanged targets keep their health.
      expect((await call("PATCH", `/upstreams/passive.upstream/targets/${upstreams[0]!.target}`, { weight: 50 })).status).toBe(200);
      expect((await healthOf("passive"))[victim.target]).toBe("UNHEALTHY");
      const metrics = await (await call("GET", "/metrics")).text;
      expect(metrics).toContain("# TYPE kong_upstream_target_health gauge");
      expect(metrics).toContain(`kong_upstream_target_health{upstream="passive.upstream",target="${victim.target}",address="${victim.target}",state="unhealthy",subsystem="http"} 1`);
      expect(metrics).toContain(`kong_upstream_target_health{upstream="passive.upstream",target="${victim.target}",address="${victim.target}",state="healthy",subsystem="http"} 0`);
    } finally {
      await victim.stop();
    }
  });

  test("active: probes take a killed target out within the configured failures and bring it back after 2 successes once restarted", async () => {
    const victim = await startNamedUpstream("phoenix");
    try {
      const active = { http_path: "/health", timeout: 0.5, healthy: { interval: 0.1, successes: 2 }, unhealthy: { interval: 0.1, tcp_failures: 2 } };
      await balanced("active", { healthchecks: { active } }, [upstreams[0]!, victim].map((u) => ({ target: u.target })), { retries: 0 });
      expect((await spread("/active", 40)).by.get("phoenix")).toBe(20);
      await victim.kill();
      expect(await until(async () => (await healthOf("active"))[victim.target] === "UNHEALTHY", 2000)).toBe(true);
      const during = await spread("/active", 40);
      expect(during.statuses.get(200)).toBe(40);
      expect(during.by.get("one")).toBe(40);
      await victim.restart();
      expect(await until(async () => (await healthOf("active"))[victim.target] === "HEALTHY", 2000)).toBe(true);
      expect((await spread("/active", 40)).by.get("phoenix")).toBe(20);
    } finally {
      await victim.stop();
    }
  });

  test("no target left (all unhealthy, or weight 0) → 503 with Kong's body; the manual override brings one back", async () => {
    await balanced("alldown", {}, [upstreams[0]!, upstreams[1]!].map((u) => ({ target: u.target })));
    for (const u of [upstreams[0]!, upstreams[1]!]) expect((await call("PUT", `/upstreams/alldown.upstream/targets/${u.target}/unhealthy`)).status).toBe(204);
    const refused = await gateway.request("/alldown");
    expect(refused.status).toBe(503);
    expect(await refused.json()).toEqual({ message: "failure to get a peer from the ring-balancer" });
    const balancerHealth = await call("GET", "/upstreams/alldown.upstream/health?balancer_health=1");
    expect(balancerHealth.body.data.health).toBe("UNHEALTHY");
    expect((await call("PUT", `/upstreams/alldown.upstream/targets/${upstreams[1]!.target}/healthy`)).status).toBe(204);
    const back = await gateway.request("/alldown");
    expect(back.headers.get("x-upstream-name")).toBe("two");
    await back.arrayBuffer();

    await balanced("weightless", {}, [{ target: upstreams[0]!.target, weight: 0 }]);
    const none = await gateway.request("/weightless");
    expect(none.status).toBe(503);
    expect(await none.json()).toEqual({ message: "failure to get a peer from the ring-balancer" });
  });
});

describe("least-connections and latency", () => {
  let slow: TestUpstream;
  let fast: TestUpstream;
  beforeAll(() => {
    slow = startUpstream(async () => {
      await Bun.sleep(60);
      return new Response("slow", { headers: { "x-upstream-name": "slow" } });
    });
    fast = startUpstream(() => new Response("fast", { headers: { "x-upstream-name": "fast" } }));
  });
  afterAll(async () => {
    await slow?.stop();
    await fast?.stop();
  });

  for (const algorithm of ["least-connections", "latency"]) {
    test(`${algorithm}: a target that answers slowly gets a small share of concurrent requests`, async () => {
      const name = algorithm.replace("-", "");
      await balanced(name, { algorithm }, [{ target: `127.0.0.1:${slow.port}` }, { target: `127.0.0.1:${fast.port}` }]);
      const { by, statuses } = await steady(`/${name}`, 200, 8);
      expect(statuses.get(200)).toBe(200);
      // Round-robin would give each 100; a slow answer keeps that target busy (or measured slow).
      expect(by.get("slow")!).toBeLessThan(40);
      expect(by.get("fast")!).toBeGreaterThan(160);
    });
  }
});

describe("consistent hashing on the consumer, the cookie and the client IP", () => {
  test("hash_on cookie: a client without the cookie is given one, and comes back to the same target with it", async () => {
    await balanced("cookie", { algorithm: "consistent-hashing", hash_on: "cookie", hash_on_cookie: "lb", hash_on_cookie_path: "/cookie" }, upstreams.map((u) => ({ target: u.target })));
    const first = await gateway.request("/cookie");
    const setCookie = first.headers.get("set-cookie")!;
    expect(setCookie).toMatch(/^lb=[-0-9a-f]{36}; Path=\/cookie$/);
    const name = first.headers.get("x-upstream-name");
    await first.arrayBuffer();
    const again = await spread("/cookie", 16, () => ({ cookie: setCookie.split(";")[0]! }));
    expect(again.by.get(name!)).toBe(16);
  });

  test("hash_on ip: every request of one client goes to one target", async () => {
    await balanced("byip", { algorithm: "consistent-hashing", hash_on: "ip" }, upstreams.map((u) => ({ target: u.target })));
    const { by } = await spread("/byip", 24);
    expect(by.size).toBe(1);
  });

  test("hash_on consumer, falling back to a header for anonymous requests", async () => {
    await balanced("byconsumer", { algorithm: "consistent-hashing", hash_on: "consumer", hash_fallback: "header", hash_fallback_header: "x-tenant" }, upstreams.map((u) => ({ target: u.target })));
    expect((await call("POST", "/routes/byconsumer/plugins", { name: "key-auth", config: { anonymous: null } })).status).toBe(201);
    const chosen = new Map<string, Set<string>>();
    for (let i = 0; i < 12; i++) {
      expect((await call("POST", "/consumers", { username: `tenant-${i}` })).status).toBe(201);
      expect((await call("POST", `/consumers/tenant-${i}/key-auth`, { key: `key-${i}` })).status).toBe(201);
    }
    const { names } = await spread("/byconsumer", 48, (i) => ({ apikey: `key-${i % 12}` }));
    names.forEach((name, i) => {
      const key = `key-${i % 12}`;
      chosen.set(key, (chosen.get(key) ?? new Set()).add(name));
    });
    expect([...chosen.values()].every((set) => set.size === 1)).toBe(true);
    expect(new Set([...chosen.values()].map((set) => [...set][0])).size).toBeGreaterThan(1);
  });
});

describe("active checks stop with the gateway", () => {
  test("no probe reaches the target after stop (no timer is left)", async () => {
    let probes = 0;
    const probed = startUpstream((request) => {
      if (new URL(request.url).pathname === "/ping") probes++;
      return new Response("ok");
    });
    const own = startTestGateway();
    try {
      own.store.create("upstreams", { name: "probed.upstream", healthchecks: { active: { http_path: "/ping", healthy: { interval: 0.05 } } } });
      own.store.create("targets", { target: `127.0.0.1:${probed.port}` }, { kind: "upstreams", id: own.store.get("upstreams", "probed.upstream").id });
      expect(await until(async () => probes >= 2, 2000)).toBe(true);
      await own.close();
      // A probe already sent when the gateway stopped may still arrive.
      await Bun.sleep(100);
      const after = probes;
      await Bun.sleep(300);
      expect(probes).toBe(after);
    } finally {
      await own.close().catch(() => {});
      await probed.stop();
    }
  });
});

describe("active https probes", () => {
  let secure: ReturnType<typeof Bun.serve>;
  let dir = "";
  let probes = 0;
  beforeAll(async () => {
    dir = tempDir("gateway-lb-tls-");
    const openssl = Bun.spawn(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=upstream.test", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")], { stderr: "pipe" });
    expect(await openssl.exited).toBe(0);
    secure = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      tls: { cert: Bun.file(join(dir, "cert.pem")), key: Bun.file(join(dir, "key.pem")) },
      fetch: (request) => {
        if (new URL(request.url).pathname === "/health") probes++;
        return new Response("secure");
      },
    });
  });
  afterAll(async () => {
    await secure?.stop(true);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("https probes without verification bring a target back; with verification a self-signed certificate is a failure", async () => {
    const address = `127.0.0.1:${secure.port}`;
    const active = (verify: boolean) => ({ type: "https", http_path: "/health", https_verify_certificate: verify, https_sni: "upstream.test", healthy: { interval: 0.05, successes: 1 }, unhealthy: { interval: 0.05, tcp_failures: 1 } });
    await balanced("tlsprobe", { healthchecks: { active: active(false) } }, [{ target: address }]);
    expect((await call("PUT", `/upstreams/tlsprobe.upstream/targets/${address}/unhealthy`)).status).toBe(204);
    expect(await until(async () => (await healthOf("tlsprobe"))[address] === "HEALTHY", 2000)).toBe(true);
    expect(probes).toBeGreaterThan(0);
    await balanced("tlsverify", { healthchecks: { active: active(true) } }, [{ target: address }]);
    expect(await until(async () => (await healthOf("tlsverify"))[address] === "UNHEALTHY", 2000)).toBe(true);
  });
});

describe("admin API error paths", () => {
  beforeAll(async () => {
    await call("POST", "/upstreams", { name: "errors.upstream" });
    await call("POST", "/upstreams/errors.upstream/targets", { target: "10.0.0.1:8080" });
  });

  const cases: [string, string, string, unknown, number, Record<string, string> | string][] = [
    ["bad algorithm", "POST", "/upstreams", { name: "a.upstream", algorithm: "random" }, 400, { algorithm: "expected one of: round-robin, consistent-hashing, least-connections, latency (got 'random')" }],
    ["an IP address as name", "POST", "/upstreams", { name: "10.1.1.1" }, 400, { name: "Invalid name; no ip addresses allowed" }],
    ["hash_on header without hash_on_header", "POST", "/upstreams", { name: "b.upstream", algorithm: "consistent-hashing", hash_on: "header" }, 400, { hash_on_header: "required when hash_on is 'header'" }],
    ["hash_fallback without consistent-hashing", "POST", "/upstreams", { name: "c.upstream", hash_on: "ip", hash_fallback: "consumer" }, 400, { hash_fallback: "only used with algorithm 'consistent-hashing'" }],
    ["slots below Kong's 10", "POST", "/upstreams", { name: "d.upstream", slots: 5 }, 400, { slots: "value should be between 10 and 65536" }],
    ["an unknown healthchecks field", "POST", "/upstreams", { name: "e.upstream", healthchecks: { active: { intervall: 5 } } }, 400, { "healthchecks.active.intervall": "unknown field" }],
    ["bad target host:port", "POST", "/upstreams/errors.upstream/targets", { target: "bad host:80" }, 400, { target: "Invalid target; not a valid hostname or ip address" }],
    ["a target port out of range", "POST", "/upstreams/errors.upstream/targets", { target: "10.0.0.1:70000" }, 400, { target: "Invalid target; the port must be from 1 to 65535" }],
    ["a weight above 65535", "POST", "/upstreams/errors.upstream/targets", { target: "10.0.0.2:80", weight: 70000 }, 400, { weight: "value should be between 0 and 65535" }],
    ["unknown upstream", "POST", "/upstreams/nowhere/targets", { target: "10.0.0.1:80" }, 404, "upstream 'nowhere' not found"],
    ["unknown upstream's health", "GET", "/upstreams/nowhere/health", undefined, 404, "upstream 'nowhere' not found"],
    ["unknown target", "PUT", "/upstreams/errors.upstream/targets/10.9.9.9:80/healthy", undefined, 404, "target '10.9.9.9:80' not found"],
  ];
  for (const [name, method, path, body, status, expected] of cases) {
    test(`${name} → ${status}`, async () => {
      const before = await call("GET", "/upstreams?size=1000");
      const reply = await call(method, path, body);
      expect(reply.status).toBe(status);
      if (typeof expected === "string") expect(reply.body).toEqual({ message: expected });
      else expect(reply.body.fields).toEqual(expected);
      expect(reply.text).not.toContain("union");
      expect(await call("GET", "/upstreams?size=1000")).toEqual(before);
    });
  }

  test("a PATCH of part of healthchecks keeps the rest as stored; a PUT starts again from Kong's defaults", async () => {
    expect((await call("POST", "/upstreams", { name: "patched.upstream", healthchecks: { active: { http_path: "/status", healthy: { interval: 5 } } } })).status).toBe(201);
    const patched = await call("PATCH", "/upstreams/patched.upstream", { healthchecks: { passive: { unhealthy: { tcp_failures: 2 } } } });
    expect(patched.status).toBe(200);
    expect([patched.body.healthchecks.active.http_path, patched.body.healthchecks.active.healthy.interval, patched.body.healthchecks.passive.unhealthy]).toEqual([
      "/status",
      5,
      { http_statuses: [429, 500, 503], tcp_failures: 2, timeouts: 0, http_failures: 0 },
    ]);
    const replaced = await call("PUT", "/upstreams/patched.upstream", { healthchecks: { threshold: 25 } });
    expect([replaced.status, replaced.body.healthchecks.active.http_path, replaced.body.healthchecks.passive.unhealthy.tcp_failures, replaced.body.healthchecks.threshold]).toEqual([200, "/", 0, 25]);
  });

  test("duplicate target → 409; a target without a port gets 8000 and is addressed by host:port", async () => {
    const duplicate = await call("POST", "/upstreams/errors.upstream/targets", { target: "10.0.0.1:8080" });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.message).toMatch(/^UNIQUE violation detected on/);
    expect(duplicate.body.fields).toEqual({ upstream: "already exists", target: "already exists" });
    const bare = await call("POST", "/upstreams/errors.upstream/targets", { target: "10.0.0.3" });
    expect(bare.body.target).toBe("10.0.0.3:8000");
    expect((await call("GET", "/upstreams/errors.upstream/targets/10.0.0.3:8000")).body.id).toBe(bare.body.id);
    expect((await call("DELETE", "/upstreams/errors.upstream/targets/10.0.0.3:8000")).status).toBe(204);
  });
});

describe("command line", () => {
  test("upstream and target commands: add, list, refusals in one line, delete", async () => {
    const dir = tempDir("gateway-lb-cli-");
    const db = join(dir, "gateway.db");
    const cli = (...args: string[]) => runCli(process.execPath, [join(import.meta.dir, "../src/main.ts"), ...args, "--db", db], { cwd: dir });
    try {
      expect((await cli("upstream", "add", "--name", "cli.upstream", "--algorithm", "latency")).code).toBe(0);
      const added = await cli("target", "add", "--upstream", "cli.upstream", "--target", "10.0.0.1", "--weight", "5", "--json");
      expect(JSON.parse(added.stdout)).toMatchObject({ target: "10.0.0.1:8000", weight: 5 });
      expect(await cli("target", "add", "--upstream", "cli.upstream", "--target", "not a host")).toEqual({
        code: 1,
        stdout: "",
        stderr: "gateway: schema violation (target: Invalid target; not a valid hostname or ip address)\n",
      });
      const missing = await cli("target", "list");
      expect([missing.code, missing.stderr]).toEqual([2, "gateway: target list: --upstream is required: the upstream (name or id) the targets belong to\n"]);
      expect((await cli("target", "add", "--upstream", "nowhere", "--target", "10.0.0.2:80")).stderr).toBe("gateway: upstream 'nowhere' not found\n");
      const listed = JSON.parse((await cli("target", "list", "--upstream", "cli.upstream", "--json")).stdout) as { target: string }[];
      expect(listed.map((t) => t.target)).toEqual(["10.0.0.1:8000"]);
      expect((await cli("target", "delete", "--upstream", "cli.upstream", "10.0.0.1:8000")).stdout).toBe("deleted target '10.0.0.1:8000'\n");
      expect((await cli("upstream", "delete", "cli.upstream")).code).toBe(0);
      expect((await cli("upstream", "list", "--json")).stdout.trim()).toBe("[]");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("declarative", () => {
  const FILE = `_format_version: "3.0"
upstreams:
- name: orders.upstream
  algorithm: consistent-hashing
  hash_on: header
  hash_on_header: X-Session-ID
  healthchecks:
    threshold: 50
    active:
      http_path: /health
      healthy: { interval: 5, successes: 2 }
  targets:
  - target: 10.0.0.1:8080
  - target: 10.0.0.2
    weight: 50
services:
- name: orders
  host: orders.upstream
  routes:
  - paths: [/orders]
`;

  test("top-level upstreams with nested targets load with Kong's defaults, and export back nested", () => {
    const state = parseDeclarative(FILE, builtinPlugins);
    expect(state.upstreams).toHaveLength(1);
    const upstream = state.upstreams[0]!;
    expect(upstream.slots).toBe(10000);
    expect(upstream.healthchecks.active.unhealthy.http_statuses).toEqual([429, 404, 500, 501, 502, 503, 504, 505]);
    expect(upstream.healthchecks.active.healthy).toEqual({ interval: 5, successes: 2, http_statuses: [200, 302] });
    expect(state.targets.map((t) => [t.target, t.weight, t.upstream.id])).toEqual([["10.0.0.1:8080", 100, upstream.id], ["10.0.0.2:8000", 50, upstream.id]]);
    // Loading the same file twice gives the same ids.
    expect(parseDeclarative(FILE, builtinPlugins).targets.map((t) => t.id)).toEqual(state.targets.map((t) => t.id));
    const exported = exportDeclarative(state, { format: "yaml" });
    expect(parseDeclarative(exported, builtinPlugins).targets.map((t) => t.target)).toEqual(["10.0.0.1:8080", "10.0.0.2:8000"]);
    expect(exported).toMatch(/\nupstreams:\n  - id: [-0-9a-f]+\n    name: orders\.upstream\n[\s\S]*\n    targets:\n      - id: [-0-9a-f]+\n        target: 10\.0\.0\.1:8080\n/);
  });

  test("top-level targets name their upstream by name or {name}", () => {
    const state = parseDeclarative(`_format_version: "3.0"\nupstreams:\n- name: a.upstream\ntargets:\n- target: 10.0.0.1:80\n  upstream: a.upstream\n- target: 10.0.0.2\n  upstream: { name: a.upstream }\n  weight: 0\n`, builtinPlugins);
    expect(state.targets.map((t) => [t.target, t.weight, t.upstream.id])).toEqual([["10.0.0.1:80", 100, state.upstreams[0]!.id], ["10.0.0.2:8000", 0, state.upstreams[0]!.id]]);
  });

  const refusals: [string, string, string][] = [
    [
      "a bad algorithm",
      FILE.replace("consistent-hashing", "fastest"),
      "in upstream 'orders.upstream' at upstreams[0]: algorithm: expected one of: round-robin, consistent-hashing, least-connections, latency (got 'fastest')",
    ],
    ["a bad target", FILE.replace("10.0.0.1:8080", "10.0.0.1:http"), "in target '10.0.0.1:http' at upstreams[0].targets[0]: target: Invalid target; the port must be a number"],
    ["a target of an unknown upstream", `${FILE}targets:\n- target: 10.0.0.9:80\n  upstream: nowhere\n`, "in targets[0]: upstream: invalid reference 'upstream: nowhere' (no such entry in 'upstreams')"],
  ];
  for (const [name, text, message] of refusals) {
    test(`${name} is refused naming its position`, () => {
      expect(() => parseDeclarative(text, builtinPlugins)).toThrow(message);
    });
  }

  test("a duplicate target is refused naming both positions", () => {
    expect(() => parseDeclarative(FILE.replace("10.0.0.2", "10.0.0.1:8080"), builtinPlugins)).toThrow(/^in target '10\.0\.0\.1:8080' at upstreams\[0\]\.targets\[1\]: upstream\+target: uniqueness violation: .* already declared at upstreams\[0\]\.targets\[0\]$/);
  });
});
