// The TLS flags of `gateway serve`: the TLS proxy listener and its default certificate, and the
// admin API over TLS. Certificate files are read and checked (chain, key type, key matches)
// before anything listens; errors name the flag and the file, never key material.
import { readFileSync } from "node:fs";
import { UsageError } from "../errors.ts";
import { selfSignedDefault } from "../tls/generate.ts";
import { checkPair } from "../tls/pem.ts";
import type { PemPair } from "../tls/server-certificates.ts";
import { type Address, flagOrEnv, isLoopback, parseAddress } from "./command.ts";

export interface TlsListen {
  address: Address;
  text: string;
  /** Absent for the proxy listener without --tls-cert: a self-signed one is made at start. */
  pair?: PemPair;
}

export interface ListenerTls {
  proxyTls: TlsListen | null;
  adminTls: (TlsListen & { pair: PemPair }) | null;
  adminTlsText: string | undefined;
}

function readPem(path: string, flag: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new UsageError(`${flag} ${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
}

/** `--cert-flag FILE --key-flag FILE`, both or neither, checked as a pair. */
export function pemPairFromFiles(certPath: string | undefined, keyPath: string | undefined, certFlag: string, keyFlag: string): PemPair | undefined {
  if (certPath === undefined && keyPath === undefined) return undefined;
  if (certPath === undefined || keyPath === undefined) throw new UsageError(`${certFlag} and ${keyFlag} go together: give both`);
  const pair = { cert: readPem(certPath, certFlag), key: readPem(keyPath, keyFlag) };
  const errors: Record<string, string> = {};
  checkPair(pair.cert, pair.key, { cert: `${certFlag} ${certPath}`, key: `${keyFlag} ${keyPath}` }, errors);
  const [field, why] = Object.entries(errors)[0] ?? [];
  if (field) throw new UsageError(`${field}: ${why}`);
  return pair;
}

export function listenerTls(values: Record<string, string | boolean | undefined>): ListenerTls {
  const value = (name: string) => values[name] as string | undefined;
  const proxyText = flagOrEnv(value("proxy-listen-tls"), "proxy-listen-tls");
  const pair = pemPairFromFiles(flagOrEnv(value("tls-cert"), "tls-cert"), flagOrEnv(value("tls-key"), "tls-key"), "--tls-cert", "--tls-key");
  const adminText = flagOrEnv(value("admin-listen-tls"), "admin-listen-tls");
  let adminTls: ListenerTls["adminTls"] = null;
  if (adminText) {
    if (value("admin-listen") !== undefined) throw new UsageError("--admin-listen and --admin-listen-tls: give one (the admin API has one listener)");
    const adminPair = pemPairFromFiles(flagOrEnv(value("admin-tls-cert"), "admin-tls-cert"), flagOrEnv(value("admin-tls-key"), "admin-tls-key"), "--admin-tls-cert", "--admin-tls-key") ?? pair;
    if (!adminPair) throw new UsageError("--admin-listen-tls needs a certificate: --admin-tls-cert FILE --admin-tls-key FILE, or --tls-cert/--tls-key (gateway cert dev makes one)");
    adminTls = { address: parseAddress(adminText, "--admin-listen-tls"), text: adminText, pair: adminPair };
  }
  return {
    proxyTls: proxyText ? { address: parseAddress(proxyText, "--proxy-listen-tls"), text: proxyText, ...(pair ? { pair } : {}) } : null,
    adminTls,
    adminTlsText: adminText,
  };
}

/** A TLS proxy listener without --tls-cert gets a self-signed default certificate, as Kong's does. */
export async function withTlsDefault<O extends ListenerTls>(options: O): Promise<O> {
  if (!options.proxyTls || options.proxyTls.pair) return options;
  process.stderr.write("note: no --tls-cert: handshakes no certificate entity answers get a self-signed localhost certificate made now\n");
  return { ...options, proxyTls: { ...options.proxyTls, pair: await selfSignedDefault() } };
}

/** What `serve` warns about an admin listener: a non-loopback one over plain HTTP sends its token in clear text. */
export function adminExposureWarning(address: Address, text: string, tls: boolean): string | null {
  if (tls || isLoopback(address.hostname)) return null;
  return `--admin-listen ${text} is not a loopback address and speaks plain HTTP: the admin token crosses the network in clear text; use --admin-listen-tls`;
}
