// The compiled executable as a user runs it: copied into an empty directory far from the
// source tree, started on a fresh database and on a declarative file, proxying real traffic.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rssBytes } from "./support/rss.ts";
import { copyFileSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureBinary, spawnServe, type ServeProcess } from "./support/binary.ts";
import { tempDir } from "./support/gateway.ts";
import { type TestUpstream, startUpstream } from "./support/upstream.ts";

let binary = "";
let upstream: TestUpstream;
const running: ServeProcess[] = [];

beforeAll(async () => {
  const built = await ensureBinary();
  const dir = tempDir("gateway-e2e-bin-");
  binary = join(dir, "gateway");
  copyFileSync(built, binary);
  upstream = startUpstream(async (request) => {
    const url = new URL(request.url);
    if (url.pathname.endsWith("/slow")) await Bun.sleep(600);
    return Response.json({ path: url.pathname, host: request.headers.get("host") });
  });
});
afterAll(async () => {
  for (const serve of running) await serve.stop("SIGKILL");
  await upstream.stop();
});

async function serve(args: string[], cwd = tempDir("gateway-e2e-run-")): Promise<ServeProcess> {
  const started = await spawnServe(binary, args, { cwd });
  running.push(started);
  return started;
}

const declarative = (prefix: string) => `
_format_version: "3.0"
services:
  - name: echo
    url: ${"UPSTREAM"}
    routes:
      - name: main
        paths: [${prefix}]
`;

describe("database mode", () => {
  test("fresh database in an empty directory: configure over the admin API, proxy through it", async () => {
    const cwd = tempDir("gateway-e2e-db-");
    const gw = await serve([], cwd);
    expect(existsSync(join(cwd, "gateway.db"))).toBe(true);
    const post = (path: string, body: unknown) =>
      fetch(gw.adminUrl + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    expect((await post("/services", { name: "echo", url: upstream.url })).status).toBe(201);
    expect((await post("/services/echo/routes", { name: "r", paths: ["/api"] })).status).toBe(201);
    const res = await fetch(`${gw.proxyUrl}/api/hello`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ path: "/hello", host: `127.0.0.1:${upstream.port}` });
    expect(await gw.stop()).toBe(0);
  });

  test("SIGHUP rebuilds from the database and the gateway keeps serving (one process and --workers 2)", async () => {
    for (const workers of ["1", "2"]) {
      const gw = await serve(["--workers", workers]);
      const post = (path: string, body: unknown) =>
        fetch(gw.adminUrl + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      expect((await post("/services", { name: "echo", url: upstream.url })).status).toBe(201);
      expect((await post("/services/echo/routes", { name: "r", paths: ["/api"] })).status).toBe(201);
      gw.process.kill("SIGHUP");
      await Bun.sleep(300);
      expect(gw.process.exitCode).toBeNull();
      expect((await fetch(`${gw.proxyUrl}/api/x`)).status).toBe(200);
      expect(await gw.stop()).toBe(0);
    }
  });

  test("a stranger's .env and bunfig.toml in the working directory are ignored", async () => {
    const cwd = tempDir("gateway-e2e-stranger-");
    writeFileSync(join(cwd, ".env"), "GATEWAY_DB=stolen.db\nGATEWAY_ACCESS_LOG=stolen.log\n");
    writeFileSync(join(cwd, "evil.ts"), `require("node:fs").writeFileSync(${JSON.stringify(join(cwd, "preloaded"))}, "x");`);
    writeFileSync(join(cwd, "bunfig.toml"), 'preload = ["./evil.ts"]\n');
    const gw = await serve([], cwd);
    expect(existsSync(join(cwd, "gateway.db"))).toBe(true);
    expect(existsSync(join(cwd, "stolen.db"))).toBe(false);
    expect(existsSync(join(cwd, "preloaded"))).toBe(false);
    await gw.stop();
    expect(existsSync(join(cwd, "stolen.log"))).toBe(false);
  });
});

describe("declarative mode", () => {
  test("serves the file, reloads on SIGHUP, keeps the old state when the new file is bad", async () => {
    const cwd = tempDir("gateway-e2e-decl-");
    const file = join(cwd, "kong.yml");
    writeFileSync(file, declarative("/one").replace("UPSTREAM", upstream.url));
    const gw = await serve(["--config", file], cwd);
    expect((await fetch(`${gw.proxyUrl}/one/x`)).status).toBe(200);
    const write = await fetch(`${gw.adminUrl}/services`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(write.status).toBe(405);

    writeFileSync(file, declarative("/two").replace("UPSTREAM", upstream.url));
    gw.process.kill("SIGHUP");
    await waitFor(async () => (await fetch(`${gw.proxyUrl}/two/x`)).status === 200);
    expect((await fetch(`${gw.proxyUrl}/one/x`)).status).toBe(404);

    writeFileSync(file, `${declarative("/three").replace("UPSTREAM", upstream.url)}\n        colour: blue\n`);
    gw.process.kill("SIGHUP");
    await waitFor(() => gw.stderr().includes("previous configuration kept"));
    expect(gw.stderr()).toContain("colour: unknown field");
    expect((await fetch(`${gw.proxyUrl}/two/x`)).status).toBe(200);
    expect(await gw.stop()).toBe(0);
  });

  test("a bad file at start: exit 1 with one line naming the problem", async () => {
    const cwd = tempDir("gateway-e2e-bad-");
    writeFileSync(join(cwd, "kong.yml"), `_format_version: "3.0"\nservices:\n  - name: s\n    url: nope\n`);
    const child = Bun.spawn([binary, "serve", "--config", "kong.yml", "--proxy-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"], { cwd, stderr: "pipe" });
    expect(await child.exited).toBe(1);
    const stderr = await new Response(child.stderr).text();
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toContain("services[0]");
    expect(stderr).toContain("url: not a valid URL");
  });
});

describe("process behaviour", () => {
  test("SIGTERM lets an in-flight request finish, then exits 0", async () => {
    const cwd = tempDir("gateway-e2e-term-");
    const file = join(cwd, "kong.yml");
    writeFileSync(file, declarative("/").replace("UPSTREAM", upstream.url));
    const gw = await serve(["--config", file], cwd);
    const inFlight = fetch(`${gw.proxyUrl}/slow`);
    await Bun.sleep(100);
    gw.process.kill("SIGTERM");
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ path: "/slow", host: `127.0.0.1:${upstream.port}` });
    // The upstream connection, idle in the pool now, must not hold the process open.
    const answered = performance.now();
    expect(await gw.process.exited).toBe(0);
    expect(performance.now() - answered).toBeLessThan(1500);
    await expect(fetch(`${gw.proxyUrl}/after`)).rejects.toThrow();
  });

  test("idle memory of its own (RSS without the executable's file pages) under 50 MB after serving (cold-start time is measured by bench/coldstart.ts)", async () => {
    const cwd = tempDir("gateway-e2e-idle-");
    const file = join(cwd, "kong.yml");
    writeFileSync(file, declarative("/").replace("UPSTREAM", upstream.url));
    const gw = await serve(["--config", file, "--access-log", "off"], cwd);
    expect((await fetch(`${gw.proxyUrl}/first`)).status).toBe(200);
    await Bun.sleep(300);
    const rss = rssBytes(gw.process.pid);
    expect(rss).toBeLessThan(50 * 1024 * 1024);
    await gw.stop();
  });
});

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(20);
  }
}
