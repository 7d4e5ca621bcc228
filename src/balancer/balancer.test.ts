// The balancer's parts on hand-made upstreams: the smooth round-robin order, what each hash
// input reads from a request, Kong's health counters, and the upstream threshold.
import { describe, expect, test } from "bun:test";
import type { Route } from "../entities/route.ts";
import type { Target } from "../entities/target.ts";
import { type Healthchecks, type Upstream, withHealthcheckDefaults } from "../entities/upstream.ts";
import { Balancer } from "./balancer.ts";
import { type HashInput, hashKey } from "./hash-key.ts";
import { HealthBook, TargetHealth } from "./health.ts";
import { isNameNotFound } from "../proxy/upstream/errors.ts";

function upstream(fields: Partial<Omit<Upstream, "healthchecks">> & { healthchecks?: unknown } = {}): Upstream {
  return {
    id: "u1", name: "u", algorithm: "round-robin", hash_on: "none", hash_fallback: "none", hash_on_header: null, hash_fallback_header: null, hash_on_cookie: null,
    hash_on_cookie_path: "/", hash_on_query_arg: null, hash_fallback_query_arg: null, hash_on_uri_capture: null, hash_fallback_uri_capture: null, slots: 10000,
    host_header: null, client_certificate: null, use_srv_name: false, tags: [], created_at: 0, updated_at: 0,
    ...fields,
    healthchecks: withHealthcheckDefaults(fields.healthchecks ?? {}),
  } as Upstream;
}

const target = (address: string, weight = 100): Target => ({ id: address, upstream: { id: "u1" }, target: address, weight, tags: [], created_at: 0, updated_at: 0 });

function balancerOf(up: Upstream, targets: Target[]): Balancer {
  const book = new HealthBook();
  const used = new Map<string, TargetHealth>();
  return new Balancer(up, targets, (t) => book.health(up.id, up.name, t.target, up.healthchecks as Healthchecks, used));
}

describe("smooth weighted round-robin", () => {
  test("weights 5, 1, 1 give nginx's interleaved order a a b a c a a, and repeat it", () => {
    const balancer = balancerOf(upstream(), [target("a:1", 5), target("b:1", 1), target("c:1", 1)]);
    const order = Array.from({ length: 14 }, () => balancer.pick(null, null)!.target.target[0]).join("");
    expect(order).toBe("aabacaaaabacaa");
  });

  test("an unhealthy or weight-0 target is skipped; a retry avoids the target tried unless none is left", () => {
    const balancer = balancerOf(upstream(), [target("a:1"), target("b:1"), target("z:1", 0)]);
    const [a, b] = balancer.peers;
    b!.health.set(false);
    expect(new Set(Array.from({ length: 6 }, () => balancer.pick(null, null)!.target.target))).toEqual(new Set(["a:1"]));
    b!.health.set(true);
    expect(balancer.pick(null, [a!])).toBe(b!);
    expect(balancer.pick(null, [a!, b!])).not.toBeNull();
  });
});

describe("what consistent hashing hashes", () => {
  const route = { paths: ["~/orders/(?<order>\\d+)"] } as Route;
  const input = (headers: Record<string, string> = {}, extra: Partial<HashInput> = {}): HashInput => ({
    headers: new Headers(headers),
    clientIp: "10.1.1.1",
    consumerId: null,
    path: "/orders/42",
    search: "?tenant=t1",
    route,
    ...extra,
  });
  const cases: [string, Partial<Upstream>, HashInput, string | null][] = [
    ["consumer", { hash_on: "consumer" }, input({}, { consumerId: "c-1" }), "c-1"],
    ["ip", { hash_on: "ip" }, input(), "10.1.1.1"],
    ["header", { hash_on: "header", hash_on_header: "x-session" }, input({ "x-session": "s9" }), "s9"],
    ["cookie", { hash_on: "cookie", hash_on_cookie: "lb" }, input({ cookie: "a=1; lb=xyz" }), "xyz"],
    ["path", { hash_on: "path" }, input(), "/orders/42"],
    ["query_arg", { hash_on: "query_arg", hash_on_query_arg: "tenant" }, input(), "t1"],
    ["uri_capture", { hash_on: "uri_capture", hash_on_uri_capture: "order" }, input(), "42"],
    ["a missing consumer falls back to a header", { hash_on: "consumer", hash_fallback: "header", hash_fallback_header: "x-t" }, input({ "x-t": "tenant" }), "tenant"],
    ["nothing to hash", { hash_on: "header", hash_on_header: "x-none" }, input(), null],
  ];
  for (const [name, fields, given, expected] of cases) test(name, () => expect(hashKey(upstream({ algorithm: "consistent-hashing", ...fields }), given)).toBe(expected));

  test("an unhealthy owner passes its keys on round the ring, and gets them back when healthy", () => {
    const balancer = balancerOf(upstream({ algorithm: "consistent-hashing", hash_on: "header", hash_on_header: "k" }), [target("a:1"), target("b:1"), target("c:1")]);
    const key = (i: number) => input({ k: `key-${i}` });
    const before = Array.from({ length: 300 }, (_, i) => balancer.pick(key(i), null)!);
    const victim = before[0]!;
    victim.health.set(false);
    const during = Array.from({ length: 300 }, (_, i) => balancer.pick(key(i), null)!);
    expect(during.includes(victim)).toBe(false);
    // Keys of the other targets stay where they were.
    expect(during.filter((peer, i) => before[i] !== victim && peer !== before[i])).toHaveLength(0);
    victim.health.set(true);
    expect(Array.from({ length: 300 }, (_, i) => balancer.pick(key(i), null)!)).toEqual(before);
  });
});

describe("health counters (Kong's healthchecker)", () => {
  const checks = withHealthcheckDefaults({ passive: { unhealthy: { http_failures: 3, tcp_failures: 2 }, healthy: { successes: 2 } } });

  test("failures in a row flip to unhealthy; a success in between starts the count again", () => {
    const health = new TargetHealth(checks, () => {});
    health.passiveStatus(500);
    health.passiveStatus(503);
    health.passiveStatus(200);
    health.passiveStatus(500);
    health.passiveStatus(500);
    expect(health.healthy).toBe(true);
    health.passiveStatus(429);
    expect(health.report).toBe("UNHEALTHY");
  });

  test("each kind has its own threshold; statuses in neither list count for nothing", () => {
    const health = new TargetHealth(checks, () => {});
    health.passiveStatus(404);
    health.passiveTcpFailure();
    expect(health.healthy).toBe(true);
    health.passiveTcpFailure();
    expect(health.healthy).toBe(false);
  });

  test("successes bring an unhealthy target back; each flip is told once, with its reason", () => {
    const flips: string[] = [];
    const health = new TargetHealth(checks, (h, why) => flips.push(`${h.healthy}: ${why}`));
    health.passiveTcpFailure();
    health.passiveTcpFailure();
    health.passiveTcpFailure();
    health.passiveStatus(200);
    health.passiveStatus(200);
    expect(flips).toEqual(["false: 2 passive TCP failures", "true: 2 passive successes"]);
  });

  test("with Kong's defaults every counter is off: HEALTHCHECKS_OFF, always in the rotation", () => {
    const health = new TargetHealth(withHealthcheckDefaults({}), () => {});
    for (let i = 0; i < 50; i++) health.passiveStatus(500);
    health.passiveTcpFailure();
    expect([health.healthy, health.report]).toEqual([true, "HEALTHCHECKS_OFF"]);
  });
});

describe("a name that does not resolve", () => {
  // Resolving a name that does not exist asks a DNS server beyond loopback, which tests must not:
  // the health side is driven here as the forwarder and the probes drive it on ENOTFOUND.
  test("DNS_ERROR: out of the rotation, whatever the checks, until the name resolves again", () => {
    const balancer = balancerOf(upstream(), [target("a:1"), target("gone.example:80")]);
    const gone = balancer.peers[1]!;
    gone.health.nameNotFound();
    expect(gone.health.report).toBe("DNS_ERROR");
    expect(new Set(Array.from({ length: 4 }, () => balancer.pick(null, null)!.target.target))).toEqual(new Set(["a:1"]));
    gone.health.passiveStatus(200);
    expect(gone.health.report).toBe("HEALTHCHECKS_OFF");
    expect(new Set(Array.from({ length: 4 }, () => balancer.pick(null, null)!.target.target)).size).toBe(2);
  });

  test("getaddrinfo's codes are what marks it", () => {
    expect([isNameNotFound({ code: "ENOTFOUND" }), isNameNotFound({ code: "EAI_AGAIN" }), isNameNotFound({ code: "ECONNREFUSED" })]).toEqual([true, true, false]);
  });
});

describe("healthchecks.threshold", () => {
  test("below the healthy share of weight the upstream takes nothing", () => {
    const balancer = balancerOf(upstream({ healthchecks: { threshold: 70, passive: { unhealthy: { tcp_failures: 1 } } } }), [target("a:1"), target("b:1"), target("c:1")]);
    balancer.peers[0]!.health.passiveTcpFailure();
    expect(balancer.healthyPercent()).toBeCloseTo(66.67, 1);
    expect(balancer.pick(null, null)).toBeNull();
    expect(balancer.healthy).toBe(false);
    balancer.peers[0]!.health.set(true);
    expect(balancer.pick(null, null)).not.toBeNull();
  });
});
