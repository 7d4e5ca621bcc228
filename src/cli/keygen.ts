// `gateway keygen`: a signing key as files openssl reads (PKCS#8 + SPKI PEM, or JWK), an HMAC
// secret, or a new key in the gateway keystore.
import { randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { calculateJwkThumbprint, type JWK } from "jose";
import { UsageError } from "../errors.ts";
import { generateKeyPair, publicJwkOf } from "../jose/generate.ts";
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from "../jose/algorithms.ts";
import { type Command, helpRequested, parseFlags, required } from "./command.ts";
import { BACKEND_FLAGS, openEntityClient } from "./entity-client.ts";
import { KeyFileError, isHmac, parseAlgorithm } from "./key-files.ts";

const usage = `Usage: gateway keygen --alg ALG [--out PREFIX] [--kid ID] [--format pem|jwk]
       gateway keygen --alg ALG --store [--kid ID] [--db FILE | --admin-url URL [--admin-token T]]

Generates a signing key and prints its kid and public JWK.

  --alg ALG            HS256/384/512, RS256/384/512 or PS256/384/512 (RSA 2048),
                       ES256/384/512 (P-256/384/521), EdDSA (Ed25519)
  --out PREFIX         where to write (default ./jwt-<alg>, e.g. ./jwt-es256); never overwrites
  --format pem|jwk     pem (default): PREFIX.key, the private key (PKCS#8 PEM, mode 0600),
                       and PREFIX.pub, the public key (SPKI PEM) — both readable by openssl;
                       jwk: PREFIX.key.json (private JWK, mode 0600) and PREFIX.pub.json
                       HS*: PREFIX.key holds a random secret (base64url text, 256-512 bits),
                       used as-is as a credential's secret and by sign --key / --secret
  --kid ID             the key id (default: the key's RFC 7638 JWK thumbprint)
  --store              add the key to the gateway keystore instead of writing files (its
                       private half never leaves the gateway; asymmetric algorithms only):
                       the database file (--db, default ./gateway.db; env GATEWAY_DB) or a
                       running gateway (--admin-url, --admin-token; env GATEWAY_ADMIN_URL,
                       GATEWAY_ADMIN_TOKEN)
`;

/** Bytes of randomness per HMAC size: the hash's output length, as RFC 7518 §3.2 asks. */
const SECRET_BYTES: Record<string, number> = { HS256: 32, HS384: 48, HS512: 64 };

/** Writes every file or none: all targets are checked before the first is written. */
function writeNew(files: { path: string; text: string; mode: number; what: string }[]): void {
  for (const file of files) if (existsSync(file.path)) throw new KeyFileError(`${file.path} exists; remove it or choose another --out`);
  for (const file of files) writeFileSync(file.path, file.text, { mode: file.mode, flag: "wx" });
  process.stderr.write(`wrote ${files.map((file) => `${file.path} (${file.what})`).join(" and ")}\n`);
}

export const keygenCommand: Command = {
  name: "keygen",
  summary: "generate a signing key (files for openssl, or in the gateway keystore)",
  usage,
  async run(argv) {
    const { values } = parseFlags(argv, {
      alg: { type: "string" },
      out: { type: "string" },
      kid: { type: "string" },
      format: { type: "string" },
      store: { type: "boolean" },
      ...BACKEND_FLAGS,
    });
    if (helpRequested(values, usage)) return 0;
    const alg = parseAlgorithm(required(values.alg, "--alg", `one of ${SIGNING_ALGORITHMS.join(", ")}, HS256, HS384, HS512`));
    const format = values.format ?? "pem";
    if (format !== "pem" && format !== "jwk") throw new UsageError(`--format: expected pem or jwk, got '${format}'`);

    if (values.store) {
      if (isHmac(alg)) throw new UsageError(`--store: the keystore holds asymmetric keys only (${SIGNING_ALGORITHMS.join(", ")}), not ${alg}`);
      if (values.out !== undefined || values.format !== undefined) throw new UsageError(`--${values.out !== undefined ? "out" : "format"}: not used with --store (the private key stays in the gateway)`);
      const client = openEntityClient(values, { write: true });
      try {
        const key = await client.createKey({ alg, kid: values.kid });
        process.stdout.write(`kid: ${key.kid}\npublic JWK: ${JSON.stringify(key.public_jwk)}\n`);
        process.stderr.write(`stored in the keystore of ${client.where}\n`);
      } finally {
        client.close();
      }
      return 0;
    }
    if (values.db !== undefined || values["admin-url"] !== undefined) throw new UsageError(`--${values.db !== undefined ? "db" : "admin-url"}: only used with --store`);

    const prefix = values.out ?? `./jwt-${alg.toLowerCase()}`;
    if (isHmac(alg)) {
      const secret = shellSafeSecret(SECRET_BYTES[alg]!);
      const jwk = { kty: "oct", k: Buffer.from(secret, "utf8").toString("base64url") };
      const kid = values.kid ?? (await calculateJwkThumbprint(jwk));
      if (format === "jwk") writeNew([{ path: `${prefix}.key.json`, text: `${JSON.stringify({ ...jwk, kid, alg }, null, 2)}\n`, mode: 0o600, what: "secret as an oct JWK, mode 0600" }]);
      else writeNew([{ path: `${prefix}.key`, text: `${secret}\n`, mode: 0o600, what: "secret, mode 0600" }]);
      process.stdout.write(`kid: ${kid}\n`);
      return 0;
    }
    const { privateKey, publicKey } = generateKeyPair(alg);
    const privateJwk = privateKey.export({ format: "jwk" });
    const kid = values.kid ?? (await calculateJwkThumbprint(publicKey.export({ format: "jwk" }) as JWK));
    const publicJwk = publicJwkOf(privateJwk, kid, alg as SigningAlgorithm);
    if (format === "jwk") {
      writeNew([
        { path: `${prefix}.key.json`, text: `${JSON.stringify({ ...privateJwk, kid, alg, use: "sig" }, null, 2)}\n`, mode: 0o600, what: "private JWK, mode 0600" },
        { path: `${prefix}.pub.json`, text: `${JSON.stringify(publicJwk, null, 2)}\n`, mode: 0o644, what: "public JWK" },
      ]);
    } else {
      writeNew([
        { path: `${prefix}.key`, text: privateKey.export({ type: "pkcs8", format: "pem" }).toString(), mode: 0o600, what: "private key, PKCS#8 PEM, mode 0600" },
        { path: `${prefix}.pub`, text: publicKey.export({ type: "spki", format: "pem" }).toString(), mode: 0o644, what: "public key, SPKI PEM" },
      ]);
    }
    process.stdout.write(`kid: ${kid}\npublic JWK: ${JSON.stringify(publicJwk)}\n`);
    return 0;
  },
};

/**
 * A random base64url secret that does not start with "-", so `--secret <it>` is never read as
 * a flag. Redrawing one case in 64 costs less than 0.03 bits of the 256-512.
 */
function shellSafeSecret(bytes: number): string {
  for (;;) {
    const secret = randomBytes(bytes).toString("base64url");
    if (!secret.startsWith("-")) return secret;
  }
}
