import { expect, test } from "bun:test";
import { MalformedResponse, parseResponseHead, statusOf } from "./response-head.ts";

test("status lines: HTTP/1.0 or 1.1, one space, three digits from 100, then the end or a space", () => {
  for (const [line, status] of [["HTTP/1.1 200 OK", 200], ["HTTP/1.0 204", 204], ["HTTP/1.1 100 ", 100], ["HTTP/1.1 999 x y", 999]] as const) {
    expect(statusOf(line)).toBe(status);
  }
  for (const line of ["HTTP/1.1 099 x", "HTTP/1.2 200 OK", "HTTP/2.0 200 OK", "http/1.1 200 OK", "HTTP/1.1  200 OK", "HTTP/1.1 20", "HTTP/1.1 200x", "HTTP/1.1 2a0 OK", "", "HTTP/1.1 200\tOK"]) {
    expect(() => statusOf(line)).toThrow(MalformedResponse);
  }
});

test("header values are trimmed as String.prototype.trim trims them (spaces, tabs, VT, FF, NBSP), names kept as sent", () => {
  const head = parseResponseHead("HTTP/1.1 200 OK\r\nX-A:  one \xa0\r\nX-B:\t\x0btwo\x0c\r\nX-Empty:\r\nContent-Length: 0", "GET");
  expect(head.headers).toEqual([["X-A", "one"], ["X-B", "two"], ["X-Empty", ""], ["Content-Length", "0"]]);
});

test("broken header lines are refused with their reason", () => {
  for (const [text, reason] of [
    ["HTTP/1.1 200 OK\r\nNoColon\r\nX: y", "malformed header line"],
    ["HTTP/1.1 200 OK\r\n:empty", "malformed header line"],
    ["HTTP/1.1 200 OK\r\n folded: x", "malformed header line"],
    ["HTTP/1.1 200 OK\r\nX-A : b", "whitespace before a header colon"],
    ["HTTP/1.1 200 OK\r\n", "malformed header line"],
  ] as const) {
    expect(() => parseResponseHead(text, "GET")).toThrow(reason);
  }
});
