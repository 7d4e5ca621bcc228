// Change detection in database mode: another process's entity writes rebuild the snapshot;
// its writes that are not configuration (rate-limiting counters) do not.
import { afterAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { openCore } from "../gateway.ts";
import { tempDir } from "../../tests/support/gateway.ts";

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function settles(read: () => number, withinMs: number): Promise<number> {
  const until = performance.now() + withinMs;
  let last = read();
  while (performance.now() < until) {
    await Bun.sleep(20);
    last = read();
  }
  return last;
}

test("another connection's counter writes leave the snapshot alone; its entity writes replace it", async () => {
  const path = join(dir, "gateway.db");
  const watching = openCore({ db: path });
  const writer = openCore({ db: path });
  const raw = new Database(path);
  try {
    watching.state.watch(watching.opened.sqlite, 20);
    const version = () => watching.state.current.version;
    const before = version();
    for (let i = 0; i < 5; i++) {
      raw.run("INSERT INTO rate_limiting_counters (scope, identifier, period, period_start, value, expires_at) VALUES (?, ?, 'second', ?, 1, ?)", ["s", `id${i}`, i, i + 1]);
      await Bun.sleep(30);
    }
    expect(await settles(version, 150)).toBe(before);
    writer.store.create("consumers", { username: "late" });
    const started = performance.now();
    while (version() === before && performance.now() - started < 1000) await Bun.sleep(10);
    expect(version()).toBe(before + 1);
    expect(watching.state.current.consumer("late")?.username).toBe("late");
  } finally {
    watching.state.stop();
    raw.close();
    watching.opened.sqlite.close();
    writer.opened.sqlite.close();
  }
});
