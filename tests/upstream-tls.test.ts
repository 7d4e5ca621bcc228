// Verified upstream TLS against real Node https servers with openssl-made certificates: the
// gateway checks each https upstream's certificate and host name by default, trusts a
// service's ca_certificates instead of the system store, opts out only on tls_verify: false
// (warned once), presents a service's client_certificate to an upstream that requires one
// (mTLS), and answers a refused certificate with a 502 whose log line says why.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type HttpsUpstreams, startHttpsUpstreams } from "./support/https-upstream.ts";
import { type TestGateway, startTestGateway, tempDir } from "./support/gateway.ts";
import { type TestPki, makeTestPki } from "./support/test-pki.ts";

const dir = tempDir("gateway-uptls-");
const logFile = join(dir, "access.log");
let pki: TestPki;
let upstreams: HttpsUpstreams;
let gateway: TestGateway;
const caIds: Record<string, string> = {};

const BAD_GATEWAY = { message: "An invalid response was received from the upstream server" };

beforeAll(async () => {
  pki = makeTestPki(dir);
  upstreams = await startHttpsUpstreams({
    server: pki.server,
    selfSigned: pki.selfSigned,
    wrongHost: pki.wrongHost,
    expired: pki.expired,
    mtls: { ...pki.server, clientCa: pki.clientCa.cert },
  });
  // A TLS listener too (with the test CA's localhost certificate): requests that come in over
  // TLS are verified upstream the same way.
  gateway = startTestGateway({ accessLog: logFile, proxyListenTls: { hostname: "127.0.0.1", port: 0 }, tlsDefault: pki.server });
  caIds.ca = gateway.store.create("ca_certificates", { cert: pki.ca.cert }).id;
  caIds.selfSigned = gateway.store.create("ca_certificates", { cert: pki.selfSigned.cert }).id;
  caIds.clientCa = gateway.store.create("ca_certificates", { cert: pki.clientCa.cert }).id;
});

afterAll(async () => {
  await gateway?.close();
  await upstreams?.stop();
  rmSync(dir, { recursive: true, force: true });
});

let routeCount = 0;
/** A service and a route to it at /<name>; the upstream by its name, reached at `host`. */
function expose(name: string, upstream: string, fields: Record<string, unknown> = {}, host = "127.0.0.1"): string {
  gateway.store.create("services", { name, url: `https://${host}:${upstreams.ports[upstream]}`, ...fields });
  gateway.store.create("routes", { name: `r${++routeCount}`, service: { name }, paths: [`/${name}`] });
  return `/${name}`;
}

interface LogLine {
  request_id?: string;
  status?: number;
  error_code?: string;
  error?: string;
  level?: string;
  message?: string;
  service?: string;
}

function logLines(): LogLine[] {
  gateway.accessLog.flush();
  return readFileSync(logFile, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line) as LogLine);
}

async function call(path: string): Promise<{ status: number; body: any; log: LogLine | undefined }> {
  const requestId = crypto.randomUUID();
  const response = await gateway.request(path, { headers: { "x-request-id": requestId } });
  const body = await response.json();
  return { status: response.status, body, log: logLines().find((line) => line.request_id === requestId) };
}

describe("https upstreams are verified by default", () => {
  test("a self-signed upstream is refused: 502 with Kong's body; the log says self-signed", async () => {
    const path = expose("self-default", "selfSigned");
    const { status, body, log } = await call(path);
    expect({ status, body }).toEqual({ status: 502, body: BAD_GATEWAY });
    expect(log).toMatchObject({ status: 502, error_code: "upstream_tls_failed", error: "upstream TLS: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)" });
  });

  test("an upstream signed by a CA the system does not trust is refused (unknown CA)", async () => {
    const { status, body, log } = await call(expose("unknown-ca", "server"));
    expect({ status, body }).toEqual({ status: 502, body: BAD_GATEWAY });
    expect(log?.error).toBe("upstream TLS: certificate issued by an unknown CA (UNABLE_TO_VERIFY_LEAF_SIGNATURE)");
  });

  test("NODE_TLS_REJECT_UNAUTHORIZED=0 in the environment does not turn verification off", async () => {
    const path = expose("env-off", "selfSigned");
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";
    try {
      expect((await call(path)).status).toBe(502);
    } finally {
      delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    }
  });
});

describe("ca_certificates are the service's trust store", () => {
  test("the self-signed upstream is accepted with its certificate in ca_certificates", async () => {
    const { status, body } = await call(expose("self-trusted", "selfSigned", { ca_certificates: [caIds.selfSigned] }));
    expect({ status, server: body.server }).toEqual({ status: 200, server: "selfSigned" });
  });

  test("a CA-signed upstream is accepted by IP and by host name with the CA in ca_certificates", async () => {
    for (const [name, host] of [["ca-by-ip", "127.0.0.1"], ["ca-by-name", "localhost"]] as const) {
      const { status, body } = await call(expose(name, "server", { ca_certificates: [caIds.ca] }, host));
      expect({ name, status, server: body.server }).toEqual({ name, status: 200, server: "server" });
    }
  });

  test("another service's CA is not trusted: the store is per service", async () => {
    const { status, log } = await call(expose("other-ca", "server", { ca_certificates: [caIds.clientCa, caIds.selfSigned] }));
    expect({ status, error: log?.error }).toEqual({ status: 502, error: "upstream TLS: certificate issued by an unknown CA (UNABLE_TO_VERIFY_LEAF_SIGNATURE)" });
  });

  test("a certificate for another host name is refused even from a trusted CA (host name mismatch)", async () => {
    const { status, body, log } = await call(expose("wrong-host", "wrongHost", { ca_certificates: [caIds.ca] }));
    expect({ status, body }).toEqual({ status: 502, body: BAD_GATEWAY });
    expect(log?.error).toBe("upstream TLS: host name mismatch (the certificate does not name the service's host) (ERR_TLS_CERT_ALTNAME_INVALID)");
  });

  test("an expired certificate from a trusted CA is refused (certificate expired)", async () => {
    const { status, log } = await call(expose("expired", "expired", { ca_certificates: [caIds.ca] }));
    expect({ status, error: log?.error }).toEqual({ status: 502, error: "upstream TLS: certificate expired (CERT_HAS_EXPIRED)" });
  });

  test("a trusted upstream's keep-alive connection is reused across requests", async () => {
    const path = expose("reuse", "server", { ca_certificates: [caIds.ca] });
    await call(path);
    const before = (await upstreams.connections()).server!;
    for (let i = 0; i < 5; i++) expect((await call(path)).status).toBe(200);
    expect((await upstreams.connections()).server).toBe(before);
  });
});

describe("over the gateway's TLS listener", () => {
  test("the same verification applies, also when the TLS listener has its own router", async () => {
    // An http-only route makes the TLS listener's route table a separate one.
    gateway.store.create("services", { name: "plain-only", url: "http://127.0.0.1:9" });
    gateway.store.create("routes", { name: "plain-only", service: { name: "plain-only" }, paths: ["/plain-only"], protocols: ["http"] });
    const trusted = expose("over-tls-trusted", "server", { ca_certificates: [caIds.ca] });
    const refused = expose("over-tls-refused", "selfSigned");
    const over = (path: string) => fetch(`https://localhost:${gateway.tlsProxy!.port}${path}`, { tls: { ca: pki.ca.cert } } as RequestInit);
    expect((await over(trusted)).status).toBe(200);
    const answer = await over(refused);
    expect({ status: answer.status, body: await answer.json() }).toEqual({ status: 502, body: BAD_GATEWAY });
  });
});

describe("https services balanced over an upstream's targets", () => {
  test("each target is verified with the service's settings: trusted through ca_certificates, refused without", async () => {
    for (const [name, port] of [["tls-pool", upstreams.ports.server], ["tls-pool-self", upstreams.ports.selfSigned]] as const) {
      const upstream = gateway.store.create("upstreams", { name });
      gateway.store.create("targets", { target: `127.0.0.1:${port}` }, { kind: "upstreams", id: upstream.id });
    }
    const trusted = expose("balanced-trusted", "server", { ca_certificates: [caIds.ca] }, "tls-pool");
    expect((await call(trusted)).status).toBe(200);
    const refused = await call(expose("balanced-self", "selfSigned", {}, "tls-pool-self"));
    expect({ status: refused.status, error: refused.log?.error }).toEqual({ status: 502, error: "upstream TLS: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)" });
  });
});

describe("tls_verify: false", () => {
  test("accepts the self-signed upstream and the wrong host name, and is warned about once", async () => {
    const self = expose("unverified", "selfSigned", { tls_verify: false });
    const wrong = expose("unverified-host", "wrongHost", { tls_verify: false });
    expect((await call(self)).status).toBe(200);
    expect((await call(wrong)).status).toBe(200);
    // More rebuilds of the state: the warning is not repeated.
    gateway.store.update("services", "unverified", { read_timeout: 30000 });
    gateway.store.create("consumers", { username: "rebuild" });
    const warnings = logLines().filter((line) => line.level === "warn" && line.service === "unverified");
    expect(warnings).toEqual([
      expect.objectContaining({ message: `service "unverified" has tls_verify: false: its upstream's certificate and host name are NOT verified` }),
    ]);
  });

  test("a tls_verify_depth, which Bun cannot enforce, is warned about once; verification still happens", async () => {
    const path = expose("with-depth", "server", { ca_certificates: [caIds.ca], tls_verify_depth: 1 });
    expect((await call(path)).status).toBe(200);
    gateway.store.update("services", "with-depth", { read_timeout: 20000 });
    expect(logLines().filter((line) => line.level === "warn" && line.service === "with-depth")).toEqual([
      expect.objectContaining({ message: `service "with-depth" sets tls_verify_depth 1, which is not enforced (the chain is verified without a depth limit)` }),
    ]);
    expect((await call(expose("depth-self", "selfSigned", { tls_verify_depth: 1 }))).status).toBe(502);
  });

  test("turning verification back on refuses the self-signed upstream again", async () => {
    const path = expose("toggled", "selfSigned", { tls_verify: false });
    expect((await call(path)).status).toBe(200);
    gateway.store.update("services", "toggled", { tls_verify: null });
    expect((await call(path)).status).toBe(502);
  });
});

describe("client_certificate (mTLS)", () => {
  let clientId = "";
  beforeAll(() => {
    clientId = gateway.store.create("certificates", { cert: pki.client.cert, key: pki.client.key }).id;
  });

  test("an upstream that requires a client certificate gets the service's, and sees its CN", async () => {
    const { status, body } = await call(expose("mtls", "mtls", { ca_certificates: [caIds.ca], client_certificate: { id: clientId } }));
    expect({ status, body }).toEqual({ status: 200, body: { server: "mtls", path: "/", client: "gateway-client" } });
  });

  test("without a client certificate the upstream refuses the handshake: 502, the log says so", async () => {
    const { status, body, log } = await call(expose("mtls-none", "mtls", { ca_certificates: [caIds.ca] }));
    expect({ status, body }).toEqual({ status: 502, body: BAD_GATEWAY });
    expect(log).toMatchObject({ error_code: "upstream_tls_failed", error: expect.stringContaining("TLS handshake failed") });
  });

  test("with tls_verify: false the client certificate is still presented", async () => {
    const { status, body } = await call(expose("mtls-unverified", "mtls", { tls_verify: false, client_certificate: { id: clientId } }));
    expect({ status, client: body.client }).toEqual({ status: 200, client: "gateway-client" });
  });

  test("a certificate a service presents is not deleted (409); the key never appears in the service", async () => {
    expect(() => gateway.store.delete("certificates", clientId)).toThrow(`certificate '${clientId}' still has 2 service(s); delete them first`);
    expect(JSON.stringify(gateway.store.get("services", "mtls"))).not.toContain("PRIVATE KEY");
  });

  test("a CA certificate or client certificate removed behind the store's back trusts nothing: 502, the log says why", async () => {
    const extraCa = gateway.store.create("ca_certificates", { cert: pki.otherCa.cert }).id;
    const extraClient = gateway.store.create("certificates", { cert: pki.client.cert, key: pki.client.key }).id;
    const lostCa = expose("lost-ca", "server", { ca_certificates: [extraCa] });
    const lostClient = expose("lost-client", "mtls", { ca_certificates: [caIds.ca], client_certificate: { id: extraClient } });
    const sqlite = gateway.opened.sqlite;
    sqlite.run("PRAGMA foreign_keys = OFF");
    sqlite.run("DELETE FROM ca_certificates WHERE id = ?", [extraCa]);
    sqlite.run("DELETE FROM certificates WHERE id = ?", [extraClient]);
    sqlite.run("PRAGMA foreign_keys = ON");
    gateway.state.reload();
    const ca = await call(lostCa);
    expect({ status: ca.status, body: ca.body, error: ca.log?.error }).toEqual({ status: 502, body: BAD_GATEWAY, error: "upstream TLS: none of the service's ca_certificates exists, so no certificate is trusted" });
    const client = await call(lostClient);
    expect({ status: client.status, error: client.log?.error }).toEqual({ status: 502, error: "upstream TLS: the service's client_certificate does not exist" });
  });
});
