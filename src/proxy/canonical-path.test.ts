// canonicalPath's rules, one row per behaviour; the differential against nginx and Node is in
// tests/security/path-differential.test.ts.
import { describe, expect, test } from "bun:test";
import { canonicalPath } from "./canonical-path.ts";

const rows: [behaviour: string, input: string, output: string | null][] = [
  // already canonical: returned as it is
  ["root stays root", "/", "/"],
  ["a plain path stays", "/api/v1/users", "/api/v1/users"],
  ["a trailing slash is kept", "/a/", "/a/"],
  ["sub-delims, : and @ stay literal", "/a!$&'()*+,=:@b", "/a!$&'()*+,=:@b"],
  ["dots inside a segment are no dot segment", "/a/.b/..c/.../d.", "/a/.b/..c/.../d."],
  // percent-encodings
  ["encoded ALPHA is decoded", "/%61dmin", "/admin"],
  ["encoded DIGIT, -, ., _ and ~ are decoded", "/%31%2D%2e%5F%7e", "/1-._~"],
  ["hex of encodings that stay is upper-cased", "/%c3%a9/%3f%23%25", "/%C3%A9/%3F%23%25"],
  ["an encoded space stays encoded", "/a%20b", "/a%20b"],
  ["an encoded reserved character stays encoded", "/a%3Ab%40c%2Bd", "/a%3Ab%40c%2Bd"],
  ["%25 is decoded once only: no double decoding", "/%252e%252e/admin", "/%252e%252e/admin"],
  ["a lone % is refused", "/a%", null],
  ["a % with one hex digit is refused", "/a%1", null],
  ["a % with a non-hex digit is refused", "/a%G1", null],
  ["%zz is refused", "/%zz", null],
  // slashes and backslashes
  ["repeated slashes are merged", "//a///b//", "/a/b/"],
  ["only slashes is the root", "///", "/"],
  ["%2F is refused", "/a%2Fb", null],
  ["%2f is refused", "/a%2fb", null],
  ["%5C is refused", "/a%5cb", null],
  ["a literal backslash is refused", "/a\\b", null],
  // dot segments
  [". segment removed", "/a/./b", "/a/b"],
  [".. segment removes the one before", "/a/b/../c", "/a/c"],
  ["trailing . keeps the slash", "/a/.", "/a/"],
  ["trailing .. keeps the slash", "/a/b/..", "/a/"],
  ["trailing .. back to the root", "/a/..", "/"],
  ["%2e is a dot segment", "/a/%2e/b", "/a/b"],
  ["%2E%2e is a dot-dot segment", "/a/b/%2E%2e/c", "/a/c"],
  [".%2E is a dot-dot segment", "/a/b/.%2E/c", "/a/c"],
  ["slashes merge before .. resolves, as nginx does", "/a//../b", "/b"],
  [".. above the root is refused", "/..", null],
  [".. above the root after a climb is refused", "/a/../../b", null],
  ["encoded .. above the root is refused", "/%2e%2e/admin", null],
  ["a lone . is the root", "/.", "/"],
  // path parameters
  ["; in a name segment is refused (Tomcat reads /a;b/c as /a/c)", "/a;b/c", null],
  ["%3B in a name segment is refused", "/a%3bb/c", null],
  ["..; is refused (Tomcat climbs)", "/public/..;/admin", null],
  ["..;x is refused", "/public/..;x/admin", null],
  ["..%3B is refused", "/public/..%3B/admin", null],
  ["..%3b is refused", "/public/..%3b/admin", null],
  [".;x is refused", "/public/.;x/admin", null],
  ["%2e%2e; is refused", "/public/%2e%2e;/admin", null],
  ["a segment of params only is refused (Tomcat merges it away)", "/;x/admin", null],
  // characters that are not path characters
  ["encoded NUL is refused", "/a%00", null],
  ["encoded control character is refused", "/a%0A", null],
  ["encoded DEL is refused", "/a%7F", null],
  ["literal NUL is refused", "/a\u0000", null],
  ["literal control character is refused", "/a\u001fb", null],
  ["literal DEL is refused", "/a\u007f", null],
  ["a literal space is refused", "/a b", null],
  ["a literal ? is refused", "/a?b", null],
  ["a literal # is refused", "/a#b", null],
  ["characters RFC 3986 does not allow are encoded", "/a\"<>[]^`{|}", "/a%22%3C%3E%5B%5D%5E%60%7B%7C%7D"],
  ["raw non-ASCII is UTF-8 percent-encoded", "/é/日本/😀", "/%C3%A9/%E6%97%A5%E6%9C%AC/%F0%9F%98%80"],
  ["a lone surrogate is refused", "/a\ud800", null],
  // not a path
  ["the empty string is refused", "", null],
  ["a path not starting with / is refused", "a/b", null],
];

describe("canonicalPath", () => {
  for (const [behaviour, input, output] of rows) {
    test(`${behaviour}: ${JSON.stringify(input)} → ${JSON.stringify(output)}`, () => {
      expect(canonicalPath(input)).toBe(output);
    });
  }

  test("a canonical result is its own canonical form", () => {
    for (const [, , output] of rows) if (output !== null) expect(canonicalPath(output)).toBe(output);
  });
});
