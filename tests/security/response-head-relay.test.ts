// Red team of the relay of an upstream's response head (the raw engine copies the lines of a
// head from its bytes): a hostile upstream's hop-by-hop lines, Connection options, forged
// gateway headers, odd whitespace, a bare CR before a line's end, obs-text and repeated framing
// must reach the client only as the gateway decided, on both engines, read byte by byte and by
// Node's own HTTP parser (llhttp, strict); what no client may get is a 502.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { ProxyEngine } from "../../src/proxy/engine.ts";
import { type TestGateway, startTestGateway } from "../support/gateway.ts";
import { talk } from "../support/raw-socket.ts";
import { type ScriptedUpstream, scripted } from "../support/scripted-upstream.ts";

const HOSTILE: Record<string, string> = {
  "/mixed": [
    "HTTP/1.1 200 OK",
    "Connection: x-secret, keep-alive",
    // Removed lines between lines that go on as sent: one copy of those must not take them along.
    "Server: up",
    "X-Secret: internal",
    "X-E: e",
    "Keep-Alive: timeout=5",
    "X-F: f",
    "X-Request-Id: forged",
    "X-A: v\r",
    "X-B:\t two  ",
    "X-C: caf\xe9",
    "Content-Length: 4",
    "content-length: 4",
    "X-Gateway-Proxy-Latency: 999",
    "Proxy-Connection: keep-alive",
    "",
    "body",
  ].join("\r\n"),
  "/bare-cr": "HTTP/1.1 200 OK\r\nX-D: a\rb\r\nContent-Length: 2\r\n\r\nok",
  "/bare-lf": "HTTP/1.1 200 OK\r\nX-D: a\nX-Smuggled: yes\r\nContent-Length: 2\r\n\r\nok",
  "/space-in-name": "HTTP/1.1 200 OK\r\nX D: a\r\nContent-Length: 2\r\n\r\nok",
  "/nul": "HTTP/1.1 200 OK\r\nX-D: a\0b\r\nContent-Length: 2\r\n\r\nok",
};

/** What Node's http client (llhttp) makes of the gateway's answer to `path`: status, raw header pairs, body; or its parse error. */
async function nodeGet(port: number, path: string): Promise<{ runtime: string; status?: number; headers?: string[]; body?: string; error?: string }> {
  const script = `const http = require("node:http");
const runtime = typeof Bun === "undefined" ? "node" : "bun";
http.get({ host: "127.0.0.1", port: ${port}, path: ${JSON.stringify(path)} }, (res) => {
  const body = [];
  res.on("data", (c) => body.push(c));
  res.on("end", () => process.stdout.write(JSON.stringify({ runtime, status: res.statusCode, headers: res.rawHeaders, body: Buffer.concat(body).toString("latin1") })));
}).on("error", (e) => process.stdout.write(JSON.stringify({ runtime, error: e.code || e.message })));`;
  const proc = Bun.spawn(["node", "-e", script], { stdout: "pipe", stderr: "inherit" });
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  return JSON.parse(out);
}

/** The head of the first answer in `raw`, as lines (the status line first). */
function headLines(raw: string): string[] {
  return raw.slice(0, raw.indexOf("\r\n\r\n")).split("\r\n");
}

for (const engine of ["raw", "serve"] as ProxyEngine[]) {
  describe(`${engine} engine: a hostile upstream's response head`, () => {
    let upstream: ScriptedUpstream;
    let gateway: TestGateway;

    beforeAll(() => {
      upstream = scripted((socket, request) => {
        const path = request.split(" ")[1]!;
        socket.write(Buffer.from(HOSTILE[path] ?? "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", "latin1"));
      });
      gateway = startTestGateway({ proxyEngine: engine });
      gateway.store.create("services", { name: "hostile", url: `http://127.0.0.1:${upstream.port}` });
      gateway.store.create("routes", { name: "hostile", service: { name: "hostile" }, paths: ["/"] });
    });
    afterAll(async () => {
      await gateway.close();
      upstream.stop();
    });

    test("hop-by-hop lines, the names Connection lists and forged gateway headers never reach the client; the rest arrives trimmed, once, byte for byte", async () => {
      const { raw } = await talk(gateway.proxy.port, ["GET /mixed HTTP/1.1\r\nHost: gw.test\r\n\r\n"], 2000, (text) => text.endsWith("body"));
      const lines = headLines(raw);
      expect(lines[0]).toBe("HTTP/1.1 200 OK");
      const byName = (name: string) => lines.slice(1).filter((line) => line.slice(0, line.indexOf(":")).toLowerCase() === name);
      for (const gone of ["x-secret", "keep-alive", "proxy-connection", "connection"]) expect(byName(gone)).toEqual([]);
      expect(byName("x-request-id")).toHaveLength(1);
      expect(byName("x-request-id")[0]).not.toContain("forged");
      expect(byName("x-gateway-proxy-latency")).toHaveLength(1);
      expect(byName("x-gateway-proxy-latency")[0]).not.toContain("999");
      expect(byName("content-length").map((line) => line.split(":")[1]!.trim())).toEqual(["4"]);
      expect([...byName("server"), ...byName("x-e"), ...byName("x-f")]).toEqual(["Server: up", "X-E: e", "X-F: f"]);
      expect(byName("x-a").map((line) => line.toLowerCase())).toEqual(["x-a: v"]);
      expect(byName("x-b").map((line) => line.toLowerCase())).toEqual(["x-b: two"]);
      expect(byName("x-c").map((line) => line.toLowerCase())).toEqual(["x-c: caf\xe9"]);
      // Every CR of the head ends a line, and every LF follows a CR.
      const head = raw.slice(0, raw.indexOf("\r\n\r\n") + 4);
      expect(head.replace(/\r\n/g, "")).not.toMatch(/[\r\n]/);
      expect(raw.slice(raw.indexOf("\r\n\r\n") + 4)).toBe("body");
    });

    test("Node's parser reads the answer as the gateway wrote it: the same fields, nothing more", async () => {
      const answer = await nodeGet(gateway.proxy.port, "/mixed");
      expect(answer.runtime).toBe("node");
      expect(answer.error).toBeUndefined();
      expect([answer.status, answer.body]).toEqual([200, "body"]);
      const names = answer.headers!.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase());
      for (const gone of ["x-secret", "keep-alive", "proxy-connection"]) expect(names).not.toContain(gone);
      const value = (name: string) => answer.headers!.filter((_, i) => i % 2 === 1 && answer.headers![i - 1]!.toLowerCase() === name);
      expect(value("x-a")).toEqual(["v"]);
      expect(value("x-b")).toEqual(["two"]);
      expect(value("x-c")).toEqual(["caf\xe9"]);
      expect(value("content-length")).toEqual(["4"]);
      expect(value("x-request-id")).not.toContain("forged");
    });

    test.each([
      ["a bare CR inside a value", "/bare-cr"],
      ["a bare LF that would end the line early for a lenient client", "/bare-lf"],
      ["a space inside a name", "/space-in-name"],
      ["a NUL inside a value", "/nul"],
    ])("%s → 502 with the gateway's message; the line reaches no client", async (_name, path) => {
      const { raw } = await talk(gateway.proxy.port, [`GET ${path} HTTP/1.1\r\nHost: gw.test\r\n\r\n`], 2000, (text) => text.includes("}"));
      expect(headLines(raw)[0]).toBe("HTTP/1.1 502 Bad Gateway");
      expect(JSON.parse(raw.slice(raw.indexOf("\r\n\r\n") + 4)).message).toBe("An invalid response was received from the upstream server");
      expect(raw).not.toContain("X-D");
      expect(raw).not.toContain("X-Smuggled");
      const answer = await nodeGet(gateway.proxy.port, path);
      expect([answer.error, answer.status]).toEqual([undefined, 502]);
    });
  });
}
