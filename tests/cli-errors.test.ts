// Bad invocations of the compiled binary: each one line on stderr naming what is wrong, exit 2
// for usage errors and 1 for other failures, never a stack trace; and --help everywhere.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { commands } from "../src/cli/commands.ts";
import { ensureBinary, runCli } from "./support/binary.ts";
import { tempDir } from "./support/gateway.ts";

// Bun 1.4 ignores bunfig's test timeout; the build and the spawned processes need more than 5 s on a busy machine.
setDefaultTimeout(30_000);

let binary = "";
let dir = "";
let closedPort = 0;

beforeAll(async () => {
  binary = await ensureBinary();
  dir = tempDir("gateway-cli-errors-");
  const ec = Bun.spawnSync(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", join(dir, "ec.key")]);
  if (ec.exitCode !== 0) throw new Error("openssl failed");
  Bun.spawnSync(["openssl", "ec", "-in", join(dir, "ec.key"), "-pubout", "-out", join(dir, "ec.pub")]);
  Bun.spawnSync(["openssl", "pkey", "-in", join(dir, "ec.key"), "-aes256", "-passout", "pass:secret", "-out", join(dir, "encrypted.key")]);
  writeFileSync(join(dir, "not-a-key.pem"), "hello\n");
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  closedPort = server.port as number;
  server.stop(true);
});

const cases: { name: string; args: () => string[]; code: 1 | 2; message: string }[] = [
  { name: "a missing key file", args: () => ["sign", "--alg", "ES256", "--key", "missing.pem"], code: 1, message: "--key missing.pem: no such file" },
  { name: "a public key where the private one is needed", args: () => ["sign", "--alg", "ES256", "--key", "ec.pub"], code: 1, message: "--key ec.pub holds a public key; signing needs the private key" },
  { name: "an encrypted private key", args: () => ["sign", "--key", "encrypted.key"], code: 1, message: "--key encrypted.key is encrypted" },
  { name: "a file that is no key", args: () => ["sign", "--alg", "ES256", "--key", "not-a-key.pem"], code: 1, message: "--key not-a-key.pem: not a PEM private key or JWK" },
  { name: "a key that does not fit the algorithm", args: () => ["sign", "--alg", "RS256", "--key", "ec.key"], code: 1, message: "--key ec.key holds a P-256 EC key; RS256 needs an RSA key" },
  { name: "an unknown algorithm", args: () => ["sign", "--alg", "XS256", "--secret", "s"], code: 2, message: "--alg: expected one of HS256, HS384" },
  { name: "a secret with an asymmetric algorithm", args: () => ["sign", "--alg", "ES256", "--secret", "s"], code: 2, message: "--secret: ES256 signs with a private key" },
  { name: "no key at all", args: () => ["sign", "--iss", "x"], code: 2, message: "a key is required: --key FILE, --secret S, or --kid ID" },
  { name: "a malformed duration", args: () => ["sign", "--secret", "s", "--exp", "10x"], code: 2, message: "--exp: expected a duration such as 30s, 10m, 1h, 7d or seconds (3600), got '10x'" },
  { name: "a value that looks like a flag", args: () => ["sign", "--secret", "s", "--exp", "-5m"], code: 2, message: '--exp: a value starting with "-" must be written --exp=VALUE' },
  { name: "a non-JSON --claims", args: () => ["sign", "--secret", "s", "--claims", "{iss: x}"], code: 2, message: "--claims: expected a JSON object or @FILE, got invalid JSON" },
  { name: "a --claims that is not an object", args: () => ["sign", "--secret", "s", "--claims", "[1]"], code: 2, message: "--claims: expected a JSON object, got an array" },
  { name: "a --claim without =", args: () => ["sign", "--secret", "s", "--claim", "admin"], code: 2, message: "--claim: expected NAME=VALUE, got 'admin'" },
  { name: "a non-epoch --iat", args: () => ["sign", "--secret", "s", "--iat", "yesterday"], code: 2, message: "--iat: expected epoch seconds" },
  { name: "keygen without --alg", args: () => ["keygen"], code: 2, message: "--alg is required" },
  { name: "keygen --store of an HMAC secret", args: () => ["keygen", "--alg", "HS256", "--store"], code: 2, message: "--store: the keystore holds asymmetric keys only" },
  { name: "keygen --format other", args: () => ["keygen", "--alg", "ES256", "--format", "der"], code: 2, message: "--format: expected pem or jwk, got 'der'" },
  { name: "a Go duration with days", args: () => ["proxy", "jwt", "--id", "x", "--algorithm", "ES256", "--private_key", "ec.key", "--expiration", "1d"], code: 2, message: "--expiration: expected a Go duration such as 1h, 90m or 1h30m, got '1d'" },
  { name: "adduser with another token type", args: () => ["proxy", "adduser", "--token-type", "oauth2", "--user", "u", "--algorithm", "ES256", "--public_key", "ec.pub"], code: 2, message: "--token-type: only jwt is supported" },
  { name: "adduser without --public_key", args: () => ["proxy", "adduser", "--user", "u", "--algorithm", "ES256"], code: 2, message: "--public_key is required" },
  { name: "verify without a key", args: () => ["verify", "a.b.c"], code: 2, message: "a key is required: --key FILE, --secret S or --jwks-uri URL" },
  { name: "verify of something that is no JWT", args: () => ["verify", "not-a-token", "--secret", "s"], code: 1, message: "TOKEN is not a compact JWT" },
  { name: "an unknown command", args: () => ["frobnicate"], code: 2, message: "unknown command 'frobnicate'" },
  { name: "an unknown subcommand", args: () => ["consumer", "rename"], code: 2, message: "unknown subcommand 'consumer rename' (expected add, list, get, delete)" },
  { name: "an unknown flag", args: () => ["consumer", "list", "--colour"], code: 2, message: "unknown flag --colour" },
  { name: "a missing required flag", args: () => ["route", "add", "--service", "s"], code: 2, message: "--path, --host, --method or --header is required" },
  { name: "both --db and --admin-url", args: () => ["consumer", "list", "--db", "x.db", "--admin-url", "http://127.0.0.1:1"], code: 2, message: "--db and --admin-url: give one of them, not both" },
  { name: "an --admin-url that is no URL", args: () => ["consumer", "list", "--admin-url", "localhost"], code: 2, message: "--admin-url: expected an http(s) URL" },
  { name: "an admin API that is not there", args: () => ["consumer", "list", "--admin-url", `http://127.0.0.1:${closedPort}`], code: 1, message: "cannot reach the admin API at http://127.0.0.1:" },
  { name: "a missing config file", args: () => ["config", "validate", "nope.yml"], code: 1, message: "FILE nope.yml: no such file" },
];

describe("bad input", () => {
  test.each(cases)("$name → exit $code, one line", async ({ args, code, message }) => {
    const result = await runCli(binary, args(), { cwd: dir });
    expect(result.stdout).toBe("");
    expect(result.stderr).toStartWith("gateway: ");
    expect(result.stderr).toContain(message);
    expect(result.stderr.endsWith("\n") && result.stderr.indexOf("\n") === result.stderr.length - 1).toBe(true);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.code).toBe(code);
  });
});

describe("help", () => {
  /** Every command, and every subcommand of a command group, as argv. */
  const invocations = commands.flatMap((command) => {
    const subs = /\nSubcommands:\n([\s\S]*?)\n\n/.exec(command.usage)?.[1]?.split("\n").map((line) => line.trim().split(/\s+/)[0]!) ?? [];
    return [[command.name], ...subs.map((sub) => [command.name, sub])];
  });

  test("gateway help <command>, <command> --help and <command> <subcommand> --help print the usage and exit 0", async () => {
    expect(invocations.length).toBeGreaterThan(30);
    const results = await Promise.all(
      invocations.flatMap((argv) => [
        runCli(binary, [...argv, "--help"], { cwd: dir }).then((result) => ({ argv: [...argv, "--help"], result })),
        ...(argv.length === 1 ? [runCli(binary, ["help", argv[0]!], { cwd: dir }).then((result) => ({ argv: ["help", argv[0]!], result }))] : []),
      ]),
    );
    for (const { argv, result } of results) {
      expect({ argv, code: result.code, stderr: result.stderr }).toEqual({ argv, code: 0, stderr: "" });
      expect(result.stdout).toStartWith(`Usage: gateway ${argv[0] === "help" ? argv[1] : argv.slice(0, -1).join(" ")}`);
    }
  });
});
