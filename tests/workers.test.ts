// `gateway serve --workers 2` on the compiled binary, as one gateway from outside: requests
// spread over both workers, every change reaches both within a second, /metrics counts every
// request once, the access log has whole lines with the worker, a kill -9 costs only the
// requests in flight on that worker, and SIGTERM under load loses no request that had started.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { type Socket, createConnection } from "node:net";
import { join } from "node:path";
import { type ServeProcess, ensureBinary, runCli, spawnServe } from "./support/binary.ts";
import { tempDir } from "./support/gateway.ts";
import { LoopingClient } from "./support/looping-client.ts";
import { type TestUpstream, startUpstream } from "./support/upstream.ts";

let binary = "";
let upstream: TestUpstream;
const running: ServeProcess[] = [];

beforeAll(async () => {
  const built = await ensureBinary();
  binary = join(tempDir("gateway-workers-bin-"), "gateway");
  copyFileSync(built, binary);
  upstream = startUpstream(async (request) => {
    const url = new URL(request.url);
    if (url.pathname.endsWith("/slow")) await Bun.sleep(800);
    return Response.json({ path: url.pathname });
  });
}, 120_000);

afterAll(async () => {
  for (const gateway of running) await gateway.stop("SIGKILL");
  await upstream.stop();
});

function kongYml(path: string): string {
  return `_format_version: "3.0"\nservices:\n  - name: up\n    url: ${upstream.url}\n    routes:\n      - name: main\n        paths: ["${path}"]\n`;
}

async function serve(args: string[], cwd: string): Promise<ServeProcess> {
  const gateway = await spawnServe(binary, ["--workers", "2", ...args], { cwd });
  running.push(gateway);
  return gateway;
}

interface WorkerStatus {
  id: number;
  pid: number;
  state: string;
  restarts: number;
  last_exit: string | null;
  config_digest: string;
}

async function status(gateway: ServeProcess): Promise<{ status: string; config_digest: string; workers: WorkerStatus[] }> {
  return (await fetch(`${gateway.adminUrl}/status`)).json() as Promise<{ status: string; config_digest: string; workers: WorkerStatus[] }>;
}

/** `gateway_http_requests_total` by worker (`per_worker=1`) or summed (worker ""), for one route and status. */
async function requestCounts(gateway: ServeProcess, route: string, code: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const perWorker of [false, true]) {
    const text = await (await fetch(`${gateway.adminUrl}/metrics${perWorker ? "?per_worker=1" : ""}`)).text();
    for (const match of text.matchAll(/^gateway_http_requests_total\{(?:worker="([^"]+)",)?route="([^"]*)",status="(\d+)"\} (\d+)$/gm)) {
      if (match[2] === route && Number(match[3]) === code) counts[match[1] ?? ""] = Number(match[4]);
    }
  }
  return counts;
}

/** A request on a connection of its own, so the kernel picks a worker for each. */
function freshRequest(url: string): Promise<number> {
  return fetch(url, { headers: { connection: "close" } }).then(async (response) => {
    await response.arrayBuffer();
    return response.status;
  });
}

async function inParallel<T>(count: number, concurrency: number, run: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await run(i);
      }
    }),
  );
  return results;
}

async function waitFor<T>(check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await Bun.sleep(10);
  }
}

/** Milliseconds until every worker reports the supervisor's configuration digest, once that is no longer `previous`. */
async function timeUntilAllWorkersAgree(gateway: ServeProcess, since: number, previous?: string): Promise<number> {
  return waitFor(async () => {
    const { config_digest, workers } = await status(gateway);
    if (config_digest === previous) return undefined;
    return workers.length === 2 && workers.every((worker) => worker.state === "running" && worker.config_digest === config_digest) ? performance.now() - since : undefined;
  }, 3000);
}

describe("declarative mode", () => {
  let dir: string;
  let gateway: ServeProcess;
  const logFile = () => join(dir, "access.log");

  beforeAll(async () => {
    dir = tempDir("gateway-workers-decl-");
    writeFileSync(join(dir, "kong.yml"), kongYml("/a"));
    gateway = await serve(["--config", join(dir, "kong.yml"), "--access-log", logFile()], dir);
  });

  test("requests spread over both workers; /metrics counts each once; the access log has whole lines with the worker", async () => {
    const sent = 600;
    const codes = await inParallel(sent, 12, (i) => (i % 3 === 0 ? freshRequest(`${gateway.proxyUrl}/a/${i}`) : fetch(`${gateway.proxyUrl}/a/${i}`).then((r) => r.arrayBuffer().then(() => r.status))));
    expect(codes.filter((code) => code === 200)).toHaveLength(sent);

    const counts = await requestCounts(gateway, "main", 200);
    expect(counts[""]).toBe(sent);
    expect(counts["1"]! + counts["2"]!).toBe(sent);
    expect(counts["1"]).toBeGreaterThan(0);
    expect(counts["2"]).toBeGreaterThan(0);

    // Both workers append to the one file; each batch is one O_APPEND write of whole lines.
    const lines = await waitFor(async () => {
      const all = readFileSync(logFile(), "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line));
      const requests = all.filter((line) => line.request_id);
      return requests.length >= sent ? requests : undefined;
    }, 2000);
    expect(lines).toHaveLength(sent);
    expect(lines.filter((line) => line.worker === 1)).toHaveLength(counts["1"]!);
    expect(lines.filter((line) => line.worker === 2)).toHaveLength(counts["2"]!);
  });

  test("POST /config is served by both workers within 1 s; /status shows each with the supervisor's digest", async () => {
    const before = await status(gateway);
    expect(before.status).toBe("ok");
    expect(before.workers.map((worker) => worker.config_digest)).toEqual([before.config_digest, before.config_digest]);

    const posted = performance.now();
    const response = await fetch(`${gateway.adminUrl}/config`, { method: "POST", headers: { "content-type": "application/yaml" }, body: kongYml("/posted") });
    expect(response.status).toBe(201);
    // Answered once both workers serve it: the very next requests, on either worker, see it.
    expect(new Set(await inParallel(20, 4, () => freshRequest(`${gateway.proxyUrl}/posted`)))).toEqual(new Set([200]));
    expect(await timeUntilAllWorkersAgree(gateway, posted)).toBeLessThan(1000);
    const after = await status(gateway);
    expect(after.config_digest).not.toBe(before.config_digest);

    const codes = await inParallel(60, 6, () => freshRequest(`${gateway.proxyUrl}/posted`));
    expect(new Set(codes)).toEqual(new Set([200]));
    const counts = await requestCounts(gateway, "main", 200);
    expect(Object.keys(counts).sort()).toEqual(["", "1", "2"]);
    expect(await freshRequest(`${gateway.proxyUrl}/a/x`)).toBe(404);
  });

  test("SIGHUP reloads the file into every worker", async () => {
    writeFileSync(join(dir, "kong.yml"), kongYml("/hup"));
    const previous = (await status(gateway)).config_digest;
    const signalled = performance.now();
    gateway.process.kill("SIGHUP");
    expect(await timeUntilAllWorkersAgree(gateway, signalled, previous)).toBeLessThan(1000);
    await waitFor(async () => ((await freshRequest(`${gateway.proxyUrl}/hup`)) === 200 ? true : undefined), 1000);
    const codes = await inParallel(40, 4, () => freshRequest(`${gateway.proxyUrl}/hup`));
    expect(new Set(codes)).toEqual(new Set([200]));
  });

  test("kill -9 of a worker under load: restarted, the other keeps serving, failures only among requests in flight on it", async () => {
    const victim = (await status(gateway)).workers[0]!;
    const port = Number(new URL(gateway.proxyUrl).port);
    const countsBefore = await requestCounts(gateway, "main", 200);
    const clients = Array.from({ length: 16 }, () => new ReconnectingClient(port, "/hup/load"));
    await Bun.sleep(400);
    // The victim is taking its share of the load when it dies.
    expect((await requestCounts(gateway, "main", 200))["1"] ?? 0).toBeGreaterThan((countsBefore["1"] ?? 0) + 100);
    const killedAt = performance.now();
    process.kill(victim.pid, "SIGKILL");
    const restarted = await waitFor(async () => {
      const worker = (await status(gateway)).workers[0]!;
      return worker.state === "running" && worker.pid !== victim.pid ? worker : undefined;
    }, 3000);
    const restartMs = performance.now() - killedAt;
    await Bun.sleep(500);
    for (const client of clients) client.stop();

    expect(restarted).toMatchObject({ id: 1, restarts: victim.restarts + 1, last_exit: "killed by SIGKILL" });
    expect(restartMs).toBeLessThan(1500);
    const cuts = clients.flatMap((client) => client.cuts);
    const failed = clients.flatMap((client) => client.failures);
    const answered = clients.reduce((sum, client) => sum + client.answered.length, 0);
    const answeredAfter = clients.reduce((sum, client) => sum + client.answered.filter((at) => at > killedAt + 200).length, 0);
    console.log(
      `kill -9 under load: ${answered} answered, ${cuts.length} of 16 connections were on the killed worker and were cut, ${failed.length} requests in flight on them failed; restarted in ${Math.round(restartMs)} ms`,
    );
    // Only the victim's connections were cut, each losing at most the one request it was waiting for.
    expect(cuts.length).toBeGreaterThan(0);
    expect(cuts.length).toBeLessThan(16);
    expect(failed.length).toBeLessThanOrEqual(cuts.length);
    for (const at of [...cuts, ...failed]) expect(at - killedAt).toBeLessThan(200);
    expect(answeredAfter).toBeGreaterThan(100);
    // The sum keeps what the dead process had reported (once a second): at most its last second is missing.
    const counted = (await requestCounts(gateway, "main", 200))[""]! - countsBefore[""]!;
    const lastSecond = clients.reduce((sum, client) => sum + client.answered.filter((at) => at > killedAt - 1100 && at <= killedAt).length, 0);
    console.log(`  /metrics counted ${counted} of ${answered} answered requests (${lastSecond} answered in the second before the kill, of which the victim's since its last report are lost)`);
    // (plus at most one per client: the request each had in flight when the load stopped).
    expect(counted).toBeLessThanOrEqual(answered + clients.length);
    expect(counted).toBeGreaterThanOrEqual(answered - lastSecond);
    // New connections reach the restarted worker again.
    const before = (await requestCounts(gateway, "main", 200))["1"] ?? 0;
    await inParallel(40, 4, () => freshRequest(`${gateway.proxyUrl}/hup`));
    expect((await requestCounts(gateway, "main", 200))["1"] ?? 0).toBeGreaterThan(before);
  }, 20_000);
});

describe("database mode", () => {
  test("admin API writes are served by both workers when answered, another process's write within 1 s, and their JWKS agree", async () => {
    const dir = tempDir("gateway-workers-db-");
    const dbPath = join(dir, "gateway.db");
    const gateway = await serve(["--db", dbPath, "--access-log", "off"], dir);
    const admin = (path: string, body: unknown) => fetch(`${gateway.adminUrl}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    expect((await admin("/services", { name: "up", url: upstream.url })).status).toBe(201);
    expect((await admin("/services/up/routes", { name: "main", paths: ["/db"] })).status).toBe(201);
    const codes = await inParallel(40, 4, () => freshRequest(`${gateway.proxyUrl}/db`));
    expect(new Set(codes)).toEqual(new Set([200]));
    expect(Object.keys(await requestCounts(gateway, "main", 200)).sort()).toEqual(["", "1", "2"]);

    // The CLI writes the file itself; the supervisor's poll and each worker's find it.
    const previous = (await status(gateway)).config_digest;
    const cli = await runCli(binary, ["route", "add", "--db", dbPath, "--service", "up", "--name", "cli", "--path", "/cli"], { cwd: dir });
    expect(cli.code).toBe(0);
    const written = performance.now();
    expect(await timeUntilAllWorkersAgree(gateway, written, previous)).toBeLessThan(1000);
    expect(new Set(await inParallel(20, 4, () => freshRequest(`${gateway.proxyUrl}/cli`)))).toEqual(new Set([200]));

    expect((await admin("/keys", { alg: "ES256", kid: "k1" })).status).toBe(201);
    const documents = new Set(await inParallel(20, 4, async () => (await fetch(`${gateway.proxyUrl}/.well-known/jwks.json`, { headers: { connection: "close" } })).text()));
    expect(documents.size).toBe(1);
    expect(JSON.parse([...documents][0]!).keys.map((key: { kid: string }) => key.kid)).toEqual(["k1"]);
  });
});

/** Keep-alive GETs in a loop on raw sockets; a connection the gateway cuts is counted (with the request it was waiting for) and replaced. */
class ReconnectingClient {
  readonly answered: number[] = [];
  readonly cuts: number[] = [];
  readonly failures: number[] = [];
  private socket: Socket | undefined;
  private stopped = false;

  constructor(
    private readonly port: number,
    private readonly path: string,
  ) {
    this.connect();
  }

  private connect(): void {
    let buffer = "";
    let waiting = false;
    const socket = createConnection({ host: "127.0.0.1", port: this.port }, () => send());
    const send = () => {
      if (this.stopped) return;
      waiting = true;
      socket.write(`GET ${this.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    };
    this.socket = socket;
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      for (;;) {
        const headEnd = buffer.indexOf("\r\n\r\n");
        if (headEnd < 0) return;
        const length = Number(/content-length: (\d+)/i.exec(buffer.slice(0, headEnd))?.[1] ?? 0);
        if (buffer.length < headEnd + 4 + length) return;
        buffer = buffer.slice(headEnd + 4 + length);
        waiting = false;
        this.answered.push(performance.now());
        send();
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      if (this.stopped) return;
      this.cuts.push(performance.now());
      if (waiting) this.failures.push(performance.now());
      this.connect();
    });
  }

  stop(): void {
    this.stopped = true;
    this.socket?.destroy();
  }
}

describe("the executable replaced while it runs (an upgrade in place)", () => {
  test("a killed worker restarts from the build the supervisor runs, not from the new file", async () => {
    const dir = tempDir("gateway-workers-upgrade-");
    const own = join(dir, "gateway");
    copyFileSync(binary, own);
    writeFileSync(join(dir, "kong.yml"), kongYml("/u"));
    const gateway = await spawnServe(own, ["--workers", "2", "--config", join(dir, "kong.yml")], { cwd: dir });
    running.push(gateway);
    // As a package manager upgrades: a new file renamed over the old path (here a file that cannot run).
    writeFileSync(join(dir, "gateway.new"), "#!/bin/sh\nexit 3\n", { mode: 0o755 });
    renameSync(join(dir, "gateway.new"), own);
    const victim = (await status(gateway)).workers[0]!;
    process.kill(victim.pid, "SIGKILL");
    const restarted = await waitFor(async () => {
      const worker = (await status(gateway)).workers[0]!;
      return worker.state === "running" && worker.pid !== victim.pid ? worker : undefined;
    }, 5000);
    expect(restarted).toMatchObject({ id: 1, restarts: victim.restarts + 1, last_exit: "killed by SIGKILL" });
    const answers = await inParallel(40, 4, () => freshRequest(`${gateway.proxyUrl}/u`));
    expect(answers.filter((code) => code === 200)).toHaveLength(40);
    expect(await requestCounts(gateway, "main", 200)).toMatchObject({ "": 40 });
  }, 20_000);
});

describe("stdout access log and SIGTERM", () => {
  test("log lines of both workers reach stdout whole; SIGTERM under load: the slow request finishes, none is lost, exit 0", async () => {
    const dir = tempDir("gateway-workers-term-");
    writeFileSync(join(dir, "kong.yml"), kongYml("/"));
    const child = Bun.spawn([binary, "serve", "--workers", "2", "--config", join(dir, "kong.yml"), "--proxy-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--drain-timeout", "5"], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? "", HOME: dir },
      stdout: "pipe",
      stderr: "pipe",
    });
    const stdout = new Response(child.stdout).text();
    let stderr = "";
    const reader = child.stderr.getReader();
    const decoder = new TextDecoder();
    void (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        stderr += decoder.decode(value);
      }
    })();
    try {
      await waitFor(async () => (/admin: http/.test(stderr) ? true : undefined), 10_000);
      const port = Number(/proxy: http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr)![1]);
      const clients = Array.from({ length: 24 }, () => new LoopingClient(port, "/fast"));
      const slow = fetch(`http://127.0.0.1:${port}/slow`).then((response) => response.status, (error) => `failed: ${error}`);
      await Bun.sleep(500);
      const answeredBefore = clients.reduce((sum, client) => sum + client.answered, 0);
      expect(answeredBefore).toBeGreaterThan(100);

      const signalled = performance.now();
      child.kill("SIGTERM");
      const code = await child.exited;
      const exitMs = performance.now() - signalled;
      for (const client of clients) client.stop();

      console.log(`SIGTERM under load: exit ${code} after ${Math.round(exitMs)} ms, ${clients.reduce((sum, client) => sum + client.lost, 0)} requests lost`);
      expect(code).toBe(0);
      expect(await slow).toBe(200);
      expect(exitMs).toBeLessThan(5000 + 1000);
      expect({ lost: clients.reduce((sum, client) => sum + client.lost, 0) }).toEqual({ lost: 0 });

      const lines = (await stdout).split("\n").filter(Boolean).map((line) => JSON.parse(line));
      const requestLines = lines.filter((line) => line.request_id);
      expect(requestLines.length).toBe(clients.reduce((sum, client) => sum + client.answered, 0) + 1);
      expect(new Set(requestLines.map((line) => line.worker))).toEqual(new Set([1, 2]));
      expect(lines.filter((line) => line.message === "SIGTERM: draining in-flight requests")).toHaveLength(1);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  }, 30_000);
});
