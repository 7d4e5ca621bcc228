// YAML that libyaml (Kong's parser) reads loads here too: multi-line quoted strings whose
// continuation lines are indented less than their list item. Expected values are what
// libyaml's CSafeLoader returns for the same texts.
import { describe, expect, test } from "bun:test";
import { parseDocument, reindentQuotedScalars } from "./document.ts";

const CASES: [name: string, text: string, expected: unknown][] = [
  [
    "a plugin message continued at the list item's indentation and below",
    `plugins:\n  - name: request-termination\n    config:\n      message: "hello\n  world and\nmore"\n      status_code: 403\n`,
    { plugins: [{ name: "request-termination", config: { message: "hello world and more", status_code: 403 } }] },
  ],
  ["single quotes with a doubled quote", `a:\n  - 'it''s\n ok'\n  - b\n`, { a: ["it's ok", "b"] }],
  ["a # inside the string is not a comment, one after it is", `a:\n  - m: "x # y\n z" # comment\n    n: 1\n`, { a: [{ m: "x # y z", n: 1 }] }],
  ["an escaped line break and a blank line", `k:\n  - a: "one\\\n two"\n    b: "p\n\n q"\n`, { k: [{ a: "onetwo", b: "p\nq" }] }],
  ["a quote after a comma in a plain scalar is text; one after a comma in a flow list opens a string", `a:\n  - m: x, "y\n    n: [p, "q\n r"]\n  - "s\n t"\n`, { a: [{ m: 'x, "y', n: ["p", "q r"] }, "s t"] }],
  ["a quote inside a block scalar is text", `k:\n  - b: |\n      "unclosed\n    c: "d\n e"\n`, { k: [{ b: '"unclosed\n', c: "d e" }] }],
];

describe("YAML as libyaml reads it", () => {
  for (const [name, text, expected] of CASES) {
    test(name, () => {
      expect(parseDocument(text)).toEqual(expected);
    });
  }

  test("a text without a multi-line quoted string is not rewritten (comments and block scalars hold quotes)", () => {
    expect(reindentQuotedScalars(`a: [b, "c"]\n# "d\nk: |\n  "e\nl: it's\n`)).toBeNull();
  });

  test("a string that never closes is still refused with the parser's own error", () => {
    expect(() => parseDocument(`a:\n  - b: "never\n closed\n`)).toThrow(/Missing closing "quote/);
  });
});
