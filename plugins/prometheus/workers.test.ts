// prometheus under `serve --workers 2` (compiled binary): each worker records its own kong_*
// series, /metrics sums them and per_worker=1 shows each worker's share.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type ServeProcess, ensureBinary, spawnServe } from "../../tests/support/binary.ts";
import { tempDir } from "../../tests/support/gateway.ts";
import { type TestUpstream, startUpstream } from "../../tests/support/upstream.ts";

let upstream: TestUpstream;
let gateway: ServeProcess;

beforeAll(async () => {
  const binary = join(tempDir("gateway-prometheus-bin-"), "gateway");
  copyFileSync(await ensureBinary(), binary);
  upstream = startUpstream(() => Response.json({ ok: true }));
  const dir = tempDir("gateway-prometheus-workers-");
  writeFileSync(
    join(dir, "kong.yml"),
    `_format_version: "3.0"\nservices:\n  - name: up\n    url: ${upstream.url}\n    routes:\n      - name: main\n        paths: ["/a"]\n        plugins:\n          - name: prometheus\n            config:\n              status_code_metrics: true\n`,
  );
  gateway = await spawnServe(binary, ["--workers", "2", "--config", join(dir, "kong.yml")], { cwd: dir });
}, 120_000);

afterAll(async () => {
  await gateway?.stop("SIGKILL");
  await upstream?.stop();
});

const SERIES = /^kong_http_requests_total\{(?:worker="([^"]+)",)?service="up",route="main",code="200",source="service",workspace="default",consumer=""\} (\d+)$/gm;

test("the sum over workers counts each request once; per worker the shares add up to it", async () => {
  const sent = 120;
  for (let i = 0; i < sent; i += 12) {
    await Promise.all(Array.from({ length: 12 }, () => fetch(`${gateway.proxyUrl}/a`, { headers: { connection: "close" } }).then((r) => r.arrayBuffer())));
  }
  const total = [...(await (await fetch(`${gateway.adminUrl}/metrics`)).text()).matchAll(SERIES)];
  expect(total).toHaveLength(1);
  expect(Number(total[0]![2])).toBe(sent);
  const shares = [...(await (await fetch(`${gateway.adminUrl}/metrics?per_worker=1`)).text()).matchAll(SERIES)];
  expect(shares.reduce((sum, match) => sum + Number(match[2]), 0)).toBe(sent);
  expect(shares.every((match) => match[1] !== undefined)).toBe(true);
}, 60_000);
