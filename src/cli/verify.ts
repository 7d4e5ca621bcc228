// `gateway verify`: shows a token's header and claims and whether its signature and time
// claims verify, with the algorithms pinned (never `none`, never one the key does not fit).
import type { KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type JWTVerifyGetKey, createLocalJWKSet, createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from "jose";
import { UsageError, describeError } from "../errors.ts";
import { now } from "../entities/common.ts";
import { type Command, helpRequested, parseFlags } from "./command.ts";
import { formatSeconds } from "./durations.ts";
import { ALGORITHMS, type Algorithm, KeyFileError, algorithmsForKey, checkKeyFits, isHmac, parseAlgorithm, secretKey, verificationKeyFromFile } from "./key-files.ts";

const usage = `Usage: gateway verify TOKEN (--key FILE | --secret S | --jwks-uri URL) [--alg ALG ...]

Prints the token's header and claims, and whether its signature and time claims (exp, nbf)
verify. Exit 0 when both do, 1 otherwise. TOKEN "-" reads it from stdin.

  --key FILE           public key (PEM, certificate or JWK; a private key gives its public
                       half), or for HS* a secret file
  --secret S           HMAC secret (HS*)
  --jwks-uri URL       a JWKS (http(s):// or file:), the key chosen by the token's kid
  --alg ALG            the accepted algorithms (repeatable, or comma-separated); default: every
                       algorithm the key fits (RSA: RS* and PS*; JWKS: every asymmetric one)
`;

interface Verdict {
  signature: string;
  time: string;
  valid: boolean;
  reason?: string;
}

function readToken(positionals: string[]): string {
  if (positionals.length !== 1) throw new UsageError(`verify: expected one TOKEN argument, got ${positionals.length}`);
  const token = positionals[0] === "-" ? readFileSync(0, "utf8") : positionals[0]!;
  return token.trim().replace(/^bearer\s+/i, "");
}

function jwksFrom(uri: string): JWTVerifyGetKey {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new UsageError(`--jwks-uri: expected an http(s):// or file: URL, got '${uri}'`);
  }
  if (url.protocol === "http:" || url.protocol === "https:") return createRemoteJWKSet(url, { timeoutDuration: 5000 });
  if (url.protocol !== "file:") throw new UsageError(`--jwks-uri: expected an http(s):// or file: URL, got '${uri}'`);
  let jwks: unknown;
  try {
    jwks = JSON.parse(readFileSync(fileURLToPath(url), "utf8"));
  } catch (error) {
    throw new KeyFileError(`--jwks-uri ${uri}: ${describeError(error)}`);
  }
  try {
    return createLocalJWKSet(jwks as never);
  } catch {
    throw new KeyFileError(`--jwks-uri ${uri}: not a JWK set ({"keys": [...]})`);
  }
}

function timeReport(claims: Record<string, unknown> | undefined, current: number): string {
  const parts: string[] = [];
  const at = (epoch: number) => new Date(epoch * 1000).toISOString().replace(".000Z", "Z");
  if (typeof claims?.exp === "number") parts.push(claims.exp > current ? `expires ${at(claims.exp)} (in ${formatSeconds(claims.exp - current)})` : `expired ${at(claims.exp)} (${formatSeconds(current - claims.exp)} ago)`);
  else parts.push("no exp: never expires");
  if (typeof claims?.nbf === "number") parts.push(claims.nbf > current ? `not before ${at(claims.nbf)} (in ${formatSeconds(claims.nbf - current)})` : `valid since ${at(claims.nbf)}`);
  return parts.join(", ");
}

async function check(token: string, key: KeyObject | JWTVerifyGetKey, algorithms: Algorithm[], claims: Record<string, unknown> | undefined): Promise<Verdict> {
  const current = now();
  const alg = (() => {
    try {
      return String(decodeProtectedHeader(token).alg);
    } catch {
      return "?";
    }
  })();
  try {
    await jwtVerify(token, key as never, { algorithms, currentDate: new Date(current * 1000) });
    return { signature: `valid (${alg})`, time: `valid: ${timeReport(claims, current)}`, valid: true };
  } catch (error) {
    const code = (error as { code?: string }).code ?? "";
    const message = describeError(error);
    // jose checks the signature first: a JWT-claims error means the signature verified.
    if (code.startsWith("ERR_JWT_")) {
      return { signature: `valid (${alg})`, time: `NOT valid: ${timeReport(claims, current)}`, valid: false, reason: message };
    }
    if (code === "ERR_JOSE_ALG_NOT_ALLOWED") {
      return { signature: `NOT checked: alg ${alg} is not accepted (${algorithms.join(", ")})`, time: "not checked", valid: false, reason: `alg ${alg} is not accepted` };
    }
    const signature = code === "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" ? `NOT valid (${alg}): signature verification failed` : `NOT verified: ${message}`;
    return { signature, time: "not checked", valid: false, reason: code === "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" ? "signature verification failed" : message };
  }
}

export const verifyCommand: Command = {
  name: "verify",
  summary: "show a JWT and check its signature and time claims",
  usage,
  async run(argv) {
    const { values, positionals } = parseFlags(
      argv,
      { key: { type: "string" }, secret: { type: "string" }, "jwks-uri": { type: "string" }, alg: { type: "string", multiple: true } },
      true,
    );
    if (helpRequested(values, usage)) return 0;
    const token = readToken(positionals);
    const given = values.alg?.flatMap((text) => text.split(",")).map((text) => parseAlgorithm(text.trim()));
    const sources = [values.key, values.secret, values["jwks-uri"]].filter((value) => value !== undefined).length;
    if (sources !== 1) throw new UsageError(`${sources ? "give only one of" : "a key is required:"} --key FILE, --secret S or --jwks-uri URL`);

    let header: Record<string, unknown>;
    try {
      header = decodeProtectedHeader(token) as Record<string, unknown>;
    } catch (error) {
      throw new KeyFileError(`TOKEN is not a compact JWT: ${describeError(error)}`);
    }
    let claims: Record<string, unknown> | undefined;
    try {
      claims = decodeJwt(token) as Record<string, unknown>;
    } catch {
      claims = undefined;
    }

    let key: KeyObject | JWTVerifyGetKey;
    let algorithms: Algorithm[];
    if (values["jwks-uri"] !== undefined) {
      key = jwksFrom(values["jwks-uri"]);
      algorithms = given ?? ALGORITHMS.filter((alg) => !isHmac(alg));
    } else {
      const hmacWanted = values.secret !== undefined || given?.every(isHmac);
      const object = values.secret !== undefined ? secretKey(values.secret) : verificationKeyFromFile(values.key!, hmacWanted ? "HS256" : undefined, "--key");
      for (const alg of given ?? []) checkKeyFits(object, alg, values.secret !== undefined ? "--secret" : `--key ${values.key}`);
      key = object;
      algorithms = given ?? algorithmsForKey(object);
    }

    const verdict = await check(token, key, algorithms, claims);
    process.stdout.write(
      `header:    ${JSON.stringify(header)}\n` +
        `claims:    ${claims ? JSON.stringify(claims) : "(the payload is not a JSON object)"}\n` +
        `signature: ${verdict.signature}\n` +
        `time:      ${verdict.time}\n`,
    );
    if (!verdict.valid) process.stderr.write(`gateway: token not valid: ${verdict.reason}\n`);
    return verdict.valid ? 0 : 1;
  },
};
