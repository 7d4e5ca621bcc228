// SIGTERM under load, on the compiled binary: many keep-alive connections, some sending their
// next request the moment an answer arrives, one request stuck on a slow upstream. No request
// written on an open connection after the signal may go unanswered, and the process exits 0
// within the drain timeout plus one second although the upstream never answers.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ServeProcess, ensureBinary, spawnServe } from "../support/binary.ts";
import { LoopingClient } from "../support/looping-client.ts";

const DRAIN_SECONDS = 2;
const CONNECTIONS = 24;

let dir: string;
let upstream: ReturnType<typeof Bun.serve>;
let gateway: ServeProcess;
const stuck: (() => void)[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "gateway-drain-"));
  upstream = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      if (new URL(request.url).pathname === "/slow") return new Promise<Response>((resolve) => stuck.push(() => resolve(new Response("late"))));
      return new Response("ok");
    },
  });
  writeFileSync(
    join(dir, "kong.yml"),
    `_format_version: "3.0"\nservices:\n  - name: up\n    url: http://127.0.0.1:${upstream.port}\n    read_timeout: 60000\n    routes:\n      - name: all\n        paths: ["/"]\n`,
  );
  gateway = await spawnServe(await ensureBinary(), ["--config", join(dir, "kong.yml"), "--drain-timeout", String(DRAIN_SECONDS), "--access-log", "off"], { cwd: dir });
}, 120_000);

afterAll(async () => {
  await gateway?.stop("SIGKILL");
  for (const release of stuck) release();
  await upstream?.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

test(`SIGTERM under load: no request lost on open connections, the slow request cut, exit 0 within ${DRAIN_SECONDS} s + 1 s`, async () => {
  const port = Number(new URL(gateway.proxyUrl).port);
  // Half send again at once (a load generator), half pause as interactive clients do.
  const clients = Array.from({ length: CONNECTIONS }, (_, i) => new LoopingClient(port, "/fast", i % 2 === 0 ? 0 : 15));
  const slow = fetch(`${gateway.proxyUrl}/slow`).then(
    (response) => response.status,
    () => "cut",
  );
  await Bun.sleep(500);
  const before = clients.reduce((sum, client) => sum + client.answered, 0);
  expect(before).toBeGreaterThan(100);

  const signalledAt = performance.now();
  gateway.process.kill("SIGTERM");
  const code = await gateway.process.exited;
  const exitedAfterMs = performance.now() - signalledAt;
  for (const client of clients) client.stop();

  expect(code).toBe(0);
  expect(exitedAfterMs).toBeLessThan((DRAIN_SECONDS + 1) * 1000);
  // The slow request was in flight for the whole drain timeout, so the exit waited for it.
  expect(exitedAfterMs).toBeGreaterThan(DRAIN_SECONDS * 1000 - 200);
  expect(await slow).toBe("cut");
  const lost = clients.reduce((sum, client) => sum + client.lost, 0);
  const closing = clients.reduce((sum, client) => sum + client.closingAnswers, 0);
  expect({ lost }).toEqual({ lost: 0 });
  // Answers after the signal told their clients to go (Connection: close).
  expect(closing).toBeGreaterThan(0);
}, 30_000);
