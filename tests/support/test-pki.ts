// Certificates for TLS tests, made by the openssl command line in a temporary directory: a CA
// and the server certificates it signs (right host, wrong host, expired), a self-signed one, an
// expired CA, and a client CA with a client certificate for mTLS. EC P-256 keys keep it fast.
import { spawnSync } from "bun";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface Pair {
  cert: string;
  key: string;
}

export interface TestPki {
  ca: Pair;
  /** Signed by `ca`, for localhost and 127.0.0.1. */
  server: Pair;
  /** Signed by `ca`, for other.example only. */
  wrongHost: Pair;
  /** Signed by `ca`, for localhost and 127.0.0.1, valid only in January 2020. */
  expired: Pair;
  /** Self-signed (a CA of itself, as `openssl req -x509` makes it), for localhost and 127.0.0.1. */
  selfSigned: Pair;
  /** A CA certificate valid only in January 2020. */
  expiredCa: Pair;
  /** A CA that signs nothing here. */
  otherCa: Pair;
  clientCa: Pair;
  /** Signed by `clientCa`, CN gateway-client, for client authentication. */
  client: Pair;
}

function openssl(dir: string, args: string[]): void {
  const run = spawnSync(["openssl", ...args], { cwd: dir, stderr: "pipe", stdout: "pipe" });
  if (run.exitCode !== 0) throw new Error(`openssl ${args.join(" ")}: ${run.stderr.toString()}`);
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
const CA_EXTENSIONS = ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"];
const LOCAL_NAMES = "subjectAltName=DNS:localhost,IP:127.0.0.1";

export function makeTestPki(dir: string): TestPki {
  const read = (name: string): Pair => ({ cert: readFileSync(join(dir, `${name}.pem`), "utf8"), key: readFileSync(join(dir, `${name}.key`), "utf8") });
  const selfSignedCa = (name: string, subject: string) => openssl(dir, ["req", "-x509", ...EC, "-keyout", `${name}.key`, "-out", `${name}.pem`, "-days", "30", "-subj", subject, ...CA_EXTENSIONS]);
  const signed = (name: string, ca: string, subject: string, extensions: string) => {
    openssl(dir, ["req", ...EC, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject]);
    writeFileSync(join(dir, `${name}.ext`), `${extensions}\n`);
    openssl(dir, ["x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.pem`, "-CAkey", `${ca}.key`, "-CAcreateserial", "-out", `${name}.pem`, "-days", "30", "-extfile", `${name}.ext`]);
  };
  // `openssl x509` cannot backdate; `openssl ca` takes explicit start and end dates.
  const backdated = (name: string, subject: string, extensions: string[], selfSign: boolean) => {
    openssl(dir, ["req", ...EC, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject, ...extensions]);
    writeFileSync(join(dir, `${name}.index`), "");
    writeFileSync(join(dir, `${name}.serial`), "1000\n");
    writeFileSync(
      join(dir, `${name}.cnf`),
      `[ca]\ndefault_ca = d\n[d]\ndatabase = ${name}.index\nserial = ${name}.serial\nnew_certs_dir = .\ndefault_md = sha256\npolicy = p\ncopy_extensions = copy\nunique_subject = no\n[p]\ncommonName = supplied\n`,
    );
    const signer = selfSign ? ["-selfsign", "-keyfile", `${name}.key`] : ["-cert", "ca.pem", "-keyfile", "ca.key"];
    openssl(dir, ["ca", "-batch", "-notext", "-config", `${name}.cnf`, ...signer, "-in", `${name}.csr`, "-out", `${name}.pem`, "-startdate", "20200101000000Z", "-enddate", "20200201000000Z"]);
  };

  selfSignedCa("ca", "/CN=Gateway Test CA");
  signed("server", "ca", "/CN=localhost", `${LOCAL_NAMES}\nextendedKeyUsage=serverAuth`);
  signed("wrong-host", "ca", "/CN=other.example", "subjectAltName=DNS:other.example\nextendedKeyUsage=serverAuth");
  backdated("expired", "/CN=localhost", ["-addext", LOCAL_NAMES], false);
  openssl(dir, ["req", "-x509", ...EC, "-keyout", "self-signed.key", "-out", "self-signed.pem", "-days", "30", "-subj", "/CN=localhost", "-addext", LOCAL_NAMES]);
  backdated("expired-ca", "/CN=Expired Test CA", CA_EXTENSIONS, true);
  selfSignedCa("client-ca", "/CN=Gateway Client CA");
  selfSignedCa("other-ca", "/CN=Gateway Other CA");
  signed("client", "client-ca", "/CN=gateway-client", "extendedKeyUsage=clientAuth");
  return {
    ca: read("ca"),
    server: read("server"),
    wrongHost: read("wrong-host"),
    expired: read("expired"),
    selfSigned: read("self-signed"),
    expiredCa: read("expired-ca"),
    otherCa: read("other-ca"),
    clientCa: read("client-ca"),
    client: read("client"),
  };
}
