// CA certificate (Kong's `ca_certificates`): a trust anchor a service lists in its own
// `ca_certificates` to verify its upstream's certificate. Checked as Kong checks it: one PEM
// certificate, a CA (basic constraint CA:TRUE), not expired; `cert_digest` is derived from it.
import { X509Certificate, createHash } from "node:crypto";
import { type RecordOf, defineEntity } from "./definition.ts";
import { t } from "./t.ts";

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----/g;
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/** The certificate of a PEM text, or why it is not one Kong would take as a CA certificate. */
export function parseCaCertificate(pem: string, now = Date.now()): { certificate: X509Certificate } | { error: string } {
  // A key pasted along with the certificate would be stored in a field every read returns.
  if (PRIVATE_KEY.test(pem)) return { error: "must not contain a private key: give only the CA's certificate" };
  const count = pem.match(PEM_CERTIFICATE)?.length ?? 0;
  if (count === 0) return { error: "invalid certificate: not a PEM-encoded X.509 certificate (-----BEGIN CERTIFICATE-----)" };
  if (count > 1) return { error: "please submit only one certificate at a time" };
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch {
    return { error: "invalid certificate: the PEM block does not hold a valid X.509 certificate" };
  }
  if (certificate.validToDate.getTime() < now) return { error: 'certificate expired, "Not After" time is in the past' };
  if (!certificate.ca) return { error: 'certificate does not appear to be a CA because it is missing the "CA" basic constraint' };
  return { certificate };
}

/** Kong's `cert_digest`: the SHA-256 of the certificate's DER, in lower-case hex. */
export const certificateDigest = (certificate: X509Certificate): string => createHash("sha256").update(certificate.raw).digest("hex");

const CertPem = t.String({ minLength: 1, maxLength: 65536, description: "PEM-encoded certificate of the CA (one certificate)" });
const Digest = t.String({ pattern: "^[0-9a-f]{64}$", description: "SHA-256 of the certificate (derived from cert)" });

const EXAMPLE_ID = "5d3c2b1a-0f9e-4d8c-b7a6-958473625140";
// Real CA certificates (valid until 2126, keys discarded), so the documented examples are accepted.
const EXAMPLE_CA = `-----BEGIN CERTIFICATE-----
MIIBojCCAUmgAwIBAgIUNLjLjQ+DOanLaDqc2g2l6p66H2owCgYIKoZIzj0EAwIw
HjEcMBoGA1UEAwwTRXhhbXBsZSBJbnRlcm5hbCBDQTAgFw0yNjEyMDIwNDIxMDJa
GA8yMTI2MTEwODA0MjEwMlowHjEcMBoGA1UEAwwTRXhhbXBsZSBJbnRlcm5hbCBD
QTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABI15OJ9mkjjbHm2wpld+v+k2ERPa
lgL4lmt8sVUKkHAAxRPFNfKFYPptIHqYfyD2BAF7FYHIoxfNSPAAQ4k1Dq2jYzBh
MB0GA1UdDgQWBBRLRa0vk78HBLkGGQu9OrMByZHgfDAfBgNVHSMEGDAWgBRLRa0v
k78HBLkGGQu9OrMByZHgfDAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwIB
BjAKBggqhkjOPQQDAgNHADBEAiAm3zu/WC0gqTICkOWQf4on1TMAtliXOMe8KTEQ
6kwXIQIgRrY9f4y5461tYKeCEvO1gWNs8M1KwLamqEsX9ULz2fU=
-----END CERTIFICATE-----
`;
const EXAMPLE_PARTNER_CA = `-----BEGIN CERTIFICATE-----
MIIBojCCAUegAwIBAgIUbKJCha9Y+e5+p3v/NUA7S43gnkUwCgYIKoZIzj0EAwIw
HTEbMBkGA1UEAwwSRXhhbXBsZSBQYXJ0bmVyIENBMCAXDTI2MTIwMjA0MjExMloY
DzIxMjYxMTA4MDQyMTEyWjAdMRswGQYDVQQDDBJFeGFtcGxlIFBhcnRuZXIgQ0Ew
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQoJKtf7eyju9NnpmNNPnN1gqjE8qXU
e66Par2OrTzZNjzvjWPRaUf2tHsDT04V01bsRQ/5LrT6wfyFZMUfm4B2o2MwYTAd
BgNVHQ4EFgQUBXfIGrMDEkFKpZkGkK/3iEO0K6MwHwYDVR0jBBgwFoAUBXfIGrMD
EkFKpZkGkK/3iEO0K6MwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAQYw
CgYIKoZIzj0EAwIDSQAwRgIhAPBBi+DHoWcuxVPdA3n3pjFfjht1cO2iuUE5NeeC
w9UXAiEAjAfVEWnF41IYDVm/GdwgQa4ddBKDUEDx3oIXHrzppbY=
-----END CERTIFICATE-----
`;

export const caCertificateEntity = defineEntity({
  name: "ca_certificates",
  label: "ca_certificate",
  schemaName: "CaCertificate",
  fields: {
    cert: { storage: "text", input: CertPem, output: t.String(), required: true },
    // Accepted so an export loads back; always recomputed from cert.
    cert_digest: { storage: "text", input: Digest, output: Digest, unique: true },
  },
  inputExamples: [{ cert: EXAMPLE_CA, tags: ["internal-ca"] }],
  example: {
    id: EXAMPLE_ID, cert: EXAMPLE_PARTNER_CA, cert_digest: "07d158919102cec3cd1ecc06ec25e45626b3f9cecc389e673ca497da46f1de5c", tags: [], created_at: 1795000000, updated_at: 1795000000,
  },
  complete(entry, { fields }) {
    const parsed = parseCaCertificate(entry.cert);
    if ("error" in parsed) fields.cert = parsed.error;
    else entry.cert_digest = certificateDigest(parsed.certificate);
  },
  declarative: {
    idSeed: (entry, _refs, position) => `ca_certificates:${typeof entry.cert === "string" ? createHash("sha256").update(entry.cert).digest("hex") : position}`,
  },
  admin: {
    tag: "ca_certificates",
    tagDescription: "Trust anchors services verify their upstream's certificate against",
    noun: "ca_certificate",
    nouns: "ca_certificates",
    param: { name: "ca_certificate", description: "id of the CA certificate", example: EXAMPLE_ID },
    collections: [
      {
        path: "/ca_certificates",
        stem: "CaCertificate",
        stems: "CaCertificates",
        itemParam: "ca_certificate",
        idOnly: true,
        methods: ["list", "create", "get", "update", "upsert", "delete"],
        examples: {
          create: [{ summary: "an internal CA", value: { cert: EXAMPLE_CA } }],
          upsert: [{ summary: "create or replace the CA certificate with this id", value: { cert: EXAMPLE_PARTNER_CA } }],
          update: [{ summary: "new tags", value: { tags: ["internal-ca", "2027"] } }],
        },
      },
    ],
    delete: { description: "A CA certificate that a service lists in `ca_certificates` is not deleted (409): remove it from the service first." },
  },
  cli: {
    nouns: "ca certificates",
    columns: [
      { header: "ID", value: (c) => c.id },
      { header: "SUBJECT", value: (c) => subjectOf(c.cert) },
      { header: "NOT_AFTER", value: (c) => notAfterOf(c.cert) },
      { header: "CERT_DIGEST", value: (c) => c.cert_digest },
    ],
  },
});

function subjectOf(pem: string): string {
  try {
    return new X509Certificate(pem).subject.replaceAll("\n", ", ");
  } catch {
    return "";
  }
}

function notAfterOf(pem: string): string {
  try {
    return new X509Certificate(pem).validToDate.toISOString();
  } catch {
    return "";
  }
}

export type CaCertificate = RecordOf<typeof caCertificateEntity.fields>;
