// Attacks on TLS termination, WebSocket proxying and load balancing: what a client or an
// operator's slip could leak or get around. Real gateway, real admin API, certificates and keys
// made by openssl.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { startAdminServer } from "../../src/admin/server.ts";
import { VERSION } from "../../src/version.ts";
import { type TestGateway, startTestGateway, tempDir } from "../support/gateway.ts";

const dir = tempDir("gateway-protocols-red-team-");
const read = (name: string) => readFileSync(join(dir, name), "utf8");
function openssl(...args: string[]): void {
  const run = Bun.spawnSync(["openssl", ...args], { cwd: dir, stdout: "ignore", stderr: "pipe" });
  if (run.exitCode !== 0) throw new Error(`openssl ${args.join(" ")}: ${run.stderr.toString()}`);
}

let gateway: TestGateway;
let admin: Awaited<ReturnType<typeof startAdminServer>>;
let adminUrl: string;
let cert: string;
let key: string;
/** An EC key as `openssl ecparam -genkey` writes it (SEC1): its secret starts 7 bytes in. */
let sec1Key: string;

async function adminCall(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const response = await fetch(adminUrl + path, { method, headers: body === undefined ? {} : { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: response.status, text: await response.text() };
}

/** The base64 of a PEM key past its header line: the key material itself. */
const material = (pem: string) => pem.split("\n").slice(1, -2).join("");

beforeAll(async () => {
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "leaf.key", "-out", "leaf.pem", "-days", "2", "-subj", "/CN=leak.test", "-addext", "subjectAltName=DNS:leak.test");
  openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "sec1.key");
  cert = read("leaf.pem");
  key = read("leaf.key");
  sec1Key = read("sec1.key");
  gateway = startTestGateway();
  admin = await startAdminServer(
    { store: gateway.store, state: gateway.state, metrics: gateway.metrics, mode: "database", adminToken: undefined, version: VERSION, registry: gateway.registry, startedAt: Date.now() },
    { hostname: "127.0.0.1", port: 0 },
  );
  adminUrl = `http://127.0.0.1:${admin.port}`;
});

afterAll(async () => {
  await admin?.stop(0);
  await gateway?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("private keys stay out of admin answers", () => {
  test("a cert+key bundle pasted into `cert` is refused: `cert` is returned by every read", async () => {
    const created = await adminCall("POST", "/certificates", { cert: cert + key, key });
    expect(created.status).toBe(400);
    expect(JSON.parse(created.text)).toEqual({
      message: "schema violation (cert: must not contain a private key: give the key in 'key')",
      fields: { cert: "must not contain a private key: give the key in 'key'" },
    });
    expect(created.text).not.toContain("PRIVATE KEY");
    const listed = await adminCall("GET", "/certificates");
    expect(listed.text).not.toContain("PRIVATE KEY");
  });

  test("the same bundle in `cert_alt` is refused too", async () => {
    const created = await adminCall("POST", "/certificates", { cert, key, cert_alt: cert + key, key_alt: key });
    expect(created.status).toBe(400);
    expect(JSON.parse(created.text).fields).toEqual({ cert_alt: "must not contain a private key: give the key in 'key_alt'" });
  });

  test("a private key given where a reference is expected is not quoted back, not even its first bytes", async () => {
    for (const pem of [sec1Key, key]) {
      const answer = await adminCall("POST", "/services", { name: "svc", url: "https://127.0.0.1:1", client_certificate: pem });
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.text)).toEqual({
        message: `schema violation (client_certificate: no such certificate '(a PEM private key, not shown: ${pem.length} bytes)')`,
        fields: { client_certificate: `no such certificate '(a PEM private key, not shown: ${pem.length} bytes)'` },
      });
      expect(answer.text).not.toContain(material(pem).slice(0, 12));
    }
  });
});
