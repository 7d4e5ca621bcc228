// rate-limiting `policy: cluster` across processes: two `gateway serve --workers 1` processes on
// one SQLite file share one limit exactly (N allowed across both, not 2N).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { openCore } from "../src/gateway.ts";
import { tempDir } from "./support/gateway.ts";
import { type TestUpstream, startUpstream } from "./support/upstream.ts";

const MAIN = join(import.meta.dir, "..", "src", "main.ts");
const LIMIT = 25;

interface Served {
  child: ReturnType<typeof Bun.spawn>;
  url: string;
}

async function serve(db: string): Promise<Served> {
  const child = Bun.spawn([process.execPath, MAIN, "serve", "--db", db, "--workers", "1", "--proxy-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--access-log", "off"], {
    stdout: "ignore",
    stderr: "pipe",
  });
  const reader = child.stderr.getReader();
  let text = "";
  while (!/proxy: (\S+:\d+)/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`serve exited: ${text}`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  const address = /proxy: (\S+:\d+)/.exec(text)![1]!;
  return { child, url: address.startsWith("http") ? address : `http://${address}` };
}

let dir: string;
let upstream: TestUpstream;
let gateways: Served[] = [];

beforeAll(async () => {
  dir = tempDir();
  upstream = startUpstream();
  const db = join(dir, "gateway.db");
  const core = openCore({ db });
  core.store.create("services", { name: "echo", url: upstream.url });
  const route = core.store.create("routes", { name: "api", service: { name: "echo" }, paths: ["/api"] });
  core.store.create("plugins", { name: "rate-limiting", config: { day: LIMIT, policy: "cluster" }, route: { id: route.id } });
  core.opened.sqlite.close();
  gateways = await Promise.all([serve(db), serve(db)]);
});

afterAll(async () => {
  for (const { child } of gateways) child.kill("SIGTERM");
  await Promise.all(gateways.map(({ child }) => child.exited));
  await upstream.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function get(which: number): Promise<{ status: number; remaining: string | null }> {
  const response = await fetch(`${gateways[which]!.url}/api`);
  await response.arrayBuffer();
  return { status: response.status, remaining: response.headers.get("x-ratelimit-remaining-day") };
}

test(`two processes on one database file allow ${LIMIT} requests between them, not ${2 * LIMIT}`, async () => {
  // In turn first, so each count is seen by the other process: the second one carries on
  // where the first stopped instead of starting its own.
  for (let i = 0; i < 5; i++) expect(await get(0)).toEqual({ status: 200, remaining: String(LIMIT - 1 - i) });
  for (let i = 5; i < 10; i++) expect(await get(1)).toEqual({ status: 200, remaining: String(LIMIT - 1 - i) });
  // Then both at once, interleaved, so their counter transactions contend for the file.
  const statuses = await Promise.all(Array.from({ length: 2 * LIMIT - 10 }, async (_, i) => (await get(i % 2)).status));
  expect(statuses.filter((status) => status === 200).length).toBe(LIMIT - 10);
  expect(statuses.filter((status) => status === 429).length).toBe(LIMIT);
}, 20_000);
