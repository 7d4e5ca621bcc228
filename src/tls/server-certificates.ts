// What the TLS listener presents: Bun.serve's `tls` list, built from the state's certificates
// and snis and the default certificate, with a digest so the listener is replaced only when
// the TLS material changed (not on every configuration change).
import { constants, createHash } from "node:crypto";
import type { TLSOptions } from "bun";
import type { Certificate } from "../entities/certificate.ts";
import type { Sni } from "../entities/sni.ts";

/** A certificate and its key, PEM (`--tls-cert`/`--tls-key`, or generated). */
export interface PemPair {
  readonly cert: string;
  readonly key: string;
}

/**
 * TLS 1.2 and 1.3 only; for 1.2, forward-secret AEAD suites (Mozilla's "intermediate" list).
 * TLS 1.3 suites are all modern and not set by this list.
 */
export const TLS_CIPHERS = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
].join(":");
const SECURE_OPTIONS = constants.SSL_OP_NO_SSLv2 | constants.SSL_OP_NO_SSLv3 | constants.SSL_OP_NO_TLSv1 | constants.SSL_OP_NO_TLSv1_1;

/** The protocol and cipher settings every TLS listener of the gateway uses. */
export function hardened(pair: { cert: string | string[]; key: string | string[] }, serverName?: string): TLSOptions {
  return { ...pair, ...(serverName ? { serverName } : {}), ciphers: TLS_CIPHERS, secureOptions: SECURE_OPTIONS };
}

export interface ServerCertificates {
  /** Bun.serve's `tls`: the default first (no serverName), then one entry per name. */
  readonly tls: TLSOptions[];
  /** Changes exactly when what a handshake can be answered with changes. */
  readonly digest: string;
}

const pairOf = (certificate: Certificate) =>
  certificate.cert_alt && certificate.key_alt
    ? { cert: [certificate.cert, certificate.cert_alt], key: [certificate.key, certificate.key_alt] }
    : { cert: certificate.cert, key: certificate.key };

/**
 * Names from `snis` entities win over the same name in a certificate's `snis` shorthand list;
 * among shorthand lists, the older certificate keeps a name (both are the stored order).
 */
export function serverCertificates(fallback: PemPair, certificates: readonly Certificate[], snis: readonly Sni[]): ServerCertificates {
  const byId = new Map(certificates.map((certificate) => [certificate.id, certificate]));
  const chosen = new Map<string, Certificate>();
  for (const sni of snis) {
    const certificate = byId.get(sni.certificate.id);
    if (certificate) chosen.set(sni.name, certificate);
  }
  for (const certificate of certificates) for (const name of certificate.snis) if (!chosen.has(name)) chosen.set(name, certificate);
  const hash = createHash("sha256").update(fallback.cert).update("\0").update(fallback.key);
  const tls: TLSOptions[] = [hardened(fallback)];
  for (const [name, certificate] of [...chosen].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    tls.push(hardened(pairOf(certificate), name));
    hash.update(`\0${name}\0${certificate.cert}\0${certificate.key}\0${certificate.cert_alt ?? ""}\0${certificate.key_alt ?? ""}`);
  }
  return { tls, digest: hash.digest("hex") };
}
