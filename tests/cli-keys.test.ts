// keygen, sign and verify as the compiled binary runs them, against openssl and jose: keys the
// gateway writes are read by openssl, keys openssl writes are read by the gateway, and tokens
// verify in jose.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { createPublicKey, createSecretKey } from "node:crypto";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodeJwt, decodeProtectedHeader, jwtVerify } from "jose";
import { ensureBinary, runCli, type CliResult } from "./support/binary.ts";
import { tempDir } from "./support/gateway.ts";

// Bun 1.4 ignores bunfig's test timeout; the build and the spawned processes need more than 5 s on a busy machine.
setDefaultTimeout(30_000);

let binary = "";
let dir = "";
const cli = (...args: string[]) => runCli(binary, args, { cwd: dir });

function openssl(...args: string[]): string {
  const run = Bun.spawnSync(["openssl", ...args], { cwd: dir, stdout: "pipe", stderr: "pipe" });
  if (run.exitCode !== 0) throw new Error(`openssl ${args.join(" ")}: ${run.stderr.toString()}`);
  return run.stdout.toString();
}

function ok(result: CliResult): string {
  if (result.code !== 0) throw new Error(`exit ${result.code}: ${result.stderr}`);
  return result.stdout;
}

/** Verifies in jose with the public half of `pemFile` (derived by openssl, not by the gateway). */
async function verifyWithOpenSslPublic(token: string, pemFile: string, alg: string) {
  const publicPem = openssl("pkey", "-in", pemFile, "-pubout");
  return jwtVerify(token, createPublicKey(publicPem), { algorithms: [alg] });
}

beforeAll(async () => {
  binary = await ensureBinary();
  dir = tempDir("gateway-cli-keys-");
});

const ASYMMETRIC = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];
const CURVES: Record<string, string> = { ES256: "P-256", ES384: "P-384", ES512: "P-521" };

describe("keygen", () => {
  test.each(ASYMMETRIC)("%s: PKCS#8 key (0600) and SPKI public key that openssl reads and agrees with; sign → verify round trip", async (alg) => {
    const prefix = join(dir, `kg-${alg}`);
    const out = ok(await cli("keygen", "--alg", alg, "--out", prefix));
    const [kidLine, jwkLine] = out.trim().split("\n");
    const kid = /^kid: (\S+)$/.exec(kidLine!)![1]!;
    const jwk = JSON.parse(jwkLine!.replace(/^public JWK: /, ""));
    expect(jwk).toMatchObject({ kid, alg, use: "sig" });
    expect(jwk.d).toBeUndefined();
    if (CURVES[alg]) expect(jwk.crv).toBe(CURVES[alg]);

    expect(readFileSync(`${prefix}.key`, "utf8")).toStartWith("-----BEGIN PRIVATE KEY-----");
    expect(statSync(`${prefix}.key`).mode & 0o777).toBe(0o600);
    expect(openssl("pkey", "-in", `${prefix}.key`, "-pubout")).toBe(readFileSync(`${prefix}.pub`, "utf8"));
    if (alg.startsWith("RS") || alg.startsWith("PS")) expect(openssl("pkey", "-in", `${prefix}.key`, "-noout", "-text")).toContain("2048 bit");

    const token = ok(await cli("sign", "--alg", alg, "--key", `${prefix}.key`, "--iss", "kg", `--kid=${kid}`)).trim();
    const { payload, protectedHeader } = await jwtVerify(token, createPublicKey(readFileSync(`${prefix}.pub`, "utf8")), { algorithms: [alg] });
    expect(protectedHeader).toEqual({ alg, typ: "JWT", kid });
    expect(payload.iss).toBe("kg");
    const verified = await cli("verify", token, "--key", `${prefix}.pub`);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toContain(`signature: valid (${alg})`);
  });

  test("--format jwk: private and public JWK files that sign and verify", async () => {
    const prefix = join(dir, "jwk-es384");
    ok(await cli("keygen", "--alg", "ES384", "--format", "jwk", "--out", prefix, "--kid", "my-kid"));
    const privateJwk = JSON.parse(readFileSync(`${prefix}.key.json`, "utf8"));
    const publicJwk = JSON.parse(readFileSync(`${prefix}.pub.json`, "utf8"));
    expect(statSync(`${prefix}.key.json`).mode & 0o777).toBe(0o600);
    expect(privateJwk).toMatchObject({ kty: "EC", crv: "P-384", kid: "my-kid", alg: "ES384" });
    expect(privateJwk.d).toBeString();
    expect(publicJwk.d).toBeUndefined();
    const token = ok(await cli("sign", "--key", `${prefix}.key.json`, "--sub", "s")).trim();
    expect(decodeProtectedHeader(token).alg).toBe("ES384");
    expect((await cli("verify", token, "--key", `${prefix}.pub.json`)).code).toBe(0);
  });

  test.each(["HS256", "HS384", "HS512"])("%s: a random base64url secret (mode 0600) that sign and jose use as its UTF-8 bytes", async (alg) => {
    const prefix = join(dir, `kg-${alg}`);
    expect(ok(await cli("keygen", "--alg", alg, "--out", prefix))).toStartWith("kid: ");
    const secret = readFileSync(`${prefix}.key`, "utf8").trim();
    expect(secret).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(Buffer.from(secret, "base64url").length * 8).toBe(Number(alg.slice(2)));
    expect(statSync(`${prefix}.key`).mode & 0o777).toBe(0o600);
    const token = ok(await cli("sign", "--alg", alg, "--key", `${prefix}.key`, "--iss", "h")).trim();
    await jwtVerify(token, createSecretKey(Buffer.from(secret)), { algorithms: [alg] });
    const viaSecret = ok(await cli("sign", "--alg", alg, "--secret", secret, "--iss", "h")).trim();
    await jwtVerify(viaSecret, createSecretKey(Buffer.from(secret)), { algorithms: [alg] });
  });

  test("never overwrites: an existing file is an error and nothing is written", async () => {
    const prefix = join(dir, "exists");
    writeFileSync(`${prefix}.pub`, "mine");
    const result = await cli("keygen", "--alg", "ES256", "--out", prefix);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("exists");
    expect(readFileSync(`${prefix}.pub`, "utf8")).toBe("mine");
    expect(() => statSync(`${prefix}.key`)).toThrow();
  });

  test("--store --db: the key goes to the keystore (no files); sign --kid signs with it", async () => {
    const db = join(dir, "keystore.db");
    const out = ok(await cli("keygen", "--alg", "EdDSA", "--store", "--db", db, "--kid", "gw-1"));
    expect(out).toStartWith("kid: gw-1\n");
    const jwk = JSON.parse(out.split("\n")[1]!.replace(/^public JWK: /, ""));
    expect(jwk).toMatchObject({ kty: "OKP", crv: "Ed25519", kid: "gw-1" });
    expect(jwk.d).toBeUndefined();
    const token = ok(await cli("sign", "--kid", "gw-1", "--db", db, "--iss", "gateway")).trim();
    const { protectedHeader } = await jwtVerify(token, createPublicKey({ key: jwk, format: "jwk" }), { algorithms: ["EdDSA"] });
    expect(protectedHeader.kid).toBe("gw-1");
  });
});

describe("sign reads keys openssl generates", () => {
  const cases: { name: string; alg: string; generate: (file: string) => void; header: string }[] = [
    { name: "RSA PKCS#1 (genrsa -traditional)", alg: "RS256", generate: (f) => openssl("genrsa", "-traditional", "-out", f, "2048"), header: "BEGIN RSA PRIVATE KEY" },
    { name: "RSA PKCS#8 (genpkey), as PS384", alg: "PS384", generate: (f) => openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", f), header: "BEGIN PRIVATE KEY" },
    { name: "EC P-256 SEC1 (ecparam -genkey)", alg: "ES256", generate: (f) => openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f), header: "BEGIN EC PRIVATE KEY" },
    { name: "EC P-521 SEC1 with parameters (ecparam -genkey)", alg: "ES512", generate: (f) => openssl("ecparam", "-name", "secp521r1", "-genkey", "-out", f), header: "BEGIN EC PARAMETERS" },
    { name: "EC P-384 PKCS#8 (genpkey)", alg: "ES384", generate: (f) => openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", f), header: "BEGIN PRIVATE KEY" },
    { name: "Ed25519 PKCS#8 (genpkey)", alg: "EdDSA", generate: (f) => openssl("genpkey", "-algorithm", "ed25519", "-out", f), header: "BEGIN PRIVATE KEY" },
  ];
  test.each(cases)("$name → $alg token jose verifies", async ({ alg, generate, header }) => {
    const file = join(dir, `openssl-${alg}.pem`);
    generate(file);
    expect(readFileSync(file, "utf8")).toContain(header);
    const token = ok(await cli("sign", "--alg", alg, "--key", file, "--iss", "openssl")).trim();
    const { payload } = await verifyWithOpenSslPublic(token, file, alg);
    expect(payload.iss).toBe("openssl");
  });
});

describe("sign claims", () => {
  let secretFile = "";
  beforeAll(() => {
    secretFile = join(dir, "claims.secret");
    writeFileSync(secretFile, "a-secret-of-at-least-thirty-two-bytes!!\n");
  });

  test("flags set iss, sub, aud, iat, exp and nbf (durations from iat); --claim values are JSON when they parse", async () => {
    const token = ok(
      await cli("sign", "--alg", "HS256", "--key", secretFile, "--iss", "i", "--sub", "s", "--aud", "a1", "--aud", "a2", "--iat", "1700000000", "--exp", "10m", "--nbf", "30s",
        "--claim", "n=42", "--claim", "admin=true", "--claim", 'roles=["x","y"]', "--claim", "name=plain text", "--claim", "zero=007"),
    ).trim();
    expect(decodeJwt(token)).toEqual({ iss: "i", sub: "s", aud: ["a1", "a2"], iat: 1700000000, exp: 1700000600, nbf: 1700000030, n: 42, admin: true, roles: ["x", "y"], name: "plain text", zero: "007" });
    expect(decodeProtectedHeader(token)).toEqual({ alg: "HS256", typ: "JWT" });
  });

  test("defaults: iat now, exp one hour later; --exp never leaves exp out; plain seconds and 7d", async () => {
    const before = Math.floor(Date.now() / 1000);
    const claims = decodeJwt(ok(await cli("sign", "--secret", "s3cret-s3cret-s3cret-s3cret-s3cret")).trim());
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(claims.exp).toBe(claims.iat! + 3600);
    expect(decodeJwt(ok(await cli("sign", "--secret", "x", "--exp", "never")).trim()).exp).toBeUndefined();
    expect(decodeJwt(ok(await cli("sign", "--secret", "x", "--iat", "100", "--exp", "3600")).trim()).exp).toBe(3700);
    expect(decodeJwt(ok(await cli("sign", "--secret", "x", "--iat", "100", "--exp", "7d")).trim()).exp).toBe(100 + 7 * 86400);
  });

  test("--claims JSON or @file; explicit flags win over it", async () => {
    const file = join(dir, "claims.json");
    writeFileSync(file, JSON.stringify({ iss: "from-file", scope: "read write", exp: 2000000000 }));
    const fromFile = decodeJwt(ok(await cli("sign", "--secret", "x", "--claims", `@${file}`, "--iss", "flag")).trim());
    expect(fromFile).toMatchObject({ iss: "flag", scope: "read write", exp: 2000000000 });
    expect(decodeJwt(ok(await cli("sign", "--secret", "x", "--claims", '{"tenant":"t1"}')).trim()).tenant).toBe("t1");
  });
});

describe("verify", () => {
  test("an expired token: header and claims printed, signature valid, time not, exit 1", async () => {
    const token = ok(await cli("sign", "--secret", "k", "--iss", "old", "--exp=-5m")).trim();
    const result = await cli("verify", token, "--secret", "k");
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('header:    {"alg":"HS256","typ":"JWT"}');
    expect(result.stdout).toContain('"iss":"old"');
    expect(result.stdout).toContain("signature: valid (HS256)");
    expect(result.stdout).toMatch(/time: +NOT valid: expired/);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
  });

  test("a wrong key fails the signature; an algorithm outside --alg is refused before the key is tried", async () => {
    const bad = await cli("verify", ok(await cli("sign", "--secret", "k")).trim(), "--secret", "other");
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain("signature: NOT valid");
    const pinned = await cli("verify", ok(await cli("sign", "--secret", "k", "--alg", "HS512")).trim(), "--secret", "k", "--alg", "HS256");
    expect(pinned.code).toBe(1);
    expect(pinned.stdout).toContain("alg HS512 is not accepted");
  });

  test("--jwks-uri file: picks the key by kid; the token from stdin", async () => {
    const prefix = join(dir, "jwks-es256");
    ok(await cli("keygen", "--alg", "ES256", "--out", prefix, "--kid", "k1", "--format", "jwk"));
    const jwks = join(dir, "jwks.json");
    writeFileSync(jwks, JSON.stringify({ keys: [JSON.parse(readFileSync(`${prefix}.pub.json`, "utf8"))] }));
    const token = ok(await cli("sign", "--key", `${prefix}.key.json`, "--kid", "k1")).trim();
    const result = await runCli(binary, ["verify", "-", "--jwks-uri", `file://${jwks}`], { cwd: dir, stdin: `${token}\n` });
    expect(result.stdout).toContain("signature: valid (ES256)");
    expect(result.code).toBe(0);
  });
});
