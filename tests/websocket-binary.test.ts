// WebSocket proxying in the compiled executable as a user runs it: a declarative file with a jwt
// route, a token in the query, an echo through a Node upstream whose RFC 6455 side is written by
// hand, and SIGTERM closing an open session with 1001 before the process exits 0.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SignJWT } from "jose";
import { ensureBinary, spawnServe, type ServeProcess } from "./support/binary.ts";
import { tempDir } from "./support/gateway.ts";
import { TestWebSocket, upgradeRequest } from "./support/websocket-client.ts";
import { type NodeWebSocketUpstream, startNodeWebSocketUpstream } from "./support/websocket-upstreams.ts";

const SECRET = "a-secret-of-at-least-thirty-two-bytes!!";
let gateway: ServeProcess;
let upstream: NodeWebSocketUpstream;

beforeAll(async () => {
  const built = await ensureBinary();
  const dir = tempDir("gateway-ws-bin-");
  const binary = join(dir, "gateway");
  copyFileSync(built, binary);
  upstream = await startNodeWebSocketUpstream();
  writeFileSync(
    join(dir, "kong.yml"),
    `_format_version: "3.0"
services:
  - name: chat
    url: ${upstream.url}/rooms
    routes:
      - name: chat
        paths: [/chat]
        plugins:
          - name: jwt
consumers:
  - username: alice
    jwt_secrets:
      - key: alice-key
        secret: ${SECRET}
`,
  );
  gateway = await spawnServe(binary, ["--config", "kong.yml"], { cwd: dir });
});
afterAll(async () => {
  await gateway.stop("SIGKILL");
  await upstream.stop();
});

test("compiled binary: refused without a token, relayed with one, and SIGTERM closes the session with 1001", async () => {
  const refused = await upgradeRequest(`${gateway.proxyUrl}/chat/lobby`);
  expect(refused.status).toBe(401);
  expect(await refused.json()).toEqual({ message: "Unauthorized" });

  const token = await new SignJWT({ iss: "alice-key" }).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(SECRET));
  const client = await TestWebSocket.open(`${gateway.proxyUrl.replace("http:", "ws:")}/chat/lobby?jwt=${token}`);
  const upgrade = (await upstream.next("upgrade")) as { upgrade: string; headers: Record<string, string> };
  expect(upgrade.upgrade).toStartWith("/rooms/lobby?jwt=");
  expect(upgrade.headers["x-consumer-username"]).toBe("alice");
  client.send("hello from the binary");
  expect(await client.next()).toBe("hello from the binary");

  gateway.process.kill("SIGTERM");
  expect(await client.closed).toEqual({ code: 1001, reason: "gateway shutting down" });
  expect(await upstream.next("closed")).toEqual({ closed: 1001, reason: "" });
  expect(await gateway.process.exited).toBe(0);
});
