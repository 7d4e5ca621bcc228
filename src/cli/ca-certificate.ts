// `gateway ca-certificate add|list|get|delete`: trust anchors for services' upstream TLS.
import { commandGroup, required } from "./command.ts";
import { addCommand, deleteCommand, getCommand, listCommand, tagsOf } from "./entity-commands.ts";
import { readTextFile } from "./key-files.ts";

const base = { group: "ca-certificate", kind: "ca_certificates", noun: "CA certificate" } as const;

export const caCertificateCommand = commandGroup(
  "ca-certificate",
  "manage CA certificates (upstream trust anchors)",
  "CA certificates: what a service lists in ca_certificates to verify its https upstream's certificate.",
  [
    addCommand({
      ...base,
      summary: "store a CA certificate",
      synopsis: "--cert FILE [--tag TAG ...]",
      options: `  --cert FILE            the CA's certificate, PEM (one certificate, CA:TRUE, not expired)
  --tag TAG              a tag (repeatable)
`,
      flags: { cert: { type: "string" }, tag: { type: "string", multiple: true } },
      build: (values) => ({
        input: { cert: readTextFile(required(values.cert as string | undefined, "--cert", "the PEM file of the CA certificate"), "--cert"), tags: tagsOf(values) },
      }),
    }),
    listCommand({ ...base, nouns: "CA certificates" }),
    getCommand({ ...base, keyLabel: "ID" }),
    deleteCommand({ ...base, keyLabel: "ID", description: "A CA certificate a service lists is kept (remove it from the service first)." }),
  ],
);
