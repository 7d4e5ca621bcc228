// Access log (SPEC §4.5): one JSON line per request, no tokens or query strings.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startTestGateway, tempDir } from "./support/gateway.ts";
import { startUpstream } from "./support/upstream.ts";

test("one JSON line per request with route, service, status and latencies; no query or token", async () => {
  const file = join(tempDir(), "access.log");
  const upstream = startUpstream();
  const gateway = startTestGateway({ accessLog: file });
  try {
    gateway.store.create("services", { name: "svc", url: upstream.url });
    gateway.store.create("routes", { name: "r", service: { name: "svc" }, paths: ["/r"] });
    await gateway.request("/r/a?jwt=secret-token-value", { headers: { authorization: "Bearer secret-token-value", "x-request-id": "log-1" } });
    await gateway.request("/missing");
    gateway.accessLog.flush();
    const lines = readFileSync(file, "utf8").trim().split("\n").map((line) => JSON.parse(line));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ request_id: "log-1", method: "GET", path: "/r/a", status: 200, route: "r", service: "svc", consumer: null, client_ip: "127.0.0.1" });
    expect(typeof lines[0].upstream_latency_ms).toBe("number");
    expect(typeof lines[0].proxy_latency_ms).toBe("number");
    expect(Date.parse(lines[0].time)).toBeGreaterThan(0);
    expect(lines[1]).toMatchObject({ path: "/missing", status: 404, route: null, upstream_latency_ms: null });
    expect(readFileSync(file, "utf8")).not.toContain("secret-token-value");
  } finally {
    await gateway.close();
    await upstream.stop();
  }
});
