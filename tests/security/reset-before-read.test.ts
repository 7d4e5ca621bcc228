// A client that sends requests and resets its connection before the gateway has accepted it:
// the runtimes then know no peer address (Bun.listen's socket says undefined, Bun.serve's
// requestIP null). Such requests were proxied with an empty X-Forwarded-For past an
// ip-restriction deny list (serve engine: a blind request from a denied address) or crashed as
// internal errors (raw engine). Now they are refused as client_gone (499) and never reach the
// upstream. The reset is made to come first by blocking this process's event loop (the gateway
// runs in it) while a Node client connects, sends and resets.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type TestGateway, startTestGateway } from "../support/gateway.ts";
import { type ByteRecorder, startByteRecorder } from "../support/raw-socket.ts";

const CLIENTS = 20;
let gateway: TestGateway;
let upstream: ByteRecorder;

beforeAll(async () => {
  upstream = startByteRecorder(() => "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
  gateway = startTestGateway();
  gateway.store.create("services", { name: "guarded", url: upstream.url });
  const route = gateway.store.create("routes", { name: "guarded", service: { name: "guarded" }, paths: ["/"] }) as { id: string };
  gateway.store.create("plugins", { name: "ip-restriction", route: { id: route.id }, config: { deny: ["127.0.0.1"] } });
  await Bun.sleep(300);
});

afterAll(async () => {
  await gateway.close();
  upstream.stop();
});

/** Runs CLIENTS Node clients that each connect, send a request and reset, while this event loop is blocked. */
async function resetWhileBlocked(port: number): Promise<void> {
  const child = Bun.spawn(
    ["node", "-e", `
      const net = require("net");
      process.stdin.once("data", () => {
        let left = ${CLIENTS};
        for (let i = 0; i < ${CLIENTS}; i++) {
          const socket = net.connect(${port}, "127.0.0.1", () => {
            socket.write("GET /denied" + i + " HTTP/1.1\\r\\nHost: gw.test\\r\\n\\r\\n");
            setTimeout(() => { socket.resetAndDestroy(); if (--left === 0) process.exit(0); }, 20);
          });
          socket.on("error", () => {});
        }
      });
      console.log("ready");
    `],
    { stdin: "pipe", stdout: "pipe" },
  );
  const reader = child.stdout.getReader();
  await reader.read();
  child.stdin.write("go\n");
  child.stdin.flush();
  Bun.sleepSync(500);
  await child.exited;
}

test("requests on a connection reset before it was accepted never reach the upstream, and are counted as client_gone", async () => {
  const before = gateway.metrics.render(gateway.state.current.version);
  await resetWhileBlocked(gateway.proxy.port);
  await Bun.sleep(300);
  expect(upstream.received).toBe("");
  const after = gateway.metrics.render(gateway.state.current.version);
  const gone = (text: string) => Number(/gateway_http_requests_total\{[^}]*status="499"[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);
  expect(gone(after) - gone(before)).toBeGreaterThan(0);
  expect(after).not.toMatch(/gateway_http_requests_total\{[^}]*status="500"/);
});

test("a client that connects normally from the denied address is refused 403", async () => {
  const response = await gateway.request("/denied");
  expect(response.status).toBe(403);
  expect(await response.json()).toEqual({ message: "Your IP address is not allowed" });
  expect(upstream.received).toBe("");
});
