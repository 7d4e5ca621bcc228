// Storage (SPEC §2, §3): migrations embedded and applied, foreign keys, WAL, and a second
// process's writes reaching a running gateway within 1 s without a database read per request.
import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { openDatabase } from "../src/db/connection.ts";
import { embeddedMigrations } from "../src/db/migrations.ts";
import { Store } from "../src/db/store.ts";
import { builtinPlugins } from "../plugins/index.ts";
import journal from "../drizzle/meta/_journal.json" with { type: "json" };
import { startTestGateway, tempDir } from "./support/gateway.ts";
import { startUpstream } from "./support/upstream.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe("migrations", () => {
  test("every migration drizzle-kit generated is embedded, in journal order", () => {
    const files = readdirSync(join(import.meta.dir, "../drizzle")).filter((f) => f.endsWith(".sql")).map((f) => f.replace(/\.sql$/, ""));
    expect(Object.keys(embeddedMigrations).sort()).toEqual(files.sort());
    expect(journal.entries.map((e) => e.tag).sort()).toEqual(files.sort());
  });

  test("applied once on a fresh file, then nothing to do; data survives reopening", () => {
    const path = join(tempDir(), "m.db");
    const first = openDatabase(path);
    expect(first.migrations.applied).toEqual(journal.entries.map((e) => e.tag));
    new Store(first, builtinPlugins).create("consumers", { username: "kept" });
    first.sqlite.close();
    const second = openDatabase(path);
    expect(second.migrations.applied).toEqual([]);
    expect(new Store(second, builtinPlugins).get("consumers", "kept").username).toBe("kept");
    expect(second.sqlite.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
    expect(second.sqlite.query("PRAGMA foreign_keys").get()).toEqual({ foreign_keys: 1 });
    second.sqlite.close();
  });
});

describe("entity rules", () => {
  const opened = openDatabase(":memory:");
  const store = new Store(opened, builtinPlugins);

  test("deleting a consumer deletes its credentials and ACLs", () => {
    const consumer = store.create("consumers", { username: "gone" });
    store.create("jwt_secrets", { key: "gone-key" }, { kind: "consumers", id: consumer.id });
    store.create("acls", { group: "g" }, { kind: "consumers", id: consumer.id });
    store.delete("consumers", "gone");
    expect(store.loadAll().jwt_secrets).toEqual([]);
    expect(store.loadAll().acls).toEqual([]);
  });

  test("deleting a service with routes is refused unless cascade", () => {
    store.create("services", { name: "s", url: "http://127.0.0.1:9" });
    store.create("routes", { name: "rr", service: { name: "s" }, paths: ["/x"] });
    expect(() => store.delete("services", "s")).toThrow(/still has 1 route/);
    expect(store.find("routes", "rr")).toBeDefined();
    store.delete("services", "s", { cascade: true });
    expect(store.find("routes", "rr")).toBeUndefined();
  });

  test("a rejected write changes nothing", () => {
    const before = JSON.stringify(store.loadAll());
    expect(() => store.create("routes", { name: "bad", service: { name: "missing" }, paths: ["/x"] })).toThrow(/no such service 'missing'/);
    expect(() => store.create("routes", { name: "bad2", paths: ["~(unclosed"] })).toThrow();
    expect(() => store.create("consumers", {})).toThrow(/at least one of username or custom_id/);
    expect(() => store.create("services", { url: "ftp://x" })).toThrow(/protocol must be http or https/);
    expect(JSON.stringify(store.loadAll())).toBe(before);
  });
});

describe("change detection", () => {
  test("a write by another process is served within 1 s", async () => {
    const upstream = startUpstream();
    const gateway = startTestGateway({ file: true });
    cleanups.push(() => upstream.stop(), () => gateway.close());
    expect((await gateway.request("/late")).status).toBe(404);
    const script = `
      import { openDatabase } from "${join(import.meta.dir, "../src/db/connection.ts")}";
      import { Store } from "${join(import.meta.dir, "../src/db/store.ts")}";
      import { builtinPlugins } from "${join(import.meta.dir, "../plugins/index.ts")}";
      const store = new Store(openDatabase(process.argv[1]), builtinPlugins);
      store.create("services", { name: "late", url: "${upstream.url}" });
      store.create("routes", { name: "late", service: { name: "late" }, paths: ["/late"] });
    `;
    const child = Bun.spawn([process.execPath, "-e", script, gateway.dbPath], { stderr: "pipe" });
    expect(await child.exited).toBe(0);
    const written = performance.now();
    let status = 404;
    while (status !== 200 && performance.now() - written < 1000) {
      status = (await gateway.request("/late")).status;
      if (status !== 200) await Bun.sleep(20);
    }
    expect(status).toBe(200);
    expect(performance.now() - written).toBeLessThan(1000);
  });
});
