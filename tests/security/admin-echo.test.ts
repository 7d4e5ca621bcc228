// Admin errors never echo more than a short prefix of a bad value (security hardening item 10):
// a 12 MB username inside `POST /config` was echoed whole and took the admin process past
// 500 MB. Every message and `fields` name quotes what was sent through one helper (entities/quote.ts).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { clip, quote } from "../../src/entities/quote.ts";
import { type AdminHarness, listenAdmin, openAdmin } from "../admin-harness.ts";

const MB = 1024 * 1024;
const SMALL = 4096;
/** No answer may carry a run of the filler this long: the helper shows 64 characters. */
const RUN = "x".repeat(100);

let admin: AdminHarness;
beforeAll(async () => {
  admin = openAdmin();
  await admin.call("POST", "/services", { name: "orders", url: "http://orders.internal" });
  await admin.call("POST", "/consumers", { username: "alice" });
});
afterAll(() => admin.close());

const json = (body: string) => ({ body, headers: { "content-type": "application/json" } });

describe("the quoting helper", () => {
  test("short values whole; long ones as 64 characters and their size in bytes; control characters escaped", () => {
    expect(quote("alice")).toBe("'alice'");
    expect(quote("x".repeat(64))).toBe(`'${"x".repeat(64)}'`);
    expect(quote("x".repeat(12 * MB))).toBe(`'${"x".repeat(64)}…(12582912 bytes)'`);
    expect(clip("é".repeat(100))).toBe(`${"é".repeat(64)}…(200 bytes)`);
    expect(clip("😀".repeat(70))).toBe(`${"😀".repeat(64)}…(280 bytes)`);
    expect(quote("a\nb\u0000")).toBe("'a\\u000ab\\u0000'");
    expect(quote({ name: "n" })).toBe(`'{"name":"n"}'`);
  });
});

describe("POST /config with a 12 MB username (JSON, under the 32 MiB limit)", () => {
  test("→ 400 naming the field, a body under 4 KB, and the admin process's memory barely moves", async () => {
    const listener = await listenAdmin(admin);
    try {
      const body = JSON.stringify({ _format_version: "3.0", consumers: [{ username: "x".repeat(12 * MB) }] });
      const before = admin.state();
      Bun.gc(true);
      const rssBefore = process.memoryUsage().rss;
      let peak = rssBefore;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
      const reply = await listener.call("POST", "/config", undefined, json(body));
      clearInterval(sampler);
      peak = Math.max(peak, process.memoryUsage().rss);
      expect(reply.status).toBe(400);
      expect(reply.text.length).toBeLessThan(SMALL);
      expect(reply.body).toEqual({
        message: `in consumer '${"x".repeat(64)}…(12582912 bytes)' at consumers[0]: username: length should be between 1 and 256`,
        fields: { "consumers[0].username": "length should be between 1 and 256" },
      });
      expect(admin.state()).toBe(before);
      // Measured on this machine: +520 MB before (YAML's parser on the JSON, the echo), about
      // +90 MB now (the body's own copies). A generous bound, so the test is not about GC timing.
      expect(peak - rssBefore).toBeLessThan(300 * MB);
    } finally {
      await listener.server.stop();
    }
  });
});

interface Case {
  name: string;
  method: string;
  path: string;
  json?: unknown;
  init?: RequestInit;
  status: number;
}

const big = (n: number) => "x".repeat(n);
const CASES: Case[] = [
  { name: "a 1 MB unknown field name", method: "POST", path: "/consumers", init: json(`{"username":"bob","${big(MB - 100)}":1}`), status: 400 },
  { name: "a 1 MB unknown field name in a plugin config", method: "POST", path: "/plugins", init: json(`{"name":"test-stamp","config":{"${big(MB - 100)}":1}}`), status: 400 },
  { name: "a 1 MB form field name", method: "POST", path: "/consumers", init: { body: `${big(MB - 100)}.a=1`, headers: { "content-type": "application/x-www-form-urlencoded" } }, status: 400 },
  { name: "a reference to a missing service by a 512 KB name", method: "POST", path: "/routes", json: { service: { name: big(512 * 1024) }, paths: ["/a"] }, status: 400 },
  { name: "a 512 KB anonymous consumer in a plugin config (the plugin's own message)", method: "POST", path: "/plugins", json: { name: "anonymous", config: { consumer: big(512 * 1024) } }, status: 400 },
  { name: "a 512 KB token in invalid JSON", method: "POST", path: "/consumers", init: json(`{"username": ${big(512 * 1024)}}`), status: 400 },
  { name: "an 8 KB Content-Type", method: "POST", path: "/consumers", init: { body: "{}", headers: { "content-type": `text/${big(8 * 1024)}` } }, status: 415 },
  { name: "an 8 KB name in the URL", method: "GET", path: `/consumers/${big(8 * 1024)}`, status: 404 },
  { name: "an 8 KB name in a DELETE", method: "DELETE", path: `/services/${big(8 * 1024)}`, status: 404 },
  { name: "an 8 KB plugin id in a PUT", method: "PUT", path: `/plugins/${big(8 * 1024)}`, json: { name: "test-stamp" }, status: 400 },
  { name: "an 8 KB plugin id in a GET", method: "GET", path: `/plugins/${big(8 * 1024)}`, status: 404 },
  { name: "an 8 KB plugin name for its schema", method: "GET", path: `/plugins/schema/${big(8 * 1024)}`, status: 404 },
  { name: "a 1 MB top-level key in POST /config", method: "POST", path: "/config", init: json(`{"_format_version":"3.0","${big(MB)}":[]}`), status: 400 },
  { name: "a 1 MB unknown field in a declared consumer", method: "POST", path: "/config", init: json(`{"_format_version":"3.0","consumers":[{"username":"c","${big(MB)}":1}]}`), status: 400 },
  { name: "a 1 MB route reference in POST /config", method: "POST", path: "/config", init: json(JSON.stringify({ _format_version: "3.0", routes: [{ service: big(MB), paths: ["/a"] }] })), status: 400 },
  { name: "a 1 MB repeated key in POST /config", method: "POST", path: "/config", init: json(`{"_format_version":"3.0","${big(MB)}":1,"${big(MB)}":2}`), status: 400 },
  { name: "a 1 MB plugin name in POST /config", method: "POST", path: "/config", init: json(JSON.stringify({ _format_version: "3.0", plugins: [{ name: big(MB) }] })), status: 400 },
  { name: "a 1 MB placeholder-like secret in POST /config", method: "POST", path: "/config", init: json(JSON.stringify({ _format_version: "3.0", consumers: [{ username: "d", jwt_secrets: [{ key: "d", secret: `\${${big(MB)}}` }] }] })), status: 400 },
  { name: "a 1 MB vault name in POST /config", method: "POST", path: "/config", init: json(JSON.stringify({ _format_version: "3.0", consumers: [{ username: "e", jwt_secrets: [{ key: "e", secret: `{vault://${big(MB)}/a}` }] }] })), status: 400 },
  { name: "a 1 MB env variable name in POST /config", method: "POST", path: "/config", init: json(JSON.stringify({ _format_version: "3.0", consumers: [{ username: "f", jwt_secrets: [{ key: "f", secret: `{vault://env/${big(MB)}}` }] }] })), status: 400 },
  { name: "a 1 MB YAML key", method: "POST", path: "/config", init: { body: `_format_version: "3.0"\n${big(MB)}: [`, headers: { "content-type": "application/yaml" } }, status: 400 },
];

describe("no error path echoes a large value", () => {
  for (const item of CASES) {
    test(`${item.name} → ${item.status} with a short message`, async () => {
      const before = admin.state();
      const reply = await admin.call(item.method, item.path, item.json, item.init);
      expect(reply.status).toBe(item.status);
      expect(typeof reply.body.message).toBe("string");
      expect(reply.text.length).toBeLessThan(SMALL);
      expect(reply.text).not.toContain(RUN);
      expect(admin.state()).toBe(before);
    });
  }
});
