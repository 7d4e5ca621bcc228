// `gateway cert dev|add` and EdgeX's `secrets-config proxy tls` alias: development certificates
// for the demo and tutorials, and certificates stored as the `certificates` entity.
import { chmodSync, writeFileSync } from "node:fs";
import { UsageError } from "../errors.ts";
import { devCertificates } from "../tls/generate.ts";
import { namesOf, parseChain } from "../tls/pem.ts";
import { type Command, commandGroup, helpRequested, parseFlags, required } from "./command.ts";
import { BACKEND_FLAGS, BACKEND_USAGE, openEntityClient } from "./entity-client.ts";
import { pemPairFromFiles } from "./tls-options.ts";

const devUsage = `Usage: gateway cert dev --host NAME [--host NAME ...] --out PREFIX

Writes a development CA and a certificate it signed for the given names (DNS names or IP
addresses), ECDSA P-256:
  PREFIX-ca.pem      the CA certificate: give it to clients (curl --cacert PREFIX-ca.pem)
  PREFIX-ca-key.pem  the CA's private key (mode 0600; only needed to sign more)
  PREFIX.pem         the certificate and the CA's, as a TLS listener serves them
  PREFIX-key.pem     its private key (mode 0600)
Then: gateway serve --proxy-listen-tls 0.0.0.0:8443 --tls-cert PREFIX.pem --tls-key PREFIX-key.pem
For development only: anyone with PREFIX-ca-key.pem can sign certificates your clients trust.
`;

function writeFile(path: string, text: string, secret: boolean): void {
  writeFileSync(path, text, { mode: secret ? 0o600 : 0o644 });
  // The mode of writeFileSync applies only to a file it creates; an existing one keeps its own.
  if (secret) chmodSync(path, 0o600);
}

const dev: Command = {
  name: "dev",
  summary: "write a development CA and a certificate for some host names",
  usage: devUsage,
  async run(argv) {
    const { values } = parseFlags(argv, { host: { type: "string", multiple: true }, out: { type: "string" } });
    if (helpRequested(values, devUsage)) return 0;
    const hosts = (values.host as string[] | undefined) ?? [];
    if (hosts.length === 0) throw new UsageError("--host: give at least one name the certificate is for (e.g. --host localhost)");
    for (const host of hosts) if (!/^[A-Za-z0-9*.:-]+$/.test(host)) throw new UsageError(`--host ${host}: expected a DNS name or an IP address`);
    const prefix = required(values.out as string | undefined, "--out", "the file prefix (e.g. --out ./dev writes dev-ca.pem, dev.pem, dev-key.pem)");
    const made = await devCertificates(hosts);
    writeFile(`${prefix}-ca.pem`, made.caCert, false);
    writeFile(`${prefix}-ca-key.pem`, made.caKey, true);
    writeFile(`${prefix}.pem`, made.cert, false);
    writeFile(`${prefix}-key.pem`, made.key, true);
    process.stdout.write(`wrote ${prefix}-ca.pem, ${prefix}-ca-key.pem, ${prefix}.pem, ${prefix}-key.pem for ${hosts.join(", ")}\n`);
    return 0;
  },
};

const addUsage = `Usage: gateway cert add --cert FILE --key FILE [--sni NAME ...]

Stores a certificate (PEM chain, leaf first) and its unencrypted RSA or ECDSA key as a
\`certificates\` entity; the TLS listener answers handshakes for its names with it, without a
restart. Names: each --sni (exact, *.example.com or example.*), else those the certificate is for.
Prints the certificate's id; its key is never printed.

${BACKEND_USAGE}`;

/** Stores a certificate; `replacing`: first removes the certificates that hold any of its names (EdgeX's tls). */
async function storeCertificate(values: Record<string, unknown>, certPath: string, keyPath: string, certFlag: string, keyFlag: string, snis: string[] | undefined, replacing: boolean): Promise<number> {
  const pair = pemPairFromFiles(certPath, keyPath, certFlag, keyFlag)!;
  const names = snis?.length ? snis.map((name) => name.toLowerCase()) : namesOf(parseChain(pair.cert, certFlag, {})!);
  if (names.length === 0) throw new UsageError(`${certFlag} ${certPath}: the certificate names no host; give --sni NAME`);
  const client = openEntityClient(values, { write: true });
  try {
    const created = await client.atomically(async () => {
      if (replacing) {
        for (const certificate of await client.list("certificates")) {
          if (certificate.snis.some((name) => names.includes(name))) await client.delete("certificates", certificate.id);
        }
      }
      return client.create("certificates", { cert: pair.cert, key: pair.key, snis: names });
    });
    process.stdout.write(`certificate ${created.id} stored for ${names.join(", ")}\n`);
  } finally {
    client.close();
  }
  return 0;
}

const add: Command = {
  name: "add",
  summary: "store a certificate and key for the TLS listener",
  usage: addUsage,
  async run(argv) {
    const { values } = parseFlags(argv, { cert: { type: "string" }, key: { type: "string" }, sni: { type: "string", multiple: true }, ...BACKEND_FLAGS });
    if (helpRequested(values, addUsage)) return 0;
    const cert = required(values.cert as string | undefined, "--cert", "the PEM certificate file");
    const key = required(values.key as string | undefined, "--key", "the PEM private key file");
    return storeCertificate(values, cert, key, "--cert", "--key", values.sni as string[] | undefined, false);
  },
};

export const certCommand = commandGroup("cert", "TLS certificates: development ones, and stored ones", "Certificates for the TLS listeners.", [dev, add]);

export const edgexTlsUsage = `Usage: gateway proxy tls --incert FILE --inkey FILE [--snis NAME,...]

EdgeX's secrets-config proxy tls (2.x flags; 3.x's --inCert/--inKey too): stores the
certificate for the TLS proxy listener, replacing the certificates that held any of its names.
Names: --snis (comma-separated), else those the certificate is for.

${BACKEND_USAGE}`;

/** `gateway proxy tls`: EdgeX 2.x `--incert/--inkey/--snis`, 3.x `--inCert/--inKey`. */
export async function edgexTls(argv: string[]): Promise<number> {
  const flags = { incert: { type: "string" }, inkey: { type: "string" }, inCert: { type: "string" }, inKey: { type: "string" }, snis: { type: "string" }, ...BACKEND_FLAGS } as const;
  const { values } = parseFlags(argv, flags);
  if (helpRequested(values, edgexTlsUsage)) return 0;
  const certFlag = values.inCert !== undefined ? "--inCert" : "--incert";
  const keyFlag = values.inKey !== undefined ? "--inKey" : "--inkey";
  const cert = required(values.inCert ?? values.incert, certFlag, "the PEM certificate file");
  const key = required(values.inKey ?? values.inkey, keyFlag, "the PEM private key file");
  const snis = values.snis?.split(",").map((name) => name.trim()).filter(Boolean);
  return storeCertificate(values, cert, key, certFlag, keyFlag, snis, true);
}
