// The compiled binary as a user runs it over TLS: `gateway cert dev` makes a CA and certificate,
// `serve` listens with TLS only (two workers) and serves the admin API over TLS, curl trusts
// the development CA, and EdgeX's `proxy tls` stores a certificate the running workers pick up.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";
import { ensureBinary, runCli } from "./support/binary.ts";
import { tempDir } from "./support/gateway.ts";

const dir = tempDir("gateway-tls-binary-");
let binary: string;
let serve: ReturnType<typeof Bun.spawn> | undefined;
let stderr = "";

async function run(argv: string[], stdin = ""): Promise<{ code: number; out: string }> {
  const child = Bun.spawn(argv, { cwd: dir, stdin: new Blob([stdin]), stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
  return { code: await child.exited, out: out + err };
}

beforeAll(async () => {
  binary = await ensureBinary();
});

afterAll(async () => {
  if (serve && serve.exitCode === null) {
    serve.kill("SIGTERM");
    await serve.exited;
  }
});

test("cert dev, then serve over TLS only (GATEWAY_PROXY_LISTEN_TLS): curl --cacert reaches the proxy and the admin API; proxy tls adds a certificate live", async () => {
  const made = await runCli(binary, ["cert", "dev", "--host", "localhost", "--host", "127.0.0.1", "--out", join(dir, "dev")], { cwd: dir });
  expect(made.code).toBe(0);
  for (const [name, mode] of [["dev-ca.pem", 0o644], ["dev.pem", 0o644], ["dev-key.pem", 0o600], ["dev-ca-key.pem", 0o600]] as const) {
    expect(statSync(join(dir, name)).mode & 0o777).toBe(mode);
  }
  const other = await runCli(binary, ["cert", "dev", "--host", "other.test", "--out", join(dir, "other")], { cwd: dir });
  expect(other.code).toBe(0);

  const db = join(dir, "gateway.db");
  serve = Bun.spawn(
    [binary, "serve", "--db", db, "--proxy-listen", "off", "--admin-listen-tls", "127.0.0.1:0", "--tls-cert", "dev.pem", "--tls-key", "dev-key.pem", "--workers", "2", "--access-log", "off"],
    { cwd: dir, env: { PATH: process.env.PATH ?? "", HOME: dir, GATEWAY_PROXY_LISTEN_TLS: "127.0.0.1:0" }, stdout: "ignore", stderr: "pipe" },
  );
  const reader = (serve.stderr as ReadableStream<Uint8Array>).getReader();
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      stderr += new TextDecoder().decode(value);
    }
  })();
  const deadline = Date.now() + 15_000;
  while (!/workers: 2/.test(stderr)) {
    if (serve.exitCode !== null || Date.now() > deadline) throw new Error(`gateway did not start: ${stderr}`);
    await Bun.sleep(20);
  }
  expect(stderr).not.toMatch(/proxy: http:/);
  const proxyPort = /proxy: https:\/\/127\.0\.0\.1:(\d+)/.exec(stderr)![1]!;
  const adminPort = /admin: https:\/\/127\.0\.0\.1:(\d+)/.exec(stderr)![1]!;

  const proxied = await run(["curl", "-sS", "--cacert", "dev-ca.pem", "-w", "\n%{http_code}", `https://localhost:${proxyPort}/nothing`]);
  expect(proxied.out).toBe('{"message":"no Route matched with those values"}\n404');
  const adminReply = await run(["curl", "-sS", "--cacert", "dev-ca.pem", "-w", "\n%{http_code}", `https://127.0.0.1:${adminPort}/certificates`]);
  expect(adminReply.out).toBe('{"data":[],"next":null}\n200');
  const created = await run(["curl", "-sS", "--cacert", "dev-ca.pem", "-o", "/dev/null", "-w", "%{http_code}", "-H", "content-type: application/json", "-d", '{"name":"over-tls","url":"http://127.0.0.1:9"}', `https://127.0.0.1:${adminPort}/services`]);
  expect(created.out).toBe("201");
  const plainAdmin = await run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", `http://127.0.0.1:${adminPort}/certificates`]);
  expect(plainAdmin.out).not.toContain("200");

  // EdgeX's 2.x flags, one dash as Go's flag package allows; the workers poll the database.
  const stored = await runCli(binary, ["proxy", "tls", "-incert", "other.pem", "-inkey", "other-key.pem", "--snis", "other.test", "--db", db], { cwd: dir });
  expect(stored.code).toBe(0);
  expect(stored.stdout).toMatch(/^certificate [0-9a-f-]{36} stored for other\.test\n$/);
  expect(stored.stdout + stored.stderr).not.toContain("PRIVATE KEY");
  const resolve = ["--resolve", `other.test:${proxyPort}:127.0.0.1`];
  // Both workers serve it: each polls on its own clock, so the wait ends when six new
  // connections in a row, whichever worker takes each, got it.
  let inARow = 0;
  let served = "";
  for (let i = 0; i < 80 && inARow < 6; i++) {
    served = (await run(["curl", "-sS", "--cacert", "other-ca.pem", ...resolve, "-o", "/dev/null", "-w", "%{http_code}", `https://other.test:${proxyPort}/`])).out;
    if (served === "404") inARow++;
    else {
      inARow = 0;
      await Bun.sleep(100);
    }
  }
  expect(served).toBe("404");
  expect(inARow).toBe(6);
  const listed = await run(["curl", "-sS", "--cacert", "dev-ca.pem", `https://127.0.0.1:${adminPort}/certificates`]);
  expect(JSON.parse(listed.out).data[0].snis).toEqual(["other.test"]);
  expect(listed.out).not.toContain("PRIVATE KEY");
}, 60_000);

test("cert add stores the certificate for its own names, or --sni ones; a mismatched pair stores nothing", async () => {
  const db = join(dir, "add.db");
  const own = await runCli(binary, ["cert", "add", "--cert", "dev.pem", "--key", "dev-key.pem", "--db", db], { cwd: dir });
  expect(own.code).toBe(0);
  expect(own.stdout).toMatch(/^certificate [0-9a-f-]{36} stored for localhost\n$/);
  const named = await runCli(binary, ["cert", "add", "--cert", "other.pem", "--key", "other-key.pem", "--sni", "*.other.test", "--sni", "other.*", "--db", db], { cwd: dir });
  expect(named.stdout).toContain("stored for *.other.test, other.*");
  const bad = await runCli(binary, ["cert", "add", "--cert", "other.pem", "--key", "dev-key.pem", "--db", db], { cwd: dir });
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain("--key dev-key.pem: does not match the certificate in --cert other.pem");
  const listed = await runCli(binary, ["config", "export", "--db", db], { cwd: dir });
  expect(listed.stdout.match(/BEGIN CERTIFICATE/g)?.length).toBe(4);
  expect(listed.stdout).not.toContain("PRIVATE KEY");
  // EdgeX 3.x spelling; proxy tls replaces the certificate that held the name (twice: one left).
  for (let i = 0; i < 2; i++) {
    const edgex3 = await runCli(binary, ["proxy", "tls", "--inCert", "dev.pem", "--inKey", "dev-key.pem", "--db", db], { cwd: dir });
    expect(edgex3.stdout).toContain("stored for localhost");
  }
  const after = await runCli(binary, ["config", "export", "--db", db, "--format", "json"], { cwd: dir });
  const certificates = JSON.parse(after.stdout).certificates as { snis: string[] }[];
  expect(certificates.map((c) => c.snis)).toEqual([["*.other.test", "other.*"], ["localhost"]]);
});

test("demo --tls: the printed curl commands work as printed, over https with the development CA", async () => {
  const demo = Bun.spawn([binary, "demo", "--tls", "./dev", "--proxy-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"], { cwd: dir, env: { PATH: process.env.PATH ?? "", HOME: dir }, stdout: "pipe", stderr: "pipe" });
  try {
    const reader = (demo.stdout as ReadableStream<Uint8Array>).getReader();
    let text = "";
    while (!text.includes("Ctrl-C stops the demo")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`demo ended: ${text}`);
      text += new TextDecoder().decode(value);
    }
    const commands = text.split("\n").filter((line) => line.startsWith("curl --cacert ./dev-ca.pem -i https://localhost:"));
    expect(commands).toHaveLength(3);
    const statuses = [];
    for (const command of commands) statuses.push((await run(["sh", "-c", `${command} -s -o /dev/null -w '%{http_code}'`])).out);
    expect(statuses).toEqual(["200", "401", "403"]);
  } finally {
    demo.kill("SIGTERM");
    await demo.exited;
  }
});

test("bad TLS flags are refused before anything listens", async () => {
  const mismatched = await runCli(binary, ["serve", "--proxy-listen-tls", "127.0.0.1:0", "--tls-cert", "dev.pem", "--tls-key", "other-key.pem", "--admin-listen", "127.0.0.1:0"], { cwd: dir });
  expect(mismatched.code).toBe(2);
  expect(mismatched.stderr).toContain("--tls-key other-key.pem: does not match the certificate");
  const noCert = await runCli(binary, ["serve", "--admin-listen-tls", "127.0.0.1:0"], { cwd: dir });
  expect(noCert.code).toBe(2);
  expect(noCert.stderr).toContain("--admin-listen-tls needs a certificate");
  const off = await runCli(binary, ["serve", "--proxy-listen", "off", "--admin-listen", "127.0.0.1:0"], { cwd: dir });
  expect(off.code).toBe(2);
  expect(off.stderr).toContain("--proxy-listen off needs --proxy-listen-tls");
});
