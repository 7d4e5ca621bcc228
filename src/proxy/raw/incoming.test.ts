// RawHeaders answers as Fetch's Headers does (the plugins' HeaderFields contract): every
// operation below runs on both, from the same client fields, and must leave the same reads,
// the same iteration and the same refusals.
import { describe, expect, test } from "bun:test";
import type { HeaderFields } from "../../pipeline/contract.ts";
import { RawHeaders, RawRequest, type RequestConnection } from "./incoming.ts";

const CLIENT: [string, string][] = [
  ["host", "gateway.test"], ["cookie", "a=1"], ["x-b", "first"], ["accept", "*/*"], ["cookie", "b=2"], ["x-b", "second"], ["x-latin", "caf\u00e9"],
];

function both(): [Headers, RawHeaders] {
  const fetched = new Headers();
  for (const [name, value] of CLIENT) fetched.append(name, value);
  return [fetched, new RawHeaders(CLIENT.flat())];
}

/** Everything a plugin can read of the fields. */
function reading(headers: HeaderFields): unknown {
  return {
    entries: [...headers],
    keys: [...headers.keys()],
    reads: ["host", "Cookie", "X-B", "x-latin", "absent", "x-new", "X-Set", "x-set~!#$%&*+.^_`|"].map((name) => [headers.get(name), headers.has(name)]),
  };
}

/** The outcome of `operation`: what it threw (its type and message) or nothing. */
function attempt(operation: () => void): string | null {
  try {
    operation();
    return null;
  } catch (error) {
    return `${(error as Error).name}: ${(error as Error).message}`;
  }
}

const OPERATIONS: [string, (headers: HeaderFields) => void][] = [
  ["nothing", () => {}],
  ["set replaces every field of a name, in any case", (h) => h.set("X-B", "only")],
  ["set adds a new name", (h) => h.set("X-Set", "v")],
  ["append adds a field", (h) => h.append("x-b", "third")],
  ["append a new name", (h) => h.append("X-New", "n")],
  ["delete removes every field of a name", (h) => h.delete("COOKIE")],
  ["delete an absent name", (h) => h.delete("absent")],
  ["values are stripped of outer whitespace", (h) => h.set("x-set", " \t padded \t ")],
  ["an empty value", (h) => h.set("x-set", "")],
  ["a Latin-1 value", (h) => h.set("x-set", "na\u00efve")],
  ["controls Fetch lets through, kept as they are", (h) => h.set("x-set", "\x0ba\x01b\x7fc\x1f\x0b")],
  ["every token character in a name", (h) => h.set("X-Set~!#$%&*+.^_`|", "v")],
];

const REFUSED: [string, (headers: HeaderFields) => void][] = [
  ["CR LF in a value", (h) => h.set("x-set", "a\r\nx-injected: 1")],
  ["LF in an appended value", (h) => h.append("x-set", "a\nb")],
  ["NUL in a value", (h) => h.set("x-set", "a\0b")],
  ["a value beyond Latin-1", (h) => h.set("x-set", "\u0100")],
  ["a space in a name", (h) => h.set("bad name", "v")],
  ["a colon in a name", (h) => h.append("x:y", "v")],
  ["a parenthesis in a name", (h) => h.set("a(b", "v")],
  ["a Latin-1 letter in a name", (h) => h.set("caf\u00e9", "v")],
  ["an empty name", (h) => h.set("", "v")],
];

describe("RawHeaders reads and changes as Fetch Headers do", () => {
  for (const [name, operation] of [...OPERATIONS, ...REFUSED]) {
    test(name, () => {
      const [fetched, raw] = both();
      expect(attempt(() => operation(raw))).toBe(attempt(() => operation(fetched)));
      expect(reading(raw)).toEqual(reading(fetched));
    });
  }

  test("a refused change leaves the fields as they were", () => {
    for (const [, operation] of REFUSED) {
      const [, raw] = both();
      expect(attempt(() => operation(raw))).toStartWith("TypeError: ");
      expect(raw.pairs).toEqual(CLIENT.flat());
    }
  });

  test("repeated Cookie fields read joined with '; ', others with ', '", () => {
    const [, raw] = both();
    expect(raw.get("cookie")).toBe("a=1; b=2");
    expect(raw.get("x-b")).toBe("first, second");
  });
});

describe("RawRequest builds its Fetch Request only when asked, from the fields as they are then", () => {
  const connection = {} as RequestConnection;
  const request = () => new RawRequest("GET", "/api?x=1", CLIENT.flat(), "http://gateway.test", null, connection);

  test("reads and changes before it need no Request", () => {
    const raw = request();
    raw.headers.set("x-consumer-id", "c1");
    expect(raw.url).toBe("http://gateway.test/api?x=1");
    expect(raw.fetched).toBeNull();
  });

  test("the Request carries the changes so far, and later changes reach it", () => {
    const raw = request();
    raw.headers.set("x-consumer-id", "c1");
    const built = raw.request();
    expect(raw.fetched).toBe(built);
    expect(built.url).toBe("http://gateway.test/api?x=1");
    expect(built.headers.get("x-consumer-id")).toBe("c1");
    raw.headers.delete("x-consumer-id");
    raw.headers.set("x-later", "yes");
    expect(built.headers.get("x-consumer-id")).toBeNull();
    expect(built.headers.get("x-later")).toBe("yes");
    expect(raw.headers.get("x-later")).toBe("yes");
    expect(raw.request()).toBe(built);
  });
});
