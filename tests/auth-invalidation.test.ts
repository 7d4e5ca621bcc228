// Changes to credentials and ACL groups take effect at once when written through the gateway's
// store, and within 1 s when another process writes the same database file — with the
// verified-token cache on, so a cached verification never outlives its credential.
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { type AuthRig, inSeconds, sign, signingKey, startAuthRig, type SigningKey } from "./support/auth.ts";

let hs: SigningKey;
let token: string;
let rig: AuthRig;

beforeAll(async () => {
  hs = await signingKey("HS256");
  token = await sign(hs, { iss: "alice-key", exp: inSeconds(600) });
});
afterEach(() => rig?.close());

function setup(file: boolean): AuthRig {
  const r = startAuthRig([], { file });
  const store = r.gateway.store;
  const alice = store.create("consumers", { username: "alice" });
  store.create("jwt_secrets", { key: "alice-key", ...hs.credential }, { kind: "consumers", id: alice.id });
  store.create("acls", { group: "finance" }, { kind: "consumers", id: alice.id });
  store.create("plugins", { name: "jwt", route: { id: r.routeId }, config: { claims_to_verify: ["exp"] } });
  store.create("plugins", { name: "acl", route: { id: r.routeId }, config: { allow: ["finance"] } });
  return r;
}

const withToken = () => rig.get("/api", { authorization: `Bearer ${token}` });

/** Runs a Store write in a separate bun process on the same database file. */
async function writeFromAnotherProcess(dbPath: string, statement: string): Promise<void> {
  const root = join(import.meta.dir, "..");
  const script = `
    import { openDatabase } from ${JSON.stringify(join(root, "src/db/connection.ts"))};
    import { Store } from ${JSON.stringify(join(root, "src/db/store.ts"))};
    import { builtinPlugins } from ${JSON.stringify(join(root, "plugins/index.ts"))};
    const opened = openDatabase(${JSON.stringify(dbPath)});
    const store = new Store(opened, builtinPlugins);
    ${statement};
    opened.sqlite.close();
  `;
  const child = Bun.spawn([process.execPath, "-e", script], { stdout: "ignore", stderr: "pipe" });
  const code = await child.exited;
  if (code !== 0) throw new Error(`writer failed: ${await new Response(child.stderr).text()}`);
}

/** Polls until the status changes to `status`; returns how long it took. */
async function msUntilStatus(status: number, limitMs = 1000): Promise<number> {
  const started = performance.now();
  for (;;) {
    const elapsed = performance.now() - started;
    if ((await withToken()).status === status) return elapsed;
    if (elapsed > limitMs) throw new Error(`status still not ${status} after ${limitMs} ms`);
    await Bun.sleep(20);
  }
}

describe("through the gateway's own store", () => {
  test("removing the ACL group → 403 on the next request", async () => {
    rig = setup(false);
    expect((await withToken()).status).toBe(200);
    rig.gateway.store.delete("acls", "finance", { parent: { kind: "consumers", id: rig.gateway.store.get("consumers", "alice").id } });
    expect((await withToken()).status).toBe(403);
  });

  test("deleting the credential → 401 on the next request, though the token was cached", async () => {
    rig = setup(false);
    expect((await withToken()).status).toBe(200);
    expect((await withToken()).status).toBe(200);
    rig.gateway.store.delete("jwt_secrets", "alice-key");
    const response = await withToken();
    expect(response.status).toBe(401);
    expect(await response.text()).toBe(`{"message":"No credentials found for given 'iss'"}`);
  });

  test("replacing the credential's secret → the old token's signature no longer verifies", async () => {
    rig = setup(false);
    expect((await withToken()).status).toBe(200);
    rig.gateway.store.update("jwt_secrets", "alice-key", { secret: "an-entirely-different-secret-value" });
    expect(await (await withToken()).text()).toBe('{"message":"Invalid signature"}');
  });
});

describe("written by another process on the same database file", () => {
  test("removing the ACL group takes effect within 1 s", async () => {
    rig = setup(true);
    expect((await withToken()).status).toBe(200);
    await writeFromAnotherProcess(rig.gateway.dbPath, `store.delete("acls", "finance", { parent: { kind: "consumers", id: store.get("consumers", "alice").id } })`);
    expect(await msUntilStatus(403)).toBeLessThan(1000);
  });

  test("deleting the credential takes effect within 1 s", async () => {
    rig = setup(true);
    expect((await withToken()).status).toBe(200);
    await writeFromAnotherProcess(rig.gateway.dbPath, `store.delete("jwt_secrets", "alice-key")`);
    expect(await msUntilStatus(401)).toBeLessThan(1000);
  });
});
