// `gateway demo` as a developer meets it: the compiled binary prints a token and curl commands,
// and those commands, run exactly as printed, answer 200, 401 and 403.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { listenFrom } from "../src/cli/demo.ts";
import { ensureBinary } from "./support/binary.ts";
import { tempDir } from "./support/gateway.ts";

async function readUntil(stream: ReadableStream<Uint8Array>, marker: string, ms: number): Promise<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const deadline = Date.now() + ms;
  while (!text.includes(marker)) {
    const chunk = await Promise.race([reader.read(), Bun.sleep(Math.max(0, deadline - Date.now())).then(() => null)]);
    if (!chunk || chunk.done) throw new Error(`demo output ended without '${marker}': ${text}`);
    text += decoder.decode(chunk.value);
  }
  reader.releaseLock();
  return text;
}

// Bun 1.4 ignores bunfig's test timeout; the build and the spawned processes need more than 5 s on a busy machine.
setDefaultTimeout(30_000);

let binary = "";
beforeAll(async () => {
  binary = await ensureBinary();
});

describe("gateway demo", () => {
  test("ready (within 5 s here; the cold start itself is bench/coldstart.ts's to measure); the printed curl commands give 200 with the token, 401 without, 403 outside the group; SIGINT exits 0", async () => {
    const demo = Bun.spawn([binary, "demo", "--proxy-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"], {
      cwd: tempDir("gateway-cli-demo-"),
      env: { PATH: process.env.PATH ?? "" },
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      const output = await readUntil(demo.stdout, "Ctrl-C stops the demo", 5000);

      const commands = output.split("\n").filter((line) => line.startsWith("curl "));
      expect(commands).toHaveLength(3);
      const token = /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/m.exec(output)![0];
      expect(commands[0]).toContain(`Bearer ${token}'`);
      const statuses: string[] = [];
      for (const command of commands) {
        const run = Bun.spawn(["sh", "-c", command], { stdout: "pipe", stderr: "pipe" });
        const [text, code] = await Promise.all([new Response(run.stdout).text(), run.exited]);
        expect(code).toBe(0);
        statuses.push(text.split("\r\n")[0]!);
        if (statuses.length === 1) expect(JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4))).toMatchObject({ consumer: "demo", groups: "demo" });
      }
      expect(statuses).toEqual(["HTTP/1.1 200 OK", "HTTP/1.1 401 Unauthorized", "HTTP/1.1 403 Forbidden"]);

      const docs = /^(http:\/\/\S+\/docs)$/m.exec(output)![1]!;
      expect((await fetch(docs)).status).toBe(200);
      demo.kill("SIGINT");
      expect(await demo.exited).toBe(0);
    } finally {
      demo.kill("SIGKILL");
    }
  });

  test("a taken default port moves to the next free one; an explicit address does not", async () => {
    const taken = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    const listen = (address: { hostname: string; port: number }) => Bun.serve({ ...address, fetch: () => new Response() });
    try {
      const moved = await listenFrom({ hostname: "127.0.0.1", port: taken.port as number }, true, "proxy listener", listen);
      expect(moved.port).toBeGreaterThan(taken.port as number);
      moved.stop(true);
      await expect(listenFrom({ hostname: "127.0.0.1", port: taken.port as number }, false, "proxy listener", listen)).rejects.toThrow(
        `proxy listener 127.0.0.1:${taken.port}: address already in use`,
      );
    } finally {
      taken.stop(true);
    }
  });
});
