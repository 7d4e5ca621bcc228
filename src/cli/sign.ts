// `gateway sign`: one compact JWT from a key file (openssl's or keygen's), a secret, or a key
// in the gateway keystore.
import { type KeyObject, createPrivateKey } from "node:crypto";
import { UsageError } from "../errors.ts";
import { now } from "../entities/common.ts";
import { type Command, flagOrEnv, helpRequested, jsonObjectFlag, parseFlags } from "./command.ts";
import { parseDuration } from "./durations.ts";
import { openLocalClient } from "./entity-client.ts";
import { type Algorithm, KeyFileError, algorithmsForKey, checkKeyFits, isHmac, parseAlgorithm, secretKey, signingKeyFromFile } from "./key-files.ts";
import { signToken } from "./tokens.ts";

const usage = `Usage: gateway sign --alg ALG (--key FILE | --secret S | --kid ID) [claims] [--claim k=v ...]

Prints one compact JWT.

Key (one of):
  --key FILE           private key: PEM as openssl or keygen write it (RSA, EC, Ed25519;
                       PKCS#1, SEC1 or PKCS#8), a private JWK, or for HS* a secret file
  --secret S           HMAC secret (HS*), used as its UTF-8 bytes as Kong does
  --kid ID             without --key/--secret: the key ID in the gateway keystore of --db
                       (default ./gateway.db; env GATEWAY_DB); also sets the kid header
  --alg ALG            HS256/384/512, RS256/384/512, PS256/384/512, ES256/384/512, EdDSA;
                       default: the key's when it has only one (EC curve, Ed25519,
                       keystore key), HS256 with --secret; required for RSA keys

Claims:
  --iss ISS --sub SUB  issuer (the credential key, with Kong's default key_claim_name) and subject
  --aud AUD            audience (repeat for several)
  --iat EPOCH          issued-at, epoch seconds (default now)
  --exp DURATION       expiry after iat: 30s, 10m, 1h, 7d, 1h30m or seconds (3600);
                       default 1h; "never" leaves exp out (--exp=-5m makes an expired token)
  --nbf DURATION       not-before, after iat (e.g. 0 or 5m); default none
  --kid ID             kid header
  --claim k=v          any claim (repeatable); v is JSON when it parses (42, true, ["a"]),
                       otherwise a string
  --claims JSON|@FILE  a JSON object of claims; the flags above win over it
`;

function claimPair(text: string): [string, unknown] {
  const at = text.indexOf("=");
  if (at <= 0) throw new UsageError(`--claim: expected NAME=VALUE, got '${text}'`);
  const raw = text.slice(at + 1);
  try {
    return [text.slice(0, at), JSON.parse(raw)];
  } catch {
    return [text.slice(0, at), raw];
  }
}

function parseEpoch(text: string, flag: string): number {
  if (!/^\d{1,12}$/.test(text)) throw new UsageError(`${flag}: expected epoch seconds (e.g. ${now()}), got '${text}'`);
  return Number(text);
}

/** The keystore key `kid` of the database at `dbPath`, as a private KeyObject. */
function keystoreKey(kid: string, dbPath: string): { key: KeyObject; alg: Algorithm } {
  const client = openLocalClient(dbPath, false);
  try {
    const record = client.core.store.find("keys", kid);
    if (!record) throw new KeyFileError(`--kid ${kid}: no such key in the keystore of ${dbPath}`);
    if (!record.private_jwk) throw new KeyFileError(`--kid ${kid}: the keystore of ${dbPath} holds only the public half of this key`);
    return { key: createPrivateKey({ key: record.private_jwk as never, format: "jwk" }), alg: record.alg };
  } finally {
    client.close();
  }
}

/** The key and algorithm from --key / --secret / keystore --kid, checked against each other. */
function signingKey(values: { alg?: string; key?: string; secret?: string; kid?: string; db?: string }): { key: KeyObject; alg: Algorithm } {
  const given = values.alg === undefined ? undefined : parseAlgorithm(values.alg);
  if (values.key !== undefined && values.secret !== undefined) throw new UsageError("--key and --secret: give one of them, not both");
  if (values.db !== undefined && (values.key ?? values.secret) !== undefined) throw new UsageError("--db: only used with a keystore --kid, not with --key or --secret");
  if (values.secret !== undefined) {
    const alg = given ?? "HS256";
    if (!isHmac(alg)) throw new UsageError(`--secret: ${alg} signs with a private key; use --key FILE (--secret is for HS256, HS384, HS512)`);
    return { key: secretKey(values.secret), alg };
  }
  if (values.key !== undefined) {
    const key = signingKeyFromFile(values.key, given, "--key");
    const fits = algorithmsForKey(key);
    const alg = given ?? (fits.length === 1 ? fits[0] : undefined);
    if (!alg) throw new UsageError(`--alg is required for ${key.type === "secret" ? "a secret" : "an RSA key"} (one of ${fits.join(", ")})`);
    checkKeyFits(key, alg, `--key ${values.key}`);
    return { key, alg };
  }
  if (values.kid === undefined) throw new UsageError("a key is required: --key FILE, --secret S, or --kid ID of a keystore key");
  const stored = keystoreKey(values.kid, flagOrEnv(values.db, "db", "./gateway.db")!);
  if (given && given !== stored.alg) throw new UsageError(`--alg ${given}: keystore key ${values.kid} is an ${stored.alg} key`);
  return stored;
}

export const signCommand: Command = {
  name: "sign",
  summary: "print a signed JWT",
  usage,
  async run(argv) {
    const { values } = parseFlags(argv, {
      alg: { type: "string" },
      key: { type: "string" },
      secret: { type: "string" },
      kid: { type: "string" },
      db: { type: "string" },
      iss: { type: "string" },
      sub: { type: "string" },
      aud: { type: "string", multiple: true },
      iat: { type: "string" },
      exp: { type: "string" },
      nbf: { type: "string" },
      claim: { type: "string", multiple: true },
      claims: { type: "string" },
    });
    if (helpRequested(values, usage)) return 0;
    // Every flag is checked before the key is read, so a typo costs nothing.
    const claims: Record<string, unknown> = values.claims === undefined ? {} : jsonObjectFlag(values.claims, "--claims");
    for (const text of values.claim ?? []) {
      const [name, value] = claimPair(text);
      claims[name] = value;
    }
    if (values.iss !== undefined) claims.iss = values.iss;
    if (values.sub !== undefined) claims.sub = values.sub;
    if (values.aud !== undefined) claims.aud = values.aud.length === 1 ? values.aud[0] : values.aud;
    const iat = values.iat !== undefined ? parseEpoch(values.iat, "--iat") : typeof claims.iat === "number" ? claims.iat : now();
    claims.iat = iat;
    if (values.exp === "never") delete claims.exp;
    else if (values.exp !== undefined) claims.exp = iat + parseDuration(values.exp, "--exp");
    else if (claims.exp === undefined) claims.exp = iat + 3600;
    if (values.nbf !== undefined) claims.nbf = iat + parseDuration(values.nbf, "--nbf");

    const { key, alg } = signingKey(values);
    process.stdout.write(`${await signToken(claims, alg, key, values.kid)}\n`);
    return 0;
  },
};
