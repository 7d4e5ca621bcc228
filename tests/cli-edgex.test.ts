// EdgeX's user flow as its documentation runs it, with `secrets-config` replaced by the compiled
// gateway binary: openssl keys, a uuid id, `proxy adduser`, `proxy jwt`, a request through a
// jwt + acl route, `proxy deluser` — against a running gateway's admin API and on its database
// file, which the running gateway picks up.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { type ServeProcess, ensureBinary, runCli, spawnServe } from "./support/binary.ts";
import { tempDir } from "./support/gateway.ts";
import { type Echo, type TestUpstream, startUpstream } from "./support/upstream.ts";

// Bun 1.4 ignores bunfig's test timeout; the build and the spawned processes need more than 5 s on a busy machine.
setDefaultTimeout(30_000);

let binary = "";
let dir = "";
let dbPath = "";
let upstream: TestUpstream;
let gateway: ServeProcess;

const cli = (...args: string[]) => runCli(binary, args, { cwd: dir });
const admin = () => ["--admin-url", gateway.adminUrl];

function openssl(args: string[], stdinFile?: string): void {
  const run = Bun.spawnSync(["openssl", ...args], { cwd: dir, stdin: stdinFile ? Bun.file(join(dir, stdinFile)) : "ignore", stdout: "pipe", stderr: "pipe" });
  if (run.exitCode !== 0) throw new Error(`openssl ${args.join(" ")}: ${run.stderr.toString()}`);
}

async function succeed(args: string[]): Promise<string> {
  const result = await cli(...args);
  if (result.code !== 0) throw new Error(`gateway ${args.join(" ")} → exit ${result.code}: ${result.stderr}`);
  return result.stdout;
}

function request(token: string): Promise<Response> {
  return fetch(`${gateway.proxyUrl}/core-data/api/v2/ping`, { headers: { authorization: `Bearer ${token}` } });
}

/** Polls until the proxy answers `status` (the gateway reloads within a second of a change). */
async function statusWithin(token: string, status: number, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  for (;;) {
    const response = await request(token);
    await response.arrayBuffer();
    if (response.status === status || Date.now() > deadline) return response.status;
    await Bun.sleep(25);
  }
}

beforeAll(async () => {
  binary = await ensureBinary();
  dir = tempDir("gateway-cli-edgex-");
  dbPath = join(dir, "gateway.db");
  upstream = startUpstream();
  gateway = await spawnServe(binary, ["--db", dbPath, "--access-log", "off"], { cwd: dir });
  // The route EdgeX's proxy-setup creates for a core service, protected as in EdgeX v2 (with the
  // ACL enforced here).
  await succeed(["service", "add", ...admin(), "--name", "core-data", "--url", upstream.url]);
  await succeed(["route", "add", ...admin(), "--name", "core-data", "--service", "core-data", "--path", "/core-data"]);
  await succeed(["plugin", "add", ...admin(), "--name", "jwt", "--route", "core-data", "--config", '{"claims_to_verify":["exp"]}']);
  await succeed(["plugin", "add", ...admin(), "--name", "acl", "--route", "core-data", "--config", '{"allow":["gateway-group"]}']);
});

afterAll(async () => {
  await gateway?.stop("SIGKILL");
  await upstream?.stop();
});

describe("EdgeX secrets-config proxy flow", () => {
  test("against the admin API: adduser prints the id, proxy jwt's token gets 200, deluser makes it 401 within 1 s", async () => {
    openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ec256.key"]);
    openssl(["ec", "-in", "ec256.key", "-pubout", "-out", "ec256.pub"]);
    const id = crypto.randomUUID();
    const added = await cli("proxy", "adduser", "--token-type", "jwt", "--id", id, "--algorithm", "ES256", "--public_key", "ec256.pub", "--user", "someuser", ...admin());
    expect(added).toEqual({ code: 0, stdout: `${id}\n`, stderr: "" });

    const token = (await succeed(["proxy", "jwt", "--id", id, "--algorithm", "ES256", "--private_key", "ec256.key"])).trim();
    expect(decodeProtectedHeader(token)).toEqual({ alg: "ES256", typ: "JWT" });
    const claims = decodeJwt(token);
    expect(Object.keys(claims).sort()).toEqual(["exp", "iat", "iss", "nbf"]);
    expect(claims.iss).toBe(id);
    expect(claims.nbf).toBe(claims.iat!);
    expect(claims.exp).toBe(claims.iat! + 3600);

    const response = await request(token);
    expect(response.status).toBe(200);
    const echo = (await response.json()) as Echo;
    expect(echo.path).toBe("/api/v2/ping");
    expect(echo.headers["x-consumer-username"]).toBe("someuser");
    expect(echo.headers["x-consumer-groups"]).toBe("gateway-group");
    expect(echo.headers["x-credential-identifier"]).toBe(id);

    expect(await cli("proxy", "deluser", "--user", "someuser", ...admin())).toMatchObject({ code: 0, stdout: "" });
    const started = Date.now();
    expect(await statusWithin(token, 401, 1000)).toBe(401);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  test("on the database file, as EdgeX's older docs write the keys (a private key in the .pub file) and with Go-style -flags: the running gateway picks it up", async () => {
    openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "old.key"]);
    openssl(["ec", "-out", "old.pub"], "old.key");
    const id = crypto.randomUUID();
    const added = await cli("proxy", "adduser", "--token-type", "jwt", "-id", id, "--algorithm", "ES256", "-public_key", "old.pub", "--user", "dbuser", "--group", "gateway-group", "-jwt", "ignored-on-a-db", "--db", dbPath);
    expect(added.code).toBe(0);
    expect(added.stdout).toBe(`${id}\n`);
    expect(added.stderr).toContain("private key; only its public half is stored");

    const token = (await succeed(["proxy", "jwt", "-id", id, "-algorithm", "ES256", "-private_key", "old.key", "--expiration=1h30m"])).trim();
    const claims = decodeJwt(token);
    expect(claims.exp).toBe(claims.iat! + 5400);
    expect(await statusWithin(token, 200, 1000)).toBe(200);

    expect((await cli("proxy", "deluser", "--user", "dbuser", "--db", dbPath)).code).toBe(0);
    expect(await statusWithin(token, 401, 1000)).toBe(401);
  });

  test("RS256 with EdgeX's RSA commands (genpkey + rsa -pubout); without --id the key is generated", async () => {
    openssl(["genpkey", "-algorithm", "RSA", "-out", "rsa.key", "-pkeyopt", "rsa_keygen_bits:2048"]);
    openssl(["rsa", "-in", "rsa.key", "-pubout", "-out", "rsa.pub"]);
    const key = (await succeed(["proxy", "adduser", "--token-type", "jwt", "--algorithm", "RS256", "--public_key", "rsa.pub", "--user", "rsauser", ...admin()])).trim();
    expect(key).toMatch(/^[A-Za-z0-9]{32}$/);
    const token = (await succeed(["proxy", "jwt", "--id", key, "--algorithm", "RS256", "--private_key", "rsa.key", "--expiration", "90m"])).trim();
    expect(await statusWithin(token, 200, 1000)).toBe(200);
  });

  test("adduser again: an existing user and group are fine (a second credential); a duplicate id is a one-line error", async () => {
    openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "twice.key"]);
    openssl(["ec", "-in", "twice.key", "-pubout", "-out", "twice.pub"]);
    const args = ["proxy", "adduser", "--token-type", "jwt", "--algorithm", "ES256", "--public_key", "twice.pub", "--user", "twice", ...admin()];
    const first = crypto.randomUUID();
    const second = crypto.randomUUID();
    expect((await cli(...args, "--id", first)).code).toBe(0);
    expect((await cli(...args, "--id", second)).stdout).toBe(`${second}\n`);
    const duplicate = await cli(...args, "--id", first);
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toBe(`gateway: a jwt credential with id (key) '${first}' already exists\n`);
    const credentials = JSON.parse(await succeed(["jwt", "list", "--consumer", "twice", "--json", ...admin()])) as { key: string }[];
    expect(credentials.map((c) => c.key).sort()).toEqual([first, second].sort());
    const groups = JSON.parse(await succeed(["acl", "list", "--consumer", "twice", "--json", ...admin()])) as { group: string }[];
    expect(groups.map((g) => g.group)).toEqual(["gateway-group"]);
  });

  test("proxy jwt: ES256 needs a P-256 key; deluser of an unknown user is not an error", async () => {
    openssl(["ecparam", "-name", "secp384r1", "-genkey", "-noout", "-out", "p384.key"]);
    const wrong = await cli("proxy", "jwt", "--id", "x", "--algorithm", "ES256", "--private_key", "p384.key");
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toBe("gateway: --private_key p384.key holds a P-384 EC key; ES256 needs a P-256 EC key\n");
    const missing = await cli("proxy", "deluser", "--user", "nobody", ...admin());
    expect(missing).toMatchObject({ code: 0, stderr: "note: no user 'nobody'; nothing to delete\n" });
  });
});
