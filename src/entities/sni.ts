// SNI: a server name (exact, `*.example.com` or `example.*`, as Kong) whose TLS handshakes the
// proxy answers with one certificate.
import { type RecordOf, defineEntity, reference } from "./definition.ts";
import { t } from "./t.ts";

/** Kong's wildcard host: one `*`, leftmost (`*.example.com`) or rightmost (`example.*`). */
export const SniName = t.String({
  minLength: 1,
  maxLength: 253,
  pattern: "^(\\*\\.)?[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*$|^[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*\\.\\*$",
  description: "host name: exact, `*.example.com` or `example.*`",
  examples: ["api.example.com"],
});

export const sniEntity = defineEntity({
  name: "snis",
  label: "sni",
  schemaName: "Sni",
  fields: {
    name: { storage: "text", input: SniName, output: t.String(), required: true, unique: true, endpointKey: true, normalize: (name: string) => name.toLowerCase() },
    certificate: reference("certificates", { onDelete: "cascade", index: true }),
  },
  inputExamples: [{ name: "api.example.com", certificate: { id: "7f1c6b2a-3d4e-4f5a-8b9c-0d1e2f3a4b5c" } }],
  example: { id: "2a9c1d0e-5b11-4b3f-9d7e-7a2e6f3a4f38", name: "api.example.com", certificate: { id: "7f1c6b2a-3d4e-4f5a-8b9c-0d1e2f3a4b5c" }, tags: [], created_at: 1795000000, updated_at: 1795000000 },
  declarative: { idSeed: (entry, _refs, position) => `snis:${entry.name ?? position}` },
  admin: {
    tag: "snis",
    tagDescription: "Server names (TLS SNI) and the certificate each is answered with",
    noun: "sni",
    nouns: "snis",
    param: { name: "sni", description: "id or name of the SNI", example: "api.example.com" },
    collections: [
      {
        under: "certificates",
        path: "snis",
        stem: "CertificateSni",
        stems: "CertificateSnis",
        methods: ["list", "create"],
        examples: { create: [{ summary: "a name answered with this certificate", value: { name: "www.example.com" } }] },
      },
      {
        path: "/snis",
        stem: "Sni",
        stems: "Snis",
        itemParam: "sni",
        methods: ["list", "create", "get", "update", "upsert", "delete"],
        examples: {
          create: [{ summary: "a wildcard name", value: { name: "*.example.com", certificate: { id: "7f1c6b2a-3d4e-4f5a-8b9c-0d1e2f3a4b5c" } } }],
          upsert: [{ summary: "point the name at another certificate", value: { certificate: { id: "7f1c6b2a-3d4e-4f5a-8b9c-0d1e2f3a4b5c" } } }],
          update: [{ summary: "new tags", value: { tags: ["edge"] } }],
        },
      },
    ],
    referenceLinks: [{ field: "certificate", collection: "/snis", summary: "Get the certificate of an SNI", description: "the SNI's certificate (its private key omitted)" }],
  },
  cli: {
    columns: [
      { header: "NAME", value: (s) => s.name },
      { header: "CERTIFICATE_ID", value: (s) => s.certificate.id },
      { header: "ID", value: (s) => s.id },
    ],
  },
});

export type Sni = RecordOf<typeof sniEntity.fields>;
