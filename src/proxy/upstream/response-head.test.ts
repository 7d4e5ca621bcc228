import { expect, test } from "bun:test";
import { parseResponseText, randomResponseHead, seededRandom, statusOfText } from "../../../tests/support/response-heads.ts";
import { HOP_BY_HOP } from "../hop-by-hop.ts";
import { MalformedResponse, unrelayable } from "./response-head.ts";

test("status lines: HTTP/1.0 or 1.1, one space, three digits from 100, then the end or a space", () => {
  for (const [line, status] of [["HTTP/1.1 200 OK", 200], ["HTTP/1.0 204", 204], ["HTTP/1.1 100 ", 100], ["HTTP/1.1 999 x y", 999]] as const) {
    expect(statusOfText(line)).toBe(status);
  }
  for (const line of ["HTTP/1.1 099 x", "HTTP/1.2 200 OK", "HTTP/2.0 200 OK", "http/1.1 200 OK", "HTTP/1.1  200 OK", "HTTP/1.1 20", "HTTP/1.1 200x", "HTTP/1.1 2a0 OK", "", "HTTP/1.1 200\tOK"]) {
    expect(() => statusOfText(line)).toThrow(MalformedResponse);
  }
});

test("header values are trimmed as String.prototype.trim trims them (spaces, tabs, VT, FF, NBSP), names kept as sent", () => {
  const head = parseResponseText("HTTP/1.1 200 OK\r\nX-A:  one \xa0\r\nX-B:\t\x0btwo\x0c\r\nX-Empty:\r\nContent-Length: 0", "GET");
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
    expect(() => parseResponseText(text, "GET")).toThrow(reason);
  }
});

/** What the parser is required to make of a head: the rules of RFC 9112 §5-6 as the module comment states them, written plainly. */
function referenceReading(text: string, method: string): object {
  try {
    const lines = text.split("\r\n");
    const status = statusOfText(lines[0]!);
    let reusable = text.charCodeAt(7) === 49;
    let length = -1;
    let transferEncoding: string | null = null;
    const options: string[] = [];
    const headers: [string, string][] = [];
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon <= 0 || line[0] === " " || line[0] === "\t") throw new MalformedResponse("malformed header line");
      if (/[ \t]$/.test(line.slice(0, colon))) throw new MalformedResponse("whitespace before a header colon");
      const name = line.slice(0, colon);
      const value = line.slice(colon + 1).trim();
      const lower = name.toLowerCase();
      if (lower === "content-length") {
        if (!/^\d{1,15}$/.test(value)) throw new MalformedResponse("invalid Content-Length");
        if (length >= 0 && Number(value) !== length) throw new MalformedResponse("conflicting Content-Length headers");
        length = Number(value);
        headers.push([name, value]);
      } else if (lower === "transfer-encoding") transferEncoding = transferEncoding === null ? value : `${transferEncoding}, ${value}`;
      else if (lower === "connection") {
        for (const option of value.toLowerCase().split(",").map((each) => each.trim())) {
          if (option === "close") reusable = false;
          else if (option && option !== "keep-alive" && option !== "content-length") options.push(option);
        }
      } else if (!HOP_BY_HOP.has(lower)) headers.push([name, value]);
    }
    const endToEnd = headers.filter(([name]) => !options.includes(name.toLowerCase()));
    if (method === "HEAD" || status === 204 || status === 304) return { status, framing: "none", length: 0, reusable, headers: endToEnd };
    if (transferEncoding !== null) {
      const codings = transferEncoding.toLowerCase().split(",");
      const chunked = codings[codings.length - 1]!.trim() === "chunked";
      if (chunked && codings.length > 1) throw new MalformedResponse(`unsupported Transfer-Encoding "${transferEncoding}"`);
      const withoutLength = endToEnd.filter(([name]) => name.toLowerCase() !== "content-length");
      return { status, framing: chunked ? "chunked" : "close", length: 0, reusable: chunked && length < 0 && reusable, headers: withoutLength };
    }
    if (length >= 0) return { status, framing: "length", length, reusable, headers: endToEnd };
    return { status, framing: "close", length: 0, reusable: false, headers: endToEnd };
  } catch (error) {
    return { refused: (error as Error).message };
  }
}

function reading(text: string, method: string): object {
  try {
    const head = parseResponseText(text, method);
    return { status: head.status, framing: head.framing, length: head.length, reusable: head.reusable, headers: head.headers };
  } catch (error) {
    return { refused: (error as Error).message };
  }
}

/** Whether Fetch would take the head's end-to-end fields (a token name, a value without NUL, CR or LF), and its status. */
function referenceRelayable(text: string, method: string): string | null {
  const head = parseResponseText(text, method);
  if (head.status > 599) return `status ${head.status} outside 200-599`;
  for (const [name, value] of head.headers) {
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) return "invalid header name";
    if (/[\0\r\n]/.test(value)) return "invalid header value";
  }
  return null;
}

test("100,000 generated heads: the parser reads each as the plain rules do, and refuses to relay exactly what Fetch would refuse", () => {
  const random = seededRandom(20261203);
  let refused = 0;
  let unrelayed = 0;
  for (let i = 0; i < 100_000; i++) {
    const text = randomResponseHead(random);
    const method = random() < 0.1 ? "HEAD" : "GET";
    const expected = referenceReading(text, method);
    const got = reading(text, method);
    if (!Bun.deepEquals(got, expected)) expect({ text, got }).toEqual({ text, got: expected });
    if ("refused" in got) {
      refused++;
      continue;
    }
    const relayRefusal = unrelayable(parseResponseText(text, method));
    const expectedRefusal = referenceRelayable(text, method);
    if (relayRefusal !== expectedRefusal) expect({ text, relayRefusal }).toEqual({ text, relayRefusal: expectedRefusal });
    if (relayRefusal !== null) unrelayed++;
  }
  // The generator reaches both sides of every decision.
  expect(refused).toBeGreaterThan(10_000);
  expect(refused).toBeLessThan(90_000);
  expect(unrelayed).toBeGreaterThan(1_000);
});
