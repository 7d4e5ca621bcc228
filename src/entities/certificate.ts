// Certificate: a TLS certificate chain and its private key (Kong's entity), with an optional
// second pair of the other key type (`cert_alt`/`key_alt`, RSA beside ECDSA). The keys are
// private fields: stored, never returned by the admin API, the CLI or an export without
// private keys. Names are given as `snis` entities or as the `snis` shorthand list here.
import { createHash } from "node:crypto";
import { type FieldErrors, GatewayError } from "../errors.ts";
import { EXAMPLE_CERT, EXAMPLE_KEY } from "../tls/example-certificate.ts";
import { checkPair, keyTypeOf } from "../tls/pem.ts";
import { schemaErrors } from "./common.ts";
import { type RecordOf, type StoredEntity, defineEntity, nullable } from "./definition.ts";
import { SniName } from "./sni.ts";
import { t } from "./t.ts";

// A cert+key bundle (one file for both) would store the key in `cert`, which every read returns.
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;
const Pem = t.String({ minLength: 1, maxLength: 65536 });
const ShorthandSnis = t.Array(SniName, { maxItems: 256, uniqueItems: true, description: "server names answered with this certificate (shorthand for snis entities)" });

/** Kong's files write `snis: [{name: x}]` as well as `snis: [x]`. */
const sniNames = (list: unknown): unknown =>
  Array.isArray(list) ? list.map((item) => (typeof item === "object" && item !== null && "name" in item ? (item as { name: unknown }).name : item)) : list;

export const certificateEntity = defineEntity({
  name: "certificates",
  label: "certificate",
  schemaName: "Certificate",
  fields: {
    cert: { storage: "text", input: Pem, output: t.String({ description: "PEM chain, leaf first" }), required: true },
    key: { storage: "text", input: Pem, output: t.String(), required: true, private: true },
    cert_alt: { storage: "text", input: nullable(Pem), output: nullable(t.String()) },
    key_alt: { storage: "text", input: nullable(Pem), output: nullable(t.String()), private: true },
    snis: { storage: "json", input: nullable(ShorthandSnis), output: t.Array(t.String()), default: [], normalize: (names: string[] | null) => (names ?? []).map((name) => name.toLowerCase()) },
  },
  inputExamples: [{ cert: EXAMPLE_CERT, key: EXAMPLE_KEY, snis: ["api.example.com"] }],
  example: {
    id: "7f1c6b2a-3d4e-4f5a-8b9c-0d1e2f3a4b5c", cert: EXAMPLE_CERT, cert_alt: null,
    snis: ["api.example.com"], tags: [], created_at: 1795000000, updated_at: 1795000000,
  },
  complete(certificate, { fields }) {
    for (const [cert, key] of [["cert", "key"], ["cert_alt", "key_alt"]] as const) {
      if (PRIVATE_KEY.test(certificate[cert] ?? "")) fields[cert] = `must not contain a private key: give the key in '${key}'`;
    }
    if (Object.keys(fields).length) return;
    const main = checkPair(certificate.cert, certificate.key, { cert: "cert", key: "key" }, fields);
    if ((certificate.cert_alt === null) !== (certificate.key_alt === null)) {
      fields[certificate.cert_alt === null ? "cert_alt" : "key_alt"] = "cert_alt and key_alt must be given together";
      return;
    }
    if (certificate.cert_alt === null || certificate.key_alt === null) return;
    const alt = checkPair(certificate.cert_alt, certificate.key_alt, { cert: "cert_alt", key: "key_alt" }, fields);
    if (main && alt && keyTypeOf(main) === keyTypeOf(alt)) fields.cert_alt = "certificate and alternative certificate need to have different type (e.g. RSA and ECDSA)";
  },
  declarative: {
    idSeed: (entry, _refs, position) => `certificates:${position}`,
    migrate(entry) {
      if ("snis" in entry) entry.snis = sniNames(entry.snis);
    },
    fromFile: (entries, previous, fail): StoredEntity[] => certificatesFromDeclarative(entries, previous, fail),
    // One certificate per name within a file, as Kong's unique snis.
    uniques: (certificate) => (certificate.snis as string[]).map((name): [string, string] => ["snis", name]),
  },
  admin: {
    tag: "certificates",
    tagDescription: "TLS certificates of the proxy listener (private keys are never returned)",
    inputDescription: "A PEM certificate chain (leaf first) and its unencrypted private key, RSA or ECDSA.",
    noun: "certificate",
    nouns: "certificates",
    param: { name: "certificate", description: "id of the certificate", example: "7f1c6b2a-3d4e-4f5a-8b9c-0d1e2f3a4b5c" },
    collections: [
      {
        path: "/certificates",
        stem: "Certificate",
        stems: "Certificates",
        itemParam: "certificate",
        methods: ["list", "create", "get", "update", "upsert", "delete"],
        examples: {
          create: [{ summary: "a certificate for one name", value: { id: "7f1c6b2a-3d4e-4f5a-8b9c-0d1e2f3a4b5c", cert: EXAMPLE_CERT, key: EXAMPLE_KEY, snis: ["api.example.com"] } }],
          upsert: [{ summary: "replace the certificate (renewal)", value: { cert: EXAMPLE_CERT, key: EXAMPLE_KEY } }],
          update: [{ summary: "another name", value: { snis: ["api.example.com", "www.example.com"] } }],
        },
      },
    ],
    delete: { description: "Also deletes the certificate's SNIs. The next TLS handshake for those names gets the default certificate." },
  },
  cli: {
    columns: [
      { header: "SNIS", value: (c) => c.snis },
      { header: "ALT", value: (c) => c.cert_alt !== null },
      { header: "ID", value: (c) => c.id },
    ],
  },
});

export type Certificate = RecordOf<typeof certificateEntity.fields>;

interface StoredPair {
  id: string;
  cert: string;
  key: string;
  cert_alt: string | null;
  key_alt: string | null;
}

/**
 * Certificates of a declarative file. An export leaves the private keys out unless asked; an
 * entry without `key` (or `key_alt`) keeps the one the running state holds for the same id and
 * certificate, so importing such an export loses nothing; otherwise it is refused naming `key`.
 */
function certificatesFromDeclarative(entries: Record<string, unknown>[], previous: readonly StoredPair[], fail: (position: string, fields: FieldErrors) => never): StoredEntity[] {
  return entries.map((raw, i) => {
    const position = `certificates[${i}]`;
    const entry = { ...raw };
    certificateEntity.declarative.migrate!(entry, "3.0");
    const kept = previous.find((certificate) => certificate.id === entry.id && certificate.cert === entry.cert);
    if (entry.key === undefined && kept) entry.key = kept.key;
    if (entry.key_alt === undefined && kept?.key_alt && kept.cert_alt === entry.cert_alt) entry.key_alt = kept.key_alt;
    const errors = schemaErrors(certificateEntity.input, entry);
    if (Object.keys(errors).length) fail(position, errors);
    // Stable across reloads of the same file, so an unchanged certificate keeps its id.
    entry.id ??= uuidFrom(`certificates:${position}:${String(entry.cert)}`);
    try {
      return (certificateEntity as { build(input: unknown, refs: object, ctx: object): StoredEntity }).build(entry, {}, { registry: new Map(), lookup: undefined });
    } catch (error) {
      if (error instanceof GatewayError && error.fields) fail(position, error.fields);
      throw error;
    }
  });
}

function uuidFrom(seed: string): string {
  const hex = createHash("sha256").update(seed).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex[16]!, 16) & 3) | 8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
