// Upstream TLS as a user sets it up: the compiled binary's CLI stores a CA certificate and two
// https services in a database file (one trusting the CA, one with tls_verify false), `serve`
// proxies to both real Node https upstreams, warns about the unverified one on stderr, and the
// CA certificate the service lists cannot be deleted, from the database file or the admin API.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type ServeProcess, ensureBinary, runCli, spawnServe } from "./support/binary.ts";
import { tempDir } from "./support/gateway.ts";
import { type HttpsUpstreams, startHttpsUpstreams } from "./support/https-upstream.ts";
import { makeTestPki } from "./support/test-pki.ts";

// The build and the spawned processes need more than 5 s on a busy machine.
setDefaultTimeout(60_000);

const dir = tempDir("gateway-uptls-binary-");
let binary = "";
let upstreams: HttpsUpstreams;
let gateway: ServeProcess | undefined;
const env = { GATEWAY_DB: join(dir, "gateway.db") };

async function cli(args: string[]): Promise<string> {
  const result = await runCli(binary, args, { cwd: dir, env });
  if (result.code !== 0) throw new Error(`gateway ${args.join(" ")} → exit ${result.code}: ${result.stderr}`);
  return result.stdout;
}

beforeAll(async () => {
  const pki = makeTestPki(dir);
  writeFileSync(join(dir, "ca.pem"), pki.ca.cert);
  writeFileSync(join(dir, "server.pem"), pki.server.cert);
  [binary, upstreams] = await Promise.all([ensureBinary(), startHttpsUpstreams({ server: pki.server, selfSigned: pki.selfSigned })]);
});

afterAll(async () => {
  await gateway?.stop();
  await upstreams?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("CLI-configured https services: the CA-trusting one and the opted-out one proxy; the opt-out is warned about", async () => {
  const ca = JSON.parse(await cli(["ca-certificate", "add", "--cert", "ca.pem", "--json"]));
  await cli(["service", "add", "--name", "trusted", "--url", `https://localhost:${upstreams.ports.server}`, "--ca-certificate", ca.id]);
  await cli(["service", "add", "--name", "unverified", "--url", `https://127.0.0.1:${upstreams.ports.selfSigned}`, "--tls-verify", "false"]);
  await cli(["service", "add", "--name", "strict", "--url", `https://127.0.0.1:${upstreams.ports.selfSigned}`]);
  for (const name of ["trusted", "unverified", "strict"]) await cli(["route", "add", "--service", name, "--path", `/${name}`]);

  gateway = await spawnServe(binary, ["--access-log", "off"], { cwd: dir, env });
  const trusted = await fetch(`${gateway.proxyUrl}/trusted`);
  expect({ status: trusted.status, server: ((await trusted.json()) as { server: string }).server }).toEqual({ status: 200, server: "server" });
  expect((await fetch(`${gateway.proxyUrl}/unverified`)).status).toBe(200);
  const strict = await fetch(`${gateway.proxyUrl}/strict`);
  expect({ status: strict.status, body: await strict.json() }).toEqual({ status: 502, body: { message: "An invalid response was received from the upstream server" } });
  const warnings = gateway.stderr().split("\n").filter((line) => line.includes('"level":"warn"') && line.includes("tls_verify"));
  expect(warnings).toHaveLength(1);
  expect(JSON.parse(warnings[0]!)).toMatchObject({ service: "unverified", message: `service "unverified" has tls_verify: false: its upstream's certificate and host name are NOT verified` });

  const refused = await runCli(binary, ["ca-certificate", "delete", ca.id], { cwd: dir, env });
  expect(refused).toEqual({ code: 1, stdout: "", stderr: expect.stringContaining(`ca certificate ${ca.id} is still referenced by services`) });
  // The same commands over the running gateway's admin API.
  const listed = JSON.parse(await cli(["ca-certificate", "list", "--admin-url", gateway.adminUrl, "--json"])) as { id: string; cert_digest: string }[];
  expect(listed).toEqual([expect.objectContaining({ id: ca.id, cert_digest: ca.cert_digest })]);
  const remote = await runCli(binary, ["ca-certificate", "delete", ca.id, "--admin-url", gateway.adminUrl], { cwd: dir, env: {} });
  expect(remote).toEqual({ code: 1, stdout: "", stderr: expect.stringContaining(`ca certificate ${ca.id} is still referenced by services`) });
});

test("ca-certificate add: no --cert is a usage error (2); a missing file or a certificate that is not a CA is exit 1 with why", async () => {
  const run = (args: string[]) => runCli(binary, args, { cwd: dir, env });
  expect(await run(["ca-certificate", "add"])).toEqual({ code: 2, stdout: "", stderr: "gateway: --cert is required: the PEM file of the CA certificate\n" });
  expect(await run(["ca-certificate", "add", "--cert", "nowhere.pem"])).toEqual({ code: 1, stdout: "", stderr: "gateway: --cert nowhere.pem: no such file\n" });
  expect(await run(["ca-certificate", "add", "--cert", "server.pem"])).toEqual({
    code: 1,
    stdout: "",
    stderr: 'gateway: schema violation (cert: certificate does not appear to be a CA because it is missing the "CA" basic constraint)\n',
  });
});
