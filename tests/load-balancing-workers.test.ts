// Load balancing under `serve --workers 2` (the compiled binary): each worker keeps its own
// health, as Kong's workers do; the admin API's health endpoint and /metrics show each worker's
// view, and the manual override reaches every worker before it is answered.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { type ServeProcess, ensureBinary, spawnServe } from "./support/binary.ts";
import { tempDir } from "./support/gateway.ts";
import { type TestUpstream, startUpstream } from "./support/upstream.ts";

let gateway: ServeProcess;
let live: TestUpstream;
let dead = "";

beforeAll(async () => {
  const binary = await ensureBinary();
  live = startUpstream(() => new Response("live"));
  const closed = startUpstream();
  dead = `127.0.0.1:${closed.port}`;
  await closed.stop();
  const dir = tempDir("gateway-lb-workers-");
  gateway = await spawnServe(binary, ["--workers", "2", "--db", join(dir, "gateway.db"), "--access-log", "off"], { cwd: dir });
  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${gateway.adminUrl}${path}`, { method, headers: { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  expect((await admin("POST", "/upstreams", { name: "u.upstream", healthchecks: { passive: { unhealthy: { tcp_failures: 1 } } } })).status).toBe(201);
  for (const target of [`127.0.0.1:${live.port}`, dead]) expect((await admin("POST", "/upstreams/u.upstream/targets", { target })).status).toBe(201);
  expect((await admin("POST", "/services", { name: "u", host: "u.upstream" })).status).toBe(201);
  expect((await admin("POST", "/services/u/routes", { paths: ["/lb"] })).status).toBe(201);
}, 120_000);

afterAll(async () => {
  await gateway?.stop();
  await live?.stop();
});

interface Health {
  target: string;
  health: string;
  data: { workers: Record<string, string> };
}

async function health(): Promise<Record<string, Health>> {
  const body = (await (await fetch(`${gateway.adminUrl}/upstreams/u.upstream/health`)).json()) as { data: Health[] };
  return Object.fromEntries(body.data.map((entry) => [entry.target, entry]));
}

test("each worker takes the dead target out after its own failure; no request is lost; health and /metrics show both workers' views", async () => {
  // New connections spread over both workers (SO_REUSEPORT).
  const statuses = await Promise.all(Array.from({ length: 60 }, () => fetch(`${gateway.proxyUrl}/lb`, { headers: { connection: "close" } }).then(async (r) => (await r.text(), r.status))));
  expect(statuses.every((status) => status === 200)).toBe(true);
  const seen = await health();
  expect(seen[dead]!.health).toBe("UNHEALTHY");
  expect(seen[dead]!.data.workers).toEqual({ "1": "UNHEALTHY", "2": "UNHEALTHY" });
  expect(seen[`127.0.0.1:${live.port}`]!.data.workers).toEqual({ "1": "HEALTHY", "2": "HEALTHY" });
  const metrics = await (await fetch(`${gateway.adminUrl}/metrics`)).text();
  for (const worker of ["1", "2"]) {
    expect(metrics).toContain(`kong_upstream_target_health{worker="${worker}",upstream="u.upstream",target="${dead}",address="${dead}",state="unhealthy",subsystem="http"} 1`);
  }
});

test("PUT .../healthy reaches every worker before it is answered", async () => {
  expect((await fetch(`${gateway.adminUrl}/upstreams/u.upstream/targets/${dead}/healthy`, { method: "PUT" })).status).toBe(204);
  expect((await health())[dead]!.data.workers).toEqual({ "1": "HEALTHY", "2": "HEALTHY" });
});
