// The bounded queue of password checks: at most RUNNING_MAX verifications at once and
// WAITING_MAX waiting, refused past that (null here, 503 through the plugin), and unknown
// usernames checked like known ones. Bun.password.verify is held by a spy, so the queue fills
// without spending argon2's CPU.
import { afterEach, describe, expect, spyOn, test } from "bun:test";
import { startAuthRig } from "../../tests/support/auth.ts";
import { RUNNING_MAX, WAITING_MAX, checkPassword, pendingChecks } from "./password-checks.ts";

let held: ((ok: boolean) => void)[] = [];
function holdVerifications() {
  return spyOn(Bun.password, "verify").mockImplementation(() => new Promise<boolean>((resolve) => held.push(resolve)));
}
async function releaseAll(ok: boolean) {
  while (held.length > 0) {
    for (const resolve of held.splice(0)) resolve(ok);
    await Bun.sleep(1);
  }
}
afterEach(async () => {
  await releaseAll(false);
  expect(pendingChecks()).toEqual({ running: 0, waiting: 0 });
});

describe("password checks", () => {
  test("run at most RUNNING_MAX at once, queue WAITING_MAX more, and refuse the next at once", async () => {
    const verify = holdVerifications();
    try {
      const checks = Array.from({ length: RUNNING_MAX + WAITING_MAX }, () => checkPassword("pw", "hash"));
      expect(checks.every((check) => check !== null)).toBe(true);
      await Bun.sleep(1);
      expect(pendingChecks()).toEqual({ running: RUNNING_MAX, waiting: WAITING_MAX });
      expect(verify).toHaveBeenCalledTimes(RUNNING_MAX);
      expect(checkPassword("pw", "hash")).toBeNull();
      await releaseAll(true);
      expect(await Promise.all(checks)).toEqual(checks.map(() => true));
      expect(verify).toHaveBeenCalledTimes(RUNNING_MAX + WAITING_MAX);
      const again = checkPassword("pw", "hash");
      expect(again).not.toBeNull();
      await Bun.sleep(1);
      await releaseAll(true);
      expect(await again).toBe(true);
    } finally {
      verify.mockRestore();
    }
  });

  test("a verification that throws is a mismatch, and frees its turn", async () => {
    const verify = spyOn(Bun.password, "verify").mockImplementation(() => Promise.reject(new Error("not a hash")));
    try {
      expect(await checkPassword("pw", "garbage")).toBe(false);
      expect(pendingChecks()).toEqual({ running: 0, waiting: 0 });
    } finally {
      verify.mockRestore();
    }
  });
});

describe("basic-auth through the gateway", () => {
  test("an unknown username costs a password check like a wrong password (no username oracle)", async () => {
    const r = startAuthRig([{ name: "basic-auth" }]);
    const verify = spyOn(Bun.password, "verify");
    try {
      r.gateway.store.create("consumers", { username: "alice" });
      r.gateway.store.create("basicauth_credentials", { consumer: { username: "alice" }, username: "alice", password: "right" });
      for (const user of ["alice", "mallory"]) {
        const response = await r.get("/api", { authorization: `Basic ${btoa(`${user}:wrong`)}` });
        expect({ user, status: response.status, body: await response.json() }).toEqual({ user, status: 401, body: { message: "Invalid authentication credentials" } });
      }
      expect(verify).toHaveBeenCalledTimes(2);
    } finally {
      verify.mockRestore();
      await r.close();
    }
  });

  test("with the queue full, a request is answered 503 with Retry-After at once, and served again once it drains", async () => {
    const r = startAuthRig([{ name: "basic-auth" }]);
    r.gateway.store.create("consumers", { username: "alice" });
    r.gateway.store.create("basicauth_credentials", { consumer: { username: "alice" }, username: "alice", password: "right" });
    const verify = holdVerifications();
    try {
      const waiting = Array.from({ length: RUNNING_MAX + WAITING_MAX }, () => checkPassword("pw", "hash"));
      const refused = await r.get("/api", { authorization: `Basic ${btoa("alice:right")}` });
      expect({ status: refused.status, retry: refused.headers.get("retry-after"), body: await refused.json() }).toEqual({ status: 503, retry: "1", body: { message: "too many password checks in progress, retry later" } });
      await releaseAll(false);
      await Promise.all(waiting);
      verify.mockRestore();
      expect((await r.get("/api", { authorization: `Basic ${btoa("alice:right")}` })).status).toBe(200);
    } finally {
      verify.mockRestore();
      await r.close();
    }
  });
});
