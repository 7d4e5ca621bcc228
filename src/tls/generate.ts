// Certificates the gateway makes itself (X.509 through @peculiar/x509 over WebCrypto, ECDSA
// P-256): the development CA and leaf of `gateway cert dev`, and the self-signed default of a
// TLS listener started without `--tls-cert` (Kong makes one too).
import { isIP } from "node:net";
// tsyringe, which @peculiar/x509 uses, needs the Reflect metadata API before it loads.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import type { PemPair } from "./server-certificates.ts";

const EC = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGNING = { name: "ECDSA", hash: "SHA-256" } as const;
const DAY_MS = 86_400_000;

async function keyPair(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(EC, true, ["sign", "verify"]);
}

async function privatePem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await crypto.subtle.exportKey("pkcs8", key)).toString("base64");
  return `-----BEGIN PRIVATE KEY-----\n${der.match(/.{1,64}/g)!.join("\n")}\n-----END PRIVATE KEY-----\n`;
}

const serial = () => Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("hex").replace(/^[89a-f]/, "1");

/** Names for subjectAltName: IP addresses as iPAddress, the rest as dNSName. */
const altNames = (hosts: readonly string[]) => new x509.SubjectAlternativeNameExtension(hosts.map((host) => ({ type: isIP(host) ? "ip" : "dns", value: host }) as x509.JsonGeneralName));

async function leafFor(hosts: readonly string[], issuer: { name: string; keys: CryptoKeyPair }, days: number, keys: CryptoKeyPair): Promise<x509.X509Certificate> {
  const now = Date.now();
  return x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${hosts[0]}`,
    issuer: issuer.name,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + days * DAY_MS),
    signingAlgorithm: SIGNING,
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      altNames(hosts),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey),
    ],
  });
}

export interface DevCertificates {
  /** The development CA's certificate: what `curl --cacert` is given. */
  caCert: string;
  /** The leaf certificate followed by the CA's (the chain a listener serves). */
  cert: string;
  key: string;
  caKey: string;
}

/** A development CA (10 years) and a leaf for `hosts` (825 days, the limit clients accept) it signed. */
export async function devCertificates(hosts: readonly string[]): Promise<DevCertificates> {
  const caKeys = await keyPair();
  const caName = `CN=gateway development CA ${new Date().toISOString().slice(0, 10)}`;
  const now = Date.now();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: caName,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 3650 * DAY_MS),
    signingAlgorithm: SIGNING,
    keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const leafKeys = await keyPair();
  const leaf = await leafFor(hosts, { name: caName, keys: caKeys }, 825, leafKeys);
  const caCert = ca.toString("pem") + "\n";
  return { caCert, cert: leaf.toString("pem") + "\n" + caCert, key: await privatePem(leafKeys.privateKey), caKey: await privatePem(caKeys.privateKey) };
}

/** The certificate for handshakes no configured certificate answers: self-signed, for `localhost`. */
export async function selfSignedDefault(): Promise<PemPair> {
  const keys = await keyPair();
  const leaf = await leafFor(["localhost"], { name: "CN=localhost", keys }, 3650, keys);
  return { cert: leaf.toString("pem") + "\n", key: await privatePem(keys.privateKey) };
}
