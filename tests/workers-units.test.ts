// The parts of `serve --workers N` that need no compiled binary: the worker count, the metrics
// sum, the access log's worker field, and the supervisor's start and restart rules against
// scripted stand-in workers.
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Metrics, renderMetrics } from "../src/metrics.ts";
import { openAccessLog } from "../src/proxy/access-log.ts";
import { cgroupCpuLimit, workerCount } from "../src/workers/count.ts";
import { selfInvocation } from "../src/workers/ipc.ts";
import { Supervisor } from "../src/workers/supervisor.ts";
import { tempDir } from "./support/gateway.ts";

const dir = tempDir("gateway-workers-units-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("--workers", () => {
  test.each([
    ["auto", "linux", 6, 6],
    ["auto", "darwin", 6, 1],
    ["auto", "win32", 6, 1],
    ["3", "linux", 1, 3],
    ["1", "darwin", 6, 1],
  ] as const)("%s on %s with %d cores → %d", (text, platform, cores, expected) => {
    expect(workerCount(text, platform, () => cores)).toBe(expected);
  });

  test("more than one worker off Linux is refused, naming SO_REUSEPORT", () => {
    expect(() => workerCount("2", "darwin")).toThrow("--workers 2: workers share the proxy port through SO_REUSEPORT, which only Linux balances across processes; on darwin the gateway runs one process (--workers 1)");
  });

  test.each(["0", "-1", "1.5", "many", "257", ""])("'%s' is a usage error", (text) => {
    expect(() => workerCount(text, "linux")).toThrow(`--workers ${text}: expected auto or a whole number from 1 to 256`);
  });

  test("a container's CPU quota caps auto (cgroup v2 and v1)", () => {
    const files = (entries: Record<string, string>) => (path: string) => entries[path];
    expect(cgroupCpuLimit(files({ "/sys/fs/cgroup/cpu.max": "150000 100000\n" }))).toBe(2);
    expect(cgroupCpuLimit(files({ "/sys/fs/cgroup/cpu.max": "max 100000\n" }))).toBeUndefined();
    expect(cgroupCpuLimit(files({ "/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "400000", "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000" }))).toBe(4);
    expect(cgroupCpuLimit(files({ "/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1", "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000" }))).toBeUndefined();
  });

  test("self-invocation: the compiled binary runs itself, source runs bun with main.ts", () => {
    expect(selfInvocation("/$bunfs/root/gateway")).toEqual([process.execPath]);
    expect(selfInvocation("B:/~BUN/root/gateway.exe")).toEqual([process.execPath]);
    expect(selfInvocation("/work/src/main.ts")).toEqual([process.execPath, join(import.meta.dir, "../src/main.ts")]);
  });
});

describe("metrics of several workers", () => {
  function worker(requests: number, latency: number): Metrics {
    const metrics = new Metrics();
    for (let i = 0; i < requests; i++) metrics.recordRequest("r", 200);
    metrics.recordRequest("r", 404);
    metrics.recordAuthFailure("jwt:missing");
    metrics.observeUpstreamLatency(latency);
    return metrics;
  }

  test("the sum adds counters and histogram buckets; one set renders exactly as before", () => {
    const total = new Metrics();
    total.add(worker(3, 2).snapshot());
    total.add(worker(5, 700).snapshot());
    const text = total.render(4);
    expect(text).toContain('gateway_http_requests_total{route="r",status="200"} 8\n');
    expect(text).toContain('gateway_http_requests_total{route="r",status="404"} 2\n');
    expect(text).toContain('gateway_auth_failures_total{reason="jwt:missing"} 2\n');
    expect(text).toContain('gateway_upstream_latency_ms_bucket{le="5"} 1\n');
    expect(text).toContain('gateway_upstream_latency_ms_bucket{le="1000"} 2\n');
    expect(text).toContain("gateway_upstream_latency_ms_sum 702\ngateway_upstream_latency_ms_count 2\n");
    expect(Metrics.from(total.snapshot()).render(4)).toBe(text);
  });

  test("per worker: one labelled set each, under one TYPE line per metric", () => {
    const text = renderMetrics([{ label: 'worker="1"', metrics: worker(1, 1) }, { label: 'worker="2"', metrics: worker(2, 1) }], 1);
    expect(text.match(/# TYPE gateway_http_requests_total counter/g)).toHaveLength(1);
    expect(text).toContain('gateway_http_requests_total{worker="1",route="r",status="200"} 1\n');
    expect(text).toContain('gateway_http_requests_total{worker="2",route="r",status="200"} 2\n');
    expect(text).toContain('gateway_upstream_latency_ms_bucket{worker="2",le="+Inf"} 1\n');
    expect(text).toContain('gateway_upstream_latency_ms_count{worker="2"} 1\n');
  });
});

describe("access log of a worker", () => {
  const entry = { time: "t", request_id: "id", method: "GET", path: "/", status: 200, route: null, service: null, consumer: null, client_ip: "127.0.0.1", upstream_latency_ms: null, proxy_latency_ms: 0, total_latency_ms: 1 };

  test("request and event lines carry the worker; a single process's do not", () => {
    const file = join(dir, "access.log");
    const log = openAccessLog(file, { worker: 2 });
    log.write(entry);
    log.event({ level: "info", message: "x" });
    log.close();
    const single = openAccessLog(file);
    single.write(entry);
    single.close();
    const lines = readFileSync(file, "utf8").trim().split("\n").map((line) => JSON.parse(line));
    expect(lines[0]).toEqual({ ...entry, worker: 2 });
    expect(lines[1]).toMatchObject({ worker: 2, level: "info", message: "x" });
    expect(lines[2]).toEqual(entry);
  });

  test("stdout batches go to the given sink, whole lines only", () => {
    const batches: string[] = [];
    const log = openAccessLog("stdout", { worker: 1, stdout: (text) => batches.push(text) });
    for (let i = 0; i < 3; i++) log.write(entry);
    log.flush();
    expect(batches).toHaveLength(1);
    expect(batches[0]!.endsWith("\n")).toBe(true);
    expect(batches[0]!.trim().split("\n").map((line) => JSON.parse(line).worker)).toEqual([1, 1, 1]);
  });
});

describe("supervisor with stand-in workers", () => {
  /** A script speaking the worker side of the IPC protocol as told by `behaviour`. */
  function standIn(behaviour: string): string[] {
    const file = join(dir, `worker-${Bun.hash(behaviour).toString(16)}.ts`);
    writeFileSync(
      file,
      `const report = { metrics: { requests: [["r", 200, 1]], authFailures: [], latency: { buckets: [], count: 0, sum: 0 } }, configVersion: 1, configDigest: "d", inFlight: 0, rssBytes: 1 };
process.on("message", (m) => {
  if (m.type === "collect") process.send({ type: "report", seq: m.seq, report });
  if (m.type === "init") { ${behaviour} }
});
process.on("SIGTERM", () => process.exit(0));
`,
    );
    // The stand-in ignores the "serve --worker-process N" arguments the supervisor appends.
    return [process.execPath, file];
  }
  const log = { enabled: false, write() {}, event() {}, flush() {}, close() {} };
  const events: Record<string, unknown>[] = [];
  const recordingLog = { ...log, event: (fields: Record<string, unknown>) => void events.push(fields) };
  const setup = { db: ":memory:", proxyListen: { hostname: "127.0.0.1", port: 1 }, accessLog: "off", drainMs: 0, lingerMs: 0, upstreamMaxConnections: 1 };

  test("a worker that cannot start fails the start with its reason", async () => {
    const supervisor = new Supervisor({ count: 2, setup, log, stdout() {}, command: standIn(`process.send({ type: "failed", reason: "proxy listener 127.0.0.1:1: permission denied" }, undefined, {}, () => process.exit(1));`) });
    await expect(supervisor.start()).rejects.toThrow(/^worker [12]: proxy listener 127.0.0.1:1: permission denied$/);
  });

  test("a worker that dies before it is ready fails the start with its exit", async () => {
    const supervisor = new Supervisor({ count: 1, setup, log, stdout() {}, command: standIn("process.exit(3);") });
    await expect(supervisor.start()).rejects.toThrow("worker 1: exited with code 3 before it was ready");
  });

  test("a killed worker is restarted after a short backoff and its counts are kept", async () => {
    const supervisor = new Supervisor({ count: 2, setup, log: recordingLog, stdout() {}, command: standIn(`process.send({ type: "ready", port: 1 });`) });
    await supervisor.start();
    const [first] = supervisor.pids();
    expect((await supervisor.metrics()).map(({ worker, metrics }) => [worker, metrics.requestCount("r", 200)])).toEqual([["1", 1], ["2", 1], ["exited", 0]]);
    process.kill(first!, "SIGKILL");
    const deadline = Date.now() + 3000;
    let status = await supervisor.status();
    while (!(status[0]!.state === "running" && status[0]!.pid !== first) && Date.now() < deadline) {
      await Bun.sleep(20);
      status = await supervisor.status();
    }
    expect(status[0]).toMatchObject({ id: 1, state: "running", restarts: 1, last_exit: "killed by SIGKILL" });
    expect(status[1]).toMatchObject({ id: 2, state: "running", restarts: 0 });
    expect(events.find((event) => event.message === "worker exited; restarting it")).toMatchObject({ worker: 1, pid: first, exit: "killed by SIGKILL", restart_in_ms: 100 });
    // The dead process's last report is kept: totals never go down.
    const sets = await supervisor.metrics();
    expect(sets.reduce((sum, { metrics }) => sum + metrics.requestCount("r", 200), 0)).toBe(3);
    await supervisor.stop(1000);
    expect(supervisor.pids()).toEqual([]);
  });

  test("a worker that keeps dying is restarted ever later", async () => {
    const supervisor = new Supervisor({ count: 1, setup, log: recordingLog, stdout() {}, command: standIn(`process.send({ type: "ready", port: 1 }); setTimeout(() => process.exit(1), 20);`) });
    events.length = 0;
    await supervisor.start();
    const restarts = () => events.filter((event) => event.message === "worker exited; restarting it");
    // 100 + 200 + 400 ms of backoff plus four process starts: waited for, not timed (a loaded host starts processes slowly).
    const deadline = Date.now() + 10_000;
    while (restarts().length < 4 && Date.now() < deadline) await Bun.sleep(20);
    await supervisor.stop(0);
    expect(restarts().slice(0, 4).map((event) => event.restart_in_ms)).toEqual([100, 200, 400, 800]);
  });
});
