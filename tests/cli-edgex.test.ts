// EdgeX's user flow as its documentation runs it, with `secrets-config` replaced by the compiled
// gateway binary: openssl keys, a uuid id, `proxy adduser`, `proxy jwt`, a request through a
// jwt + acl route, `proxy deluser` — against a running gateway's admin API and on its database
// file, which the running gateway picks up.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync, readdirSync } from "node:fs";
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

// The EdgeX docs' own commands, verbatim but for the binary name (and /host/ paths of the
// container mount, here the working directory). EdgeX's admin JWT plays the admin token.
describe("EdgeX docs, verbatim", () => {
  const KONGJWT = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJrb25nLWFkbWluIn0.c2ln";
  let secured: ServeProcess;
  let securedDb = "";
  const env = () => {
    const url = new URL(secured.adminUrl);
    return { KONGURL_SERVER: url.hostname, KONGURL_ADMINPORT: url.port };
  };
  const sh = (args: string[], extra: Record<string, string> = {}) => runCli(binary, args, { cwd: dir, env: { ...env(), ...extra } });
  const through = (token: string) => fetch(`${secured.proxyUrl}/core-data/api/v2/ping`, { headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    securedDb = join(dir, "secured.db");
    secured = await spawnServe(binary, ["--db", securedDb, "--access-log", "off", "--admin-token", KONGJWT], { cwd: dir });
    const adm = ["--admin-url", secured.adminUrl, "--admin-token", KONGJWT];
    await succeed(["service", "add", ...adm, "--name", "core-data", "--url", upstream.url]);
    await succeed(["route", "add", ...adm, "--name", "core-data", "--service", "core-data", "--path", "/core-data"]);
    await succeed(["plugin", "add", ...adm, "--name", "jwt", "--route", "core-data", "--config", '{"claims_to_verify":["exp"]}']);
    await succeed(["plugin", "add", ...adm, "--name", "acl", "--route", "core-data", "--config", '{"allow":["gateway-group","gateway"]}']);
  });
  afterAll(async () => {
    await secured?.stop("SIGKILL");
  });

  test("docker-compose form (leading --, KONGURL_SERVER from the compose file): adduser, jwt, deluser", async () => {
    // openssl ecparam -name prime256v1 -genkey -noout -out ec256.key; openssl ec -out ec256.pub < ec256.key
    openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ec256.key"]);
    openssl(["ec", "-out", "ec256.pub"], "ec256.key");
    const ID = crypto.randomUUID();
    const added = await sh(["--", "proxy", "adduser", "--token-type", "jwt", "--id", ID, "--algorithm", "ES256", "--public_key", "ec256.pub", "--user", "_SOME_USERNAME_", "--jwt", KONGJWT]);
    expect(added.code).toBe(0);
    expect(added.stdout).toBe(`${ID}\n`);
    const jwt = await sh(["--", "proxy", "jwt", "--id", ID, "--algorithm", "ES256", "--private_key", "ec256.key"]);
    expect(jwt.code).toBe(0);
    const token = jwt.stdout.trim();
    expect((await through(token)).status).toBe(200);
    expect(await sh(["--", "proxy", "deluser", "--user", "_SOME_USERNAME_", "--jwt", KONGJWT])).toMatchObject({ code: 0, stdout: "" });
  });

  test('"Adding users remotely" (export KONGURL_SERVER=<ip address of gateway>; --group gateway)', async () => {
    // test -f gateway.key || openssl ecparam -name prime256v1 -genkey -noout -out gateway.key; openssl ec -in gateway.key -pubout -out gateway.pub
    openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "gateway.key"]);
    openssl(["ec", "-in", "gateway.key", "-pubout", "-out", "gateway.pub"]);
    const ID = crypto.randomUUID();
    const GW_USER = "gateway";
    const GW_GROUP = "gateway";
    const { hostname, port } = new URL(secured.adminUrl);
    const remote = { KONGURL_SERVER: `${hostname}:${port}`, KONGURL_ADMINPORT: "" };
    const added = await sh(["proxy", "adduser", "--token-type", "jwt", "--id", ID, "--algorithm", "ES256", "--public_key", "gateway.pub", "--user", GW_USER, "--group", GW_GROUP, "--jwt", KONGJWT], remote);
    expect(added).toEqual({ code: 0, stdout: `${ID}\n`, stderr: "" });
    const USER_JWT = (await sh(["proxy", "jwt", "--algorithm", "ES256", "--id", ID, "--private_key", "gateway.key"])).stdout.trim();
    const response = await through(USER_JWT);
    expect(response.status).toBe(200);
    expect(((await response.json()) as Echo).headers["x-consumer-groups"]).toBe("gateway");
    // Without the admin JWT the gateway refuses, and says how to give it.
    const refused = await sh(["proxy", "deluser", "--user", GW_USER], remote);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("--admin-token");
    expect((await sh(["proxy", "deluser", "--user", GW_USER, "--jwt", KONGJWT], remote)).code).toBe(0);
  });

  test("--confdir is accepted and noted; EdgeX 3.x flags explain the 2.x flags implemented", async () => {
    openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "conf.key"]);
    openssl(["ec", "-in", "conf.key", "-pubout", "-out", "conf.pub"]);
    const added = await sh(["proxy", "adduser", "--confdir", "res", "--token-type", "jwt", "--algorithm", "ES256", "--public_key", "conf.pub", "--user", "confuser", "--jwt", KONGJWT]);
    expect(added.code).toBe(0);
    expect(added.stderr).toBe("note: --confdir res ignored (secrets-config's configuration directory; this gateway needs none)\n");
    const v3 = await sh(["proxy", "adduser", "--user", "v3user", "--tokenTTL", "1h", "--jwtTTL", "1h", "--useRootToken"]);
    expect(v3.code).toBe(2);
    expect(v3.stderr).toContain("--tokenTTL is an EdgeX 3.x flag");
    expect(v3.stderr).toContain("proxy adduser --token-type jwt --user NAME --algorithm ES256|RS256 --public_key FILE");
  });
});

describe("no implicit database, all-or-nothing adduser", () => {
  test("without --db, --admin-url or KONGURL_SERVER, entity commands refuse a missing ./gateway.db and create none", async () => {
    const empty = tempDir("gateway-cli-edgex-empty-");
    openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "nodb.key"]);
    openssl(["ec", "-in", "nodb.key", "-pubout", "-out", "nodb.pub"]);
    for (const args of [
      ["proxy", "adduser", "--token-type", "jwt", "--algorithm", "ES256", "--public_key", join(dir, "nodb.pub"), "--user", "u"],
      ["proxy", "deluser", "--user", "u"],
      ["consumer", "add", "--username", "u"],
      ["consumer", "list"],
    ]) {
      const result = await runCli(binary, args, { cwd: empty });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("database ./gateway.db does not exist: create it with 'gateway migrate'");
      expect(existsSync(join(empty, "gateway.db"))).toBe(false);
    }
    expect((await runCli(binary, ["migrate"], { cwd: empty })).code).toBe(0);
    expect(existsSync(join(empty, "gateway.db"))).toBe(true);
    expect((await runCli(binary, ["consumer", "add", "--username", "u"], { cwd: empty })).code).toBe(0);
  });

  test("a refused key (RSA-1024) says why, prints the openssl command, and leaves the database file byte for byte", async () => {
    const db = join(dir, "atomic.db");
    expect((await cli("migrate", "--db", db)).code).toBe(0);
    openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "first.key"]);
    openssl(["ec", "-in", "first.key", "-pubout", "-out", "first.pub"]);
    await succeed(["proxy", "adduser", "--token-type", "jwt", "--id", "taken", "--algorithm", "ES256", "--public_key", "first.pub", "--user", "first", "--db", db]);
    const before = readFileSync(db);
    const files = readdirSync(dir).sort();

    openssl(["genpkey", "-algorithm", "RSA", "-out", "rsa1024.key", "-pkeyopt", "rsa_keygen_bits:1024"]);
    openssl(["rsa", "-in", "rsa1024.key", "-pubout", "-out", "rsa1024.pub"]);
    const weak = await cli("proxy", "adduser", "--token-type", "jwt", "--algorithm", "RS256", "--public_key", "rsa1024.pub", "--user", "weak", "--db", db);
    expect(weak.code).toBe(1);
    expect(weak.stderr).toBe(
      "gateway: --public_key rsa1024.pub holds a 1024-bit RSA key; RS256 needs at least 2048 bits; nothing was added. " +
        "An acceptable RS256 key pair: openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out user.key && openssl rsa -in user.key -pubout -out user.pub\n",
    );
    const wrongCurve = await cli("proxy", "adduser", "--token-type", "jwt", "--algorithm", "ES256", "--public_key", "rsa1024.pub", "--user", "weak", "--db", db);
    expect(wrongCurve.stderr).toContain("An acceptable ES256 key pair: openssl ecparam -name prime256v1 -genkey -noout -out user.key");

    // A duplicate id fails after the consumer and its group were written: rolled back.
    const duplicate = await cli("proxy", "adduser", "--token-type", "jwt", "--id", "taken", "--algorithm", "ES256", "--public_key", "first.pub", "--user", "second", "--db", db);
    expect(duplicate).toMatchObject({ code: 1, stderr: "gateway: a jwt credential with id (key) 'taken' already exists\n" });
    expect(readFileSync(db).equals(before)).toBe(true);
    expect(readdirSync(dir).filter((name) => !name.startsWith("rsa1024")).sort()).toEqual(files);
    const consumers = JSON.parse(await succeed(["consumer", "list", "--json", "--db", db])) as { username: string }[];
    expect(consumers.map((c) => c.username)).toEqual(["first"]);
  });
});
