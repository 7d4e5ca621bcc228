// Bad input never crashes the admin API: every documented request example, mutated at random
// (a field dropped, nulled, of another type, huge, deeply nested, with NUL or a lone surrogate;
// unknown fields; the body not an object, not JSON, in another media type), every path
// parameter replaced by hostile text, and list queries out of range, are each answered below
// 500 with a JSON `message` and no stack trace, and a refused one leaves the stored state as it
// was. Seeded, so a failure names the mutation that caused it and repeats.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { seededRandom } from "../plugins/jwt/fuzz-corpus.ts";
import { type AdminHarness, type ExampleRequest, documentedExamples, documentedOperations, openAdmin, sendDocumentedExamples, toReply } from "./admin-harness.ts";

let admin: AdminHarness;
let doc: any;
beforeAll(async () => {
  admin = openAdmin();
  doc = (await admin.call("GET", "/docs/json")).body;
  expect(await sendDocumentedExamples(admin, doc)).toEqual({});
});
afterAll(() => admin.close());

function nested(depth: number): unknown {
  let value: unknown = "leaf";
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { a: value };
  return value;
}

const HOSTILE_VALUES: unknown[] = [
  null, true, false, 0, -1, 1.5, 2 ** 53 + 2, -(2 ** 63), 1e308, "", " ", "x".repeat(100_000), "\u0000", "a\u0000b", "\ud800", "é\u202e",
  "<script>", "../../etc/passwd", "%00", "http://", "http://[::1", "1; DROP TABLE services", "{}", [], [null], [1, "a", {}], {}, { a: 1 }, nested(200), nested(20_000),
];

/** Every place in a JSON value: the chain of keys and indexes leading to it. */
function placesIn(value: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(value)) value.forEach((item, index) => placesIn(item, [...at, index], out));
  else if (value !== null && typeof value === "object") for (const [key, item] of Object.entries(value)) placesIn(item, [...at, key], out);
  return out;
}

/** `value` with the place `at` replaced (`undefined`: removed). */
function withPlace(value: unknown, at: (string | number)[], replacement: unknown): unknown {
  if (at.length === 0) return replacement;
  const copy: any = Array.isArray(value) ? [...value] : { ...(value as object) };
  const [head, ...rest] = at;
  const changed = withPlace(copy[head!], rest, replacement);
  if (changed === undefined) {
    if (Array.isArray(copy)) copy.splice(head as number, 1);
    else delete copy[head!];
  } else copy[head!] = changed;
  return copy;
}

interface Mutant {
  label: string;
  body: string;
  contentType: string;
}

function mutantsOf(example: ExampleRequest, random: () => number, count: number): Mutant[] {
  const mutants: Mutant[] = [];
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const places = placesIn(example.value);
  for (let i = 0; i < count; i++) {
    const at = pick(places);
    const where = at.length ? at.join(".") : "(body)";
    const roll = random();
    let value: unknown;
    let label: string;
    if (roll < 0.15) {
      value = withPlace(example.value, at, undefined);
      label = `${where} removed`;
    } else if (roll < 0.25 && example.value !== null && typeof example.value === "object" && !Array.isArray(example.value)) {
      const name = pick(["id", "created_at", "__proto__", "constructor", "Name", "NAME", "unknown_field", "service", "route", "consumer", ""]);
      value = { ...(example.value as object), [name]: pick(HOSTILE_VALUES) };
      label = `field ${JSON.stringify(name)} added`;
    } else {
      const hostile = pick(HOSTILE_VALUES);
      value = withPlace(example.value, at, hostile);
      label = `${where} = ${JSON.stringify(hostile)?.slice(0, 40)}`;
    }
    mutants.push({ label, body: JSON.stringify(value) ?? "null", contentType: example.mediaType });
  }
  const json = example.mediaType === "application/json" ? example.body : JSON.stringify(example.value);
  mutants.push(
    { label: "empty body", body: "", contentType: example.mediaType },
    { label: "truncated JSON", body: json.slice(0, Math.max(1, json.length >> 1)), contentType: "application/json" },
    { label: "JSON with a trailing comma", body: `${json.slice(0, -1)},}`, contentType: "application/json" },
    { label: "a JSON array", body: `[${json}]`, contentType: "application/json" },
    { label: "JSON sent as text/plain", body: json, contentType: "text/plain" },
    { label: "form fields of odd shape", body: "name=&name=a&paths[]=/x&paths=%FF&config.x[y]=1&=v&%00=1", contentType: "application/x-www-form-urlencoded" },
    { label: "multipart without a boundary", body: "--x\r\n\r\n", contentType: "multipart/form-data" },
    { label: "a UTF-16 body", body: Buffer.from(json, "utf16le").toString("latin1"), contentType: "application/json; charset=utf-16" },
  );
  return mutants;
}

/** A stack frame (`at f (file.ts:1:2)`) or a source path anywhere in an answer. */
const STACK_TRACE = /\n\s+at |\.ts:\d+|node_modules/;

async function answer(method: string, url: string, body: string | undefined, contentType: string | undefined) {
  const headers = contentType === undefined ? undefined : { "content-type": contentType };
  return toReply(await admin.app.handle(new Request(`http://localhost${url}`, { method, body, headers })));
}

/** A failed expectation names the request; the assertions are those of every answer here. */
function expectSafe(where: string, reply: Awaited<ReturnType<typeof answer>>, before: string) {
  const refused = reply.status >= 400;
  expect({ where, status: reply.status < 500 ? "below 500" : reply.status, stack: STACK_TRACE.test(reply.text) }).toEqual({ where, status: "below 500", stack: false });
  if (!refused) return;
  expect({ where, message: typeof reply.body?.message }).toEqual({ where, message: "string" });
  expect({ where, unchanged: admin.state() === before }).toEqual({ where, unchanged: true });
}

describe("admin API fuzz: no 500, no stack trace, a refusal changes nothing", () => {
  test("documented request examples, mutated (seeded)", async () => {
    const random = seededRandom(20261204);
    let sent = 0;
    let refused = 0;
    for (const example of documentedExamples(doc)) {
      for (const mutant of mutantsOf(example, random, 16)) {
        const before = admin.state();
        const reply = await answer(example.method, example.url, mutant.body, mutant.contentType);
        expectSafe(`${example.label}: ${mutant.label}`, reply, before);
        sent++;
        if (reply.status >= 400) refused++;
      }
    }
    // Most mutants are refused: a fuzzer whose inputs all pass tests nothing.
    expect(sent).toBeGreaterThan(1000);
    expect(refused / sent).toBeGreaterThan(0.6);
  }, 120_000);

  test("hostile path parameters on every operation", async () => {
    const hostile = ["", "%00", "%FF", "%2e%2e", "..%2f..%2fconfig", "x".repeat(10_000), "00000000-0000-0000-0000-000000000000", "%E2%80%AE", "a%20b", "%7B%7D", "1e400", "-1"];
    let sent = 0;
    for (const { path, method } of documentedOperations(doc)) {
      if (!path.includes("{")) continue;
      for (const value of hostile) {
        const url = path.replace(/\{(\w+)\}/g, value);
        const upper = method.toUpperCase();
        const body = upper === "GET" || upper === "DELETE" ? undefined : "{}";
        const before = admin.state();
        const reply = await answer(upper, url, body, body === undefined ? undefined : "application/json");
        expectSafe(`${upper} ${url.slice(0, 80)}`, reply, before);
        sent++;
      }
    }
    expect(sent).toBeGreaterThan(300);
  }, 60_000);

  test("list queries out of range", async () => {
    const queries = ["size=0", "size=-1", "size=1e9", "size=abc", "size=1001", "offset=garbage", "offset=%00", "offset=" + "A".repeat(5000), "tags=", "tags=a,,b", "tags=" + "t,".repeat(2000), "size=1&size=2", "name=%FF"];
    for (const { path, method } of documentedOperations(doc)) {
      if (method !== "get" || path.includes("{")) continue;
      for (const query of queries) {
        const before = admin.state();
        const reply = await answer("GET", `${path}?${query}`, undefined, undefined);
        expectSafe(`GET ${path}?${query.slice(0, 60)}`, reply, before);
      }
    }
  }, 60_000);
});
