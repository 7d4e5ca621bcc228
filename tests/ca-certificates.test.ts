// The ca_certificates entity and the service TLS fields through the admin API and declarative
// files: Kong's checks on the PEM (one certificate, a CA, not expired) with the field named,
// unknown ids refused, referenced CA certificates kept (409), and an export that loads back.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { checkDeclarative } from "../src/config/check.ts";
import { exportDeclarative, parseDeclarative } from "../src/config/declarative.ts";
import { builtinPlugins } from "../src/gateway.ts";
import { type AdminHarness, openAdmin } from "./admin-harness.ts";
import { tempDir } from "./support/gateway.ts";
import { type TestPki, makeTestPki } from "./support/test-pki.ts";

const dir = tempDir("gateway-ca-");
let pki: TestPki;
let admin: AdminHarness;

beforeAll(() => {
  pki = makeTestPki(dir);
  admin = openAdmin();
});

afterAll(() => {
  admin?.close();
  rmSync(dir, { recursive: true, force: true });
});

const UNKNOWN_ID = "00000000-0000-4000-8000-000000000000";
/** The id of the stored CA certificate with this PEM, stored now if it is not yet. */
async function caIdOf(cert: string): Promise<string> {
  const found = (await admin.call("GET", "/ca_certificates")).body.data.find((row: { cert: string }) => row.cert === cert);
  return found?.id ?? (await admin.call("POST", "/ca_certificates", { cert })).body.id;
}
const indent = (pem: string) => pem.trim().split("\n").join("\n      ");

describe("POST /ca_certificates", () => {
  test("a CA certificate is stored with Kong's cert_digest (SHA-256 of the DER)", async () => {
    const reply = await admin.call("POST", "/ca_certificates", { cert: pki.ca.cert, tags: ["internal"] });
    expect(reply.status).toBe(201);
    const der = new Bun.CryptoHasher("sha256").update(Buffer.from(pki.ca.cert.replace(/-----[^-]+-----|\s/g, ""), "base64")).digest("hex");
    expect(reply.body).toMatchObject({ cert: pki.ca.cert, cert_digest: der, tags: ["internal"] });
    expect((await admin.call("GET", `/ca_certificates/${reply.body.id}`)).body.cert_digest).toBe(der);
  });

  test.each([
    ["not PEM", () => "hello", "invalid certificate: not a PEM-encoded X.509 certificate (-----BEGIN CERTIFICATE-----)"],
    ["a damaged PEM block", () => "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "invalid certificate: the PEM block does not hold a valid X.509 certificate"],
    ["two certificates", () => pki.ca.cert + pki.clientCa.cert, "please submit only one certificate at a time"],
    ["a server certificate (not a CA)", () => pki.server.cert, 'certificate does not appear to be a CA because it is missing the "CA" basic constraint'],
    ["an expired CA", () => pki.expiredCa.cert, 'certificate expired, "Not After" time is in the past'],
    ["a private key with it", () => pki.clientCa.cert + pki.clientCa.key, "must not contain a private key: give only the CA's certificate"],
  ])("%s → 400 naming cert", async (_, cert, why) => {
    const before = admin.state();
    const reply = await admin.call("POST", "/ca_certificates", { cert: cert() });
    expect({ status: reply.status, fields: reply.body.fields }).toEqual({ status: 400, fields: { cert: why } });
    expect(reply.body.message).toBe(`schema violation (cert: ${why})`);
    expect(reply.text).not.toContain("PRIVATE KEY");
    expect(admin.state()).toBe(before);
  });

  test("cert missing → 400; the same certificate twice → 409 on cert_digest", async () => {
    expect((await admin.call("POST", "/ca_certificates", {})).body.fields).toEqual({ cert: "required field missing" });
    const first = await admin.call("POST", "/ca_certificates", { cert: pki.clientCa.cert });
    expect(first.status).toBe(201);
    const again = await admin.call("POST", "/ca_certificates", { cert: pki.clientCa.cert });
    expect({ status: again.status, fields: again.body.fields }).toEqual({ status: 409, fields: { cert_digest: "already exists" } });
    expect(again.body.message).toBe(`UNIQUE violation detected on '{cert_digest="${first.body.cert_digest}"}'`);
  });
});

describe("service TLS fields", () => {
  test("defaults are null (verify, system trust store); the fields are returned", async () => {
    const reply = await admin.call("POST", "/services", { name: "plain-https", url: "https://127.0.0.1:8443" });
    expect(reply.body).toMatchObject({ tls_verify: null, tls_verify_depth: null, ca_certificates: null });
  });

  test.each([
    ["an unknown ca_certificates id", { url: "https://127.0.0.1:8443", ca_certificates: [UNKNOWN_ID] }, { "ca_certificates[0]": `no such ca_certificate '${UNKNOWN_ID}'` }],
    ["a ca_certificates item that is not a uuid", { url: "https://127.0.0.1:8443", ca_certificates: ["internal"] }, { "ca_certificates[0]": "invalid value: expected UUID" }],
    ["tls_verify on an http service", { url: "http://127.0.0.1:8080", tls_verify: false }, { tls_verify: "must be null when protocol is http (TLS settings apply to https services)" }],
    ["an unknown client_certificate", { url: "https://127.0.0.1:8443", client_certificate: { id: UNKNOWN_ID } }, { client_certificate: `no such certificate '${UNKNOWN_ID}'` }],
    ["tls_verify_depth above 64", { url: "https://127.0.0.1:8443", tls_verify_depth: 65 }, { tls_verify_depth: expect.any(String) }],
    ["tls_verify as a string", { url: "https://127.0.0.1:8443", tls_verify: "no" }, { tls_verify: expect.any(String) }],
  ])("%s → 400 naming the field", async (_, body, fields) => {
    const before = admin.state();
    const reply = await admin.call("POST", "/services", body);
    expect({ status: reply.status, fields: reply.body.fields }).toEqual({ status: 400, fields });
    expect(admin.state()).toBe(before);
  });

  test("ca_certificates or client_certificate on an http service → 400; an empty list means the system store and is stored as null", async () => {
    const id = await caIdOf(pki.ca.cert);
    const before = admin.state();
    const refused = await admin.call("POST", "/services", { url: "http://127.0.0.1:8080", ca_certificates: [id] });
    expect({ status: refused.status, fields: refused.body.fields }).toEqual({ status: 400, fields: { ca_certificates: "must be null when protocol is http (TLS settings apply to https services)" } });
    expect(admin.state()).toBe(before);
    const certificate = (await admin.call("POST", "/certificates", { cert: pki.client.cert, key: pki.client.key })).body;
    const mtls = await admin.call("POST", "/services", { url: "http://127.0.0.1:8080", client_certificate: { id: certificate.id } });
    expect({ status: mtls.status, fields: mtls.body.fields }).toEqual({ status: 400, fields: { client_certificate: "must be null when protocol is http (TLS settings apply to https services)" } });
    const empty = await admin.call("POST", "/services", { name: "empty-list", url: "https://127.0.0.1:8443", ca_certificates: [] });
    expect({ status: empty.status, ca_certificates: empty.body.ca_certificates }).toEqual({ status: 201, ca_certificates: null });
  });

  test("a listed ca_certificate is not deleted (409, Kong's words) until no service lists it", async () => {
    const ca = (await admin.call("POST", "/ca_certificates", { cert: pki.selfSigned.cert })).body;
    const service = (await admin.call("POST", "/services", { name: "pinned", url: "https://localhost:8443", ca_certificates: [ca.id], tls_verify_depth: 2 })).body;
    expect(service).toMatchObject({ ca_certificates: [ca.id], tls_verify_depth: 2 });
    const refused = await admin.call("DELETE", `/ca_certificates/${ca.id}`);
    expect({ status: refused.status, message: refused.body.message }).toEqual({ status: 409, message: `ca certificate ${ca.id} is still referenced by services (id = ${service.id})` });
    expect((await admin.call("GET", `/ca_certificates/${ca.id}`)).status).toBe(200);
    expect((await admin.call("PATCH", "/services/pinned", { ca_certificates: null })).status).toBe(200);
    expect((await admin.call("DELETE", `/ca_certificates/${ca.id}`)).status).toBe(204);
  });
});

describe("declarative ca_certificates", () => {
  const file = (cert: string, ids: string[]) => `
_format_version: "3.0"
ca_certificates:
  - id: 6a1f3a4e-2c1b-4d5e-8f90-1a2b3c4d5e6f
    cert: |
      ${indent(cert)}
services:
  - name: internal
    url: https://localhost:8443
    ca_certificates: [${ids.join(", ")}]
`;

  test("a file's ca_certificates are loaded and a service lists them; an export loads back the same", () => {
    const state = parseDeclarative(file(pki.ca.cert, ["6a1f3a4e-2c1b-4d5e-8f90-1a2b3c4d5e6f"]), builtinPlugins);
    expect(state.ca_certificates).toEqual([expect.objectContaining({ id: "6a1f3a4e-2c1b-4d5e-8f90-1a2b3c4d5e6f", cert: expect.stringContaining("BEGIN CERTIFICATE"), cert_digest: expect.stringMatching(/^[0-9a-f]{64}$/) })]);
    expect(state.services[0]!.ca_certificates).toEqual(["6a1f3a4e-2c1b-4d5e-8f90-1a2b3c4d5e6f"]);
    const exported = exportDeclarative(state, { format: "yaml" });
    expect(exported).toContain("cert_digest:");
    const again = parseDeclarative(exported, builtinPlugins);
    expect(again.ca_certificates.map(({ id, cert, cert_digest }) => ({ id, cert, cert_digest }))).toEqual(state.ca_certificates.map(({ id, cert, cert_digest }) => ({ id, cert, cert_digest })));
    expect(again.services[0]!.ca_certificates).toEqual(state.services[0]!.ca_certificates);
  });

  test("a bad PEM is an error naming ca_certificates[0].cert", () => {
    expect(() => parseDeclarative(file(pki.server.cert, []), builtinPlugins)).toThrow(
      `in ca_certificate '6a1f3a4e-2c1b-4d5e-8f90-1a2b3c4d5e6f' at ca_certificates[0]: cert: certificate does not appear to be a CA because it is missing the "CA" basic constraint`,
    );
  });

  test("an unknown id in a service's ca_certificates is an error naming the service and the item", () => {
    expect(() => parseDeclarative(file(pki.ca.cert, [UNKNOWN_ID]), builtinPlugins)).toThrow(
      `in service 'internal' at services[0]: ca_certificates[0]: no such ca_certificate '${UNKNOWN_ID}'`,
    );
  });

  test("a service's client_certificate names a file's certificate; an unknown one is an error naming it", () => {
    const mtls = (id: string) => `
_format_version: "3.0"
certificates:
  - id: 7b2e4c6a-1d3f-4a5b-9c8d-0e1f2a3b4c5d
    cert: |
      ${indent(pki.client.cert)}
    key: |
      ${indent(pki.client.key)}
services:
  - name: mtls
    url: https://localhost:8443
    client_certificate: { id: ${id} }
`;
    const state = parseDeclarative(mtls("7b2e4c6a-1d3f-4a5b-9c8d-0e1f2a3b4c5d"), builtinPlugins);
    expect(state.services[0]!.client_certificate).toEqual({ id: "7b2e4c6a-1d3f-4a5b-9c8d-0e1f2a3b4c5d" });
    expect(() => parseDeclarative(mtls(UNKNOWN_ID), builtinPlugins)).toThrow(`services[0]: client_certificate: invalid reference 'client_certificate: ${UNKNOWN_ID}' (no such entry in 'certificates')`);
  });

  test("config check says how upstream TLS differs from Kong: verified by default, tls_verify_depth not enforced", () => {
    const differences = (fields: string) =>
      checkDeclarative(`_format_version: "3.0"\nservices:\n  - name: s\n    url: https://localhost:8443\n${fields}`, builtinPlugins).differences.filter((d) => d.readme === "Upstream TLS (verified by default)").map((d) => d.what);
    expect(differences("")).toEqual([
      "an https service's certificate and host name are verified unless it says tls_verify: false (Kong's default is not to verify); its ca_certificates replace the system trust store, as in Kong",
    ]);
    expect(differences("    tls_verify: false\n")).toEqual([]);
    expect(differences("    tls_verify: true\n    tls_verify_depth: 2\n")).toEqual(["tls_verify_depth is stored, not enforced: the certificate chain is verified without a depth limit"]);
  });
});
