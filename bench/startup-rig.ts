// What start-up measurements share: an upstream answering 200, a declarative file routing
// everything to it, a free port per run, and the time from spawn to the first proxied 200.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface StartupRig {
  /** The declarative file: one service (the upstream), one route `/`. */
  readonly config: string;
  /** A scratch working directory for the spawned gateways. */
  readonly dir: string;
  freePort(): Promise<number>;
  /** Spawns `argv` (which must listen on `port`) and resolves with the child at its first proxied 200. */
  firstProxied200(argv: string[], port: number): Promise<{ child: ReturnType<typeof Bun.spawn>; ms: number }>;
  stop(): void;
}

export function startupRig(prefix: string): StartupRig {
  const upstream = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("ok") });
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const config = join(dir, "kong.yml");
  writeFileSync(config, `_format_version: "3.0"\nservices:\n  - name: up\n    url: http://127.0.0.1:${upstream.port}\n    routes:\n      - name: all\n        paths: [/]\n`);
  return {
    config,
    dir,
    async freePort() {
      const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
      const port = probe.port as number;
      probe.stop(true);
      return port;
    },
    async firstProxied200(argv, port) {
      const started = performance.now();
      const child = Bun.spawn(argv, { cwd: dir, stdout: "ignore", stderr: "pipe" });
      while (!(await fetch(`http://127.0.0.1:${port}/`).then((r) => r.status === 200, () => false))) {
        if (child.exitCode !== null) throw new Error(`${argv[0]} exited ${child.exitCode}: ${await new Response(child.stderr as ReadableStream).text()}`);
        await Bun.sleep(2);
      }
      return { child, ms: performance.now() - started };
    },
    stop() {
      upstream.stop(true);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
