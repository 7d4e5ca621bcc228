// TLS termination end to end with certificates made by openssl: SNI selection and the default
// certificate, curl over TLS 1.2 and 1.3, TLS 1.0/1.1 refused, certificates replaced through the
// admin API without a restart, the certificates/snis entities' refusals, private keys kept out
// of responses and exports, route protocols (426, redirects, http-only routes over TLS) and the
// forwarding headers of each listener.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import tls from "node:tls";
import { startAdminServer } from "../src/admin/server.ts";
import { adminExposureWarning } from "../src/cli/tls-options.ts";
import { parseDeclarative } from "../src/config/declarative.ts";
import { exportDeclarative } from "../src/config/export.ts";
import { VERSION } from "../src/version.ts";
import { type TestGateway, startTestGateway, tempDir } from "./support/gateway.ts";
import { type TestUpstream, startUpstream } from "./support/upstream.ts";

const dir = tempDir("gateway-tls-");
const file = (name: string) => join(dir, name);
const pem = (name: string) => readFileSync(file(name), "utf8");

async function run(argv: string[], stdin?: string): Promise<{ code: number; out: string }> {
  const child = Bun.spawn(argv, { cwd: dir, stdin: stdin === undefined ? "ignore" : new Blob([stdin]), stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
  return { code: await child.exited, out: out + err };
}

async function openssl(...args: string[]): Promise<void> {
  const { code, out } = await run(["openssl", ...args]);
  if (code !== 0) throw new Error(`openssl ${args.join(" ")}: ${out}`);
}

const selfSigned = (name: string, keyArgs: string[]) =>
  openssl("req", "-x509", ...keyArgs, "-nodes", "-keyout", file(`${name}.key`), "-out", file(`${name}.pem`), "-days", "2", "-subj", `/CN=${name}`, "-addext", `subjectAltName=DNS:${name}`);
const RSA = ["-newkey", "rsa:2048"];
const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];

/** The subject CN the listener presents for `serverName` (none: no SNI). */
async function servedName(port: number, serverName?: string): Promise<string> {
  const { out } = await run(["openssl", "s_client", "-connect", `127.0.0.1:${port}`, ...(serverName ? ["-servername", serverName] : ["-noservername"])], "");
  return /subject=.*CN ?= ?([^\s,/]+)/.exec(out)?.[1] ?? `(no certificate: ${out.slice(0, 200)})`;
}

let upstream: TestUpstream;
let gateway: TestGateway;
let admin: Awaited<ReturnType<typeof startAdminServer>>;
let adminUrl: string;
let tlsPort: number;

async function adminCall(method: string, path: string, body?: unknown): Promise<{ status: number; body: any; text: string }> {
  const response = await fetch(adminUrl + path, { method, headers: body === undefined ? {} : { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null, text };
}

beforeAll(async () => {
  await Promise.all([selfSigned("a.test", RSA), selfSigned("b.test", EC), selfSigned("default.test", EC), selfSigned("new.test", EC), selfSigned("c.test", RSA)]);
  // The same name twice, RSA and ECDSA: a certificate with its alternative.
  await Promise.all([
    openssl("req", "-x509", ...RSA, "-nodes", "-keyout", file("dual-rsa.key"), "-out", file("dual-rsa.pem"), "-days", "2", "-subj", "/CN=dual-rsa", "-addext", "subjectAltName=DNS:dual.test"),
    openssl("req", "-x509", ...EC, "-nodes", "-keyout", file("dual-ec.key"), "-out", file("dual-ec.pem"), "-days", "2", "-subj", "/CN=dual-ec", "-addext", "subjectAltName=DNS:dual.test"),
  ]);
  // A chain: a CA and a leaf it signed, served as leaf + CA.
  await openssl("req", "-x509", ...EC, "-nodes", "-keyout", file("ca.key"), "-out", file("ca.pem"), "-days", "2", "-subj", "/CN=test CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign");
  await openssl("req", "-new", ...EC, "-nodes", "-keyout", file("chain.test.key"), "-out", file("chain.csr"), "-subj", "/CN=chain.test");
  await Bun.write(file("leaf.ext"), "subjectAltName=DNS:chain.test\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n");
  await openssl("x509", "-req", "-in", file("chain.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key"), "-CAcreateserial", "-out", file("chain.leaf.pem"), "-days", "2", "-extfile", file("leaf.ext"));
  await Bun.write(file("chain.test.pem"), pem("chain.leaf.pem") + pem("ca.pem"));
  await openssl("pkey", "-in", file("a.test.key"), "-aes256", "-passout", "pass:secret", "-out", file("encrypted.key"));

  upstream = startUpstream(async (request) => {
    const url = new URL(request.url);
    if (request.headers.get("x-forwarded-prefix") === "/slow") await Bun.sleep(400);
    return Response.json({ path: url.pathname, headers: Object.fromEntries(request.headers) });
  });
  gateway = startTestGateway({ file: true, accessLog: file("access.log"), proxyListenTls: { hostname: "127.0.0.1", port: 0 }, tlsDefault: { cert: pem("default.test.pem"), key: pem("default.test.key") } });
  tlsPort = gateway.tlsProxy!.port;
  admin = await startAdminServer(
    { store: gateway.store, state: gateway.state, metrics: gateway.metrics, mode: "database", adminToken: undefined, version: VERSION, registry: gateway.registry, startedAt: Date.now() },
    { hostname: "127.0.0.1", port: 0 },
  );
  adminUrl = `http://127.0.0.1:${admin.port}`;
  const service = gateway.store.create("services", { name: "echo", url: upstream.url });
  gateway.store.create("routes", { name: "both", service: { id: service.id }, paths: ["/both", "/slow"] });
  gateway.store.create("routes", { name: "plain-only", service: { id: service.id }, paths: ["/plain-only"], protocols: ["http"] });
  gateway.store.create("routes", { name: "secure", service: { id: service.id }, paths: ["/secure"], protocols: ["https"] });
  for (const code of [301, 302, 307, 308]) gateway.store.create("routes", { name: `redirect-${code}`, service: { id: service.id }, paths: [`/r${code}`], protocols: ["https"], https_redirect_status_code: code });
});

afterAll(async () => {
  await admin?.stop(0);
  await gateway?.close();
  await upstream?.stop();
});

describe("certificates and snis entities", () => {
  test("RSA and ECDSA certificates are stored with their SNIs; no response carries the key", async () => {
    const rsa = await adminCall("POST", "/certificates", { cert: pem("a.test.pem"), key: pem("a.test.key"), snis: ["a.test"] });
    expect(rsa.status).toBe(201);
    expect(rsa.body.snis).toEqual(["a.test"]);
    const ecdsa = await adminCall("POST", "/certificates", { cert: pem("b.test.pem"), key: pem("b.test.key") });
    expect(ecdsa.status).toBe(201);
    const sni = await adminCall("POST", `/certificates/${ecdsa.body.id}/snis`, { name: "B.test" });
    expect(sni.status).toBe(201);
    expect(sni.body).toMatchObject({ name: "b.test", certificate: { id: ecdsa.body.id } });
    const chain = await adminCall("POST", "/certificates", { cert: pem("chain.test.pem"), key: pem("chain.test.key"), snis: ["chain.test"] });
    expect(chain.status).toBe(201);
    const listed = await adminCall("GET", "/certificates");
    const snis = await adminCall("GET", "/snis");
    expect(listed.body.data).toHaveLength(3);
    expect(snis.body.data.map((s: { name: string }) => s.name)).toEqual(["b.test"]);
    for (const text of [rsa.text, ecdsa.text, chain.text, listed.text, (await adminCall("GET", `/certificates/${rsa.body.id}`)).text]) {
      expect(text).not.toContain("PRIVATE KEY");
      expect(JSON.parse(text)).not.toHaveProperty("key");
    }
  });

  test.each([
    ["a key that is not the certificate's", () => ({ cert: pem("a.test.pem"), key: pem("b.test.key") }), "key", "does not match the certificate"],
    ["an encrypted key", () => ({ cert: pem("a.test.pem"), key: pem("encrypted.key") }), "key", "encrypted"],
    ["a certificate that is not PEM", () => ({ cert: "hello", key: pem("a.test.key") }), "cert", "not a PEM certificate"],
    ["an alternative of the same key type", () => ({ cert: pem("a.test.pem"), key: pem("a.test.key"), cert_alt: pem("c.test.pem"), key_alt: pem("c.test.key") }), "cert_alt", "different type"],
    ["cert_alt without key_alt", () => ({ cert: pem("a.test.pem"), key: pem("a.test.key"), cert_alt: pem("b.test.pem") }), "key_alt", "together"],
  ])("%s → 400 naming the field, no key material in the answer", async (_what, body, field, why) => {
    const before = (await adminCall("GET", "/certificates")).body.data.length;
    const reply = await adminCall("POST", "/certificates", body());
    expect(reply.status).toBe(400);
    expect(reply.body.fields[field]).toContain(why);
    expect(reply.body.message).toContain(field);
    expect(reply.text).not.toContain("PRIVATE KEY");
    expect((await adminCall("GET", "/certificates")).body.data.length).toBe(before);
  });

  test("an SNI that is not a host name, or already taken, is refused", async () => {
    const bad = await adminCall("POST", "/snis", { name: "a.*.test", certificate: { id: (await adminCall("GET", "/certificates")).body.data[0].id } });
    expect(bad.status).toBe(400);
    expect(bad.body.fields.name).toBeDefined();
    const taken = await adminCall("POST", "/snis", { name: "b.test", certificate: { id: (await adminCall("GET", "/certificates")).body.data[0].id } });
    expect(taken.status).toBe(409);
    expect(taken.body.message).toContain("b.test");
  });

  test("the export leaves keys out and re-imports keeping them; a file's nested snis are read", () => {
    const stored = gateway.store.loadStored();
    const exported = exportDeclarative(stored, { format: "yaml" });
    expect(exported).not.toContain("PRIVATE KEY");
    expect(exported).toContain("BEGIN CERTIFICATE");
    const again = parseDeclarative(exported, gateway.registry, { previous: stored });
    expect(again.certificates.map((c) => c.key).sort()).toEqual(stored.certificates.map((c) => c.key).sort());
    const withKeys = exportDeclarative(stored, { format: "yaml", includePrivateKeys: true });
    expect(withKeys).toContain("PRIVATE KEY");
    const file = `_format_version: "3.0"\ncertificates:\n  - cert: ${JSON.stringify(pem("a.test.pem"))}\n    key: ${JSON.stringify(pem("a.test.key"))}\n    snis:\n      - name: one.test\n      - two.test\n`;
    expect(parseDeclarative(file, gateway.registry).certificates[0]!.snis).toEqual(["one.test", "two.test"]);
    expect(() => parseDeclarative(file.replace(JSON.stringify(pem("a.test.key")), JSON.stringify(pem("encrypted.key"))), gateway.registry)).toThrow(/certificates\[0\]: key: the private key is encrypted/);
    expect(() => parseDeclarative(`_format_version: "3.0"\ncertificates:\n  - cert: ${JSON.stringify(pem("a.test.pem"))}\n`, gateway.registry)).toThrow(/certificates\[0\]: key: required/);
    const twice = `${file}  - cert: ${JSON.stringify(pem("b.test.pem"))}\n    key: ${JSON.stringify(pem("b.test.key"))}\n    snis: [two.test]\n`;
    expect(() => parseDeclarative(twice, gateway.registry)).toThrow(/certificates\[1\].*snis: uniqueness violation.*two\.test.*already declared at certificates\[0\]/);
  });
});

describe("the TLS listener", () => {
  test("openssl s_client: each SNI gets its certificate, an unknown or missing one the default", async () => {
    expect(await servedName(tlsPort, "a.test")).toBe("a.test");
    expect(await servedName(tlsPort, "b.test")).toBe("b.test");
    expect(await servedName(tlsPort, "unknown.test")).toBe("default.test");
    expect(await servedName(tlsPort)).toBe("default.test");
  });

  test("cert_alt: an RSA-only client gets the RSA certificate, an ECDSA one the alternative", async () => {
    const created = await adminCall("POST", "/certificates", { cert: pem("dual-rsa.pem"), key: pem("dual-rsa.key"), cert_alt: pem("dual-ec.pem"), key_alt: pem("dual-ec.key"), snis: ["dual.test"] });
    expect(created.status).toBe(201);
    expect(created.text).not.toContain("PRIVATE KEY");
    const served = async (cipher: string) => {
      const { out } = await run(["openssl", "s_client", "-connect", `127.0.0.1:${tlsPort}`, "-servername", "dual.test", "-tls1_2", "-cipher", cipher], "");
      return /subject=.*CN ?= ?([^\s,/]+)/.exec(out)?.[1];
    };
    expect(await served("ECDHE-RSA-AES128-GCM-SHA256")).toBe("dual-rsa");
    expect(await served("ECDHE-ECDSA-AES128-GCM-SHA256")).toBe("dual-ec");
    // A TLS 1.2 suite outside the modern list is refused.
    const { out } = await run(["openssl", "s_client", "-connect", `127.0.0.1:${tlsPort}`, "-servername", "dual.test", "-tls1_2", "-cipher", "AES128-SHA"], "");
    expect(out).not.toMatch(/subject=/);
  });

  test("curl --cacert over TLS 1.2 and TLS 1.3 verifies the chain; X-Forwarded-Proto/Port are the TLS listener's", async () => {
    for (const version of [["--tlsv1.2", "--tls-max", "1.2"], ["--tlsv1.3"]]) {
      const { code, out } = await run(["curl", "-sS", "--cacert", file("ca.pem"), ...version, "--resolve", `chain.test:${tlsPort}:127.0.0.1`, "-w", "\n%{ssl_verify_result} %{http_code}", `https://chain.test:${tlsPort}/both`]);
      expect(code).toBe(0);
      const [body, status] = out.split("\n");
      expect(status).toBe("0 200");
      expect(JSON.parse(body!).headers).toMatchObject({ "x-forwarded-proto": "https", "x-forwarded-port": String(tlsPort) });
    }
    const plain = await gateway.request("/both");
    expect(((await plain.json()) as { headers: Record<string, string> }).headers).toMatchObject({ "x-forwarded-proto": "http", "x-forwarded-port": String(gateway.proxy.port) });
  });

  test("TLS 1.0 and 1.1 handshakes are refused with a protocol-version alert", async () => {
    for (const version of ["-tls1", "-tls1_1"]) {
      const { out } = await run(["openssl", "s_client", "-connect", `127.0.0.1:${tlsPort}`, version, "-cipher", "DEFAULT@SECLEVEL=0"], "");
      expect(out).toMatch(/alert protocol version|unsupported protocol|no protocols available/);
      expect(out).not.toMatch(/subject=/);
    }
  });

  test("a certificate replaced through the admin API: the next handshake gets the new one, a request in flight finishes", async () => {
    const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ host: "127.0.0.1", port: tlsPort, servername: "a.test", rejectUnauthorized: false }, () => resolve(s));
      s.on("error", reject);
    });
    expect(socket.getPeerCertificate().subject.CN).toBe("a.test");
    let received = "";
    const ended = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    socket.on("data", (chunk) => (received += chunk));
    socket.write("GET /slow HTTP/1.1\r\nHost: a.test\r\n\r\n");
    await Bun.sleep(100);
    const id = (await adminCall("GET", "/certificates")).body.data.find((c: { snis: string[] }) => c.snis.includes("a.test")).id;
    const replaced = await adminCall("PATCH", `/certificates/${id}`, { cert: pem("new.test.pem"), key: pem("new.test.key") });
    expect(replaced.status).toBe(200);
    expect(await servedName(tlsPort, "a.test")).toBe("new.test");
    await ended;
    // The request sent before the replacement was answered in full on its connection.
    expect(received).toStartWith("HTTP/1.1 200");
    expect(received).toContain('"x-forwarded-prefix":"/slow"');
    expect(Number(/x-gateway-upstream-latency: (\d+)/.exec(received)?.[1])).toBeGreaterThanOrEqual(300);
    // Deleting the certificate: its name falls back to the default certificate.
    expect((await adminCall("DELETE", `/certificates/${id}`)).status).toBe(204);
    expect(await servedName(tlsPort, "a.test")).toBe("default.test");
    await Bun.sleep(200);
    const log = readFileSync(file("access.log"), "utf8");
    expect(log).toContain('"message":"TLS certificates replaced"');
    expect(log).not.toContain("PRIVATE KEY");
  });
});

describe("route protocols", () => {
  test("an https-only route answers plain HTTP with Kong's 426", async () => {
    const response = await gateway.request("/secure/x?a=1");
    expect(response.status).toBe(426);
    expect(response.headers.get("x-request-id")).toBeTruthy();
    expect(response.headers.get("connection")).toBe("Upgrade");
    expect(response.headers.get("upgrade")).toBe("TLS/1.2, HTTP/1.1");
    expect(await response.json()).toEqual({ message: "Please use HTTPS protocol" });
  });

  test.each([301, 302, 307, 308])("https_redirect_status_code %d redirects to the TLS listener's port", async (code) => {
    const response = await gateway.request(`/r${code}/p?q=1&r=2`, { redirect: "manual", headers: { host: "api.example.com:8000" } });
    expect(response.status).toBe(code);
    expect(response.headers.get("location")).toBe(`https://api.example.com:${tlsPort}/r${code}/p?q=1&r=2`);
  });

  test("over TLS the https-only route is served and the http-only route is not matched", async () => {
    const secure = await run(["curl", "-sk", "-w", "\n%{http_code}", `https://127.0.0.1:${tlsPort}/secure`]);
    expect(secure.out.split("\n").pop()).toBe("200");
    const plainOnly = await run(["curl", "-sk", "-w", "\n%{http_code}", `https://127.0.0.1:${tlsPort}/plain-only`]);
    expect(plainOnly.out).toBe('{"message":"no Route matched with those values"}\n404');
    expect((await gateway.request("/plain-only")).status).toBe(200);
  });

  test("https_redirect_status_code outside 426/301/302/307/308 is refused", async () => {
    const reply = await adminCall("POST", "/routes", { service: { name: "echo" }, paths: ["/x"], https_redirect_status_code: 303 });
    expect(reply.status).toBe(400);
    expect(reply.body.message).toContain("https_redirect_status_code");
  });
});

test.each([
  ["10.0.0.5:8001", false, true],
  ["0.0.0.0:8001", false, true],
  ["10.0.0.5:8444", true, false],
  ["127.0.0.1:8001", false, false],
  ["[::1]:8001", false, false],
] as const)("admin listener %s (TLS %p): warned %p", (text, tls, warned) => {
  const [, v6, v4, port] = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text)!;
  const warning = adminExposureWarning({ hostname: v6 ?? v4!, port: Number(port) }, text, tls);
  expect(warning !== null).toBe(warned);
  if (warned) expect(warning).toContain("crosses the network in clear text; use --admin-listen-tls");
});
