// Starts an in-process gateway on a real loopback listener for tests, with an in-memory or
// temporary-file database, and stops it afterwards.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MEMORY } from "../../src/db/connection.ts";
import { type GatewayOptions, type RunningProxy, startCoreWithProxy } from "../../src/gateway.ts";

export interface TestGateway extends RunningProxy {
  dbPath: string;
  /** fetch relative to the proxy listener. */
  request(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

export function tempDir(prefix = "gateway-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function startTestGateway(options: Partial<GatewayOptions> & { file?: boolean } = {}): TestGateway {
  const dir = options.file ? tempDir() : null;
  const dbPath = dir ? join(dir, "gateway.db") : MEMORY;
  const running = startCoreWithProxy({
    db: dbPath,
    proxyListen: { hostname: "127.0.0.1", port: 0 },
    accessLog: "off",
    pollMs: 100,
    ...options,
  });
  return {
    ...running,
    dbPath,
    request: (path, init) => fetch(running.proxyUrl + path, init),
    async close() {
      await running.stop(1000);
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
