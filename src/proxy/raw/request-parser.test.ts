import { describe, expect, test } from "bun:test";
import { DEFAULT_PARSE_LIMITS, parseRequestHead, type ParseResult, type RequestHead } from "./request-parser.ts";

const bytesOf = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, "latin1"));

function parse(text: string, limits = DEFAULT_PARSE_LIMITS): ParseResult {
  const bytes = bytesOf(text);
  return parseRequestHead(bytes, 0, bytes.length, limits);
}

function head(text: string): RequestHead {
  const result = parse(text);
  if (result.kind !== "head") throw new Error(`expected a head, got ${JSON.stringify(result)}`);
  return result.head;
}

function refusal(text: string): { status: number; reason: string } {
  const result = parse(text);
  if (result.kind !== "error") throw new Error(`expected an error, got ${JSON.stringify(result)}`);
  return { status: result.status, reason: result.reason };
}

const GET = "GET /search?q=1 HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n";

describe("a typical request head", () => {
  test("method, target, version, headers (names lower-cased, in order), consumed", () => {
    const result = parse(GET);
    expect(result).toEqual({
      kind: "head",
      consumed: GET.length,
      head: {
        method: "GET",
        target: "/search?q=1",
        minorVersion: 1,
        headers: ["host", "api.example.com", "user-agent", "curl/8.5.0", "accept", "*/*"],
        body: { kind: "none" },
        keepAlive: true,
        expectContinue: false,
        upgrade: null,
        host: "api.example.com",
      },
    });
  });

  test("values lose leading and trailing spaces and tabs, keep inner ones; obs-text is latin1", () => {
    const h = head("GET / HTTP/1.1\r\nX-A: \t a  b \t\r\nX-B:\r\nX-C: caf\xe9\r\nX-Mixed-CASE: v\r\n\r\n");
    expect(h.headers).toEqual(["x-a", "a  b", "x-b", "", "x-c", "café", "x-mixed-case", "v"]);
  });

  test("parses from an offset and reports bytes of this head only; the next pipelined head follows", () => {
    const two = `xx${GET}POST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi`;
    const bytes = bytesOf(two);
    const first = parseRequestHead(bytes, 2, bytes.length);
    expect(first.kind === "head" && first.consumed).toBe(GET.length);
    const second = parseRequestHead(bytes, 2 + GET.length, bytes.length);
    expect(second.kind === "head" && second.head.method).toBe("POST");
    expect(second.kind === "head" && second.head.body).toEqual({ kind: "length", length: 2 });
  });

  test("empty lines (CRLF) before the request line are skipped and counted; a lone CR or LF is refused, as Bun.serve does", () => {
    const result = parse(`\r\n\r\n${GET}`);
    expect(result.kind === "head" && result.consumed).toBe(GET.length + 4);
    expect(refusal(`\r\n\n${GET}`).reason).toBe("a lone CR or LF before the request line");
    expect(refusal(`\r${GET}`).reason).toBe("a lone CR or LF before the request line");
    expect(parse("\r\n\r").kind).toBe("incomplete");
  });

  test("absolute-form, asterisk-form and CONNECT's authority-form targets", () => {
    expect(head("GET http://user@a.example:8080/p?q HTTP/1.1\r\n\r\n").target).toBe("http://user@a.example:8080/p?q");
    expect(head("OPTIONS * HTTP/1.1\r\n\r\n").target).toBe("*");
    expect(head("CONNECT a.example:443 HTTP/1.1\r\n\r\n").target).toBe("a.example:443");
    expect(head("GET http://[::1]:80/ HTTP/1.1\r\n\r\n").target).toBe("http://[::1]:80/");
  });
});

describe("body framing (RFC 9112 §6.3, as llhttp decides it)", () => {
  const framing = (headers: string, requestLine = "POST / HTTP/1.1") => head(`${requestLine}\r\n${headers}\r\n`).body;
  test.each([
    ["no framing header", "", { kind: "none" }],
    ["Content-Length: 0", "Content-Length: 0\r\n", { kind: "length", length: 0 }],
    ["Content-Length: 42", "Content-Length: 42\r\n", { kind: "length", length: 42 }],
    ["leading zeros", "Content-Length: 0007\r\n", { kind: "length", length: 7 }],
    ["trailing spaces", "Content-Length: 7  \r\n", { kind: "length", length: 7 }],
    ["chunked", "Transfer-Encoding: chunked\r\n", { kind: "chunked" }],
    ["chunked last of a list", "Transfer-Encoding: gzip, chunked\r\n", { kind: "chunked" }],
    ["chunked in any case", "Transfer-Encoding: ChUnKeD\r\n", { kind: "chunked" }],
    ["chunked after an earlier TE field", "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", { kind: "chunked" }],
    ["largest Content-Length llhttp takes (2^64 - 1)", "Content-Length: 18446744073709551615\r\n", { kind: "length", length: 18446744073709551615 }],
  ])("%s", (_name, headers, expected) => {
    expect(framing(headers)).toEqual(expected as never);
  });

  test.each([
    ["Content-Length then Transfer-Encoding", "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n", 400],
    ["Transfer-Encoding then Content-Length", "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n", 400],
    ["duplicate equal Content-Length", "Content-Length: 3\r\nContent-Length: 3\r\n", 400],
    ["Content-Length list", "Content-Length: 3, 3\r\n", 400],
    ["signed Content-Length", "Content-Length: +3\r\n", 400],
    ["negative Content-Length", "Content-Length: -1\r\n", 400],
    ["hex Content-Length", "Content-Length: 0x10\r\n", 400],
    ["empty Content-Length", "Content-Length: \r\n", 400],
    ["Content-Length above 2^64 - 1", "Content-Length: 18446744073709551616\r\n", 400],
    ["tab after Content-Length", "Content-Length: 3\t\r\n", 400],
    ["chunked, chunked", "Transfer-Encoding: chunked, chunked\r\n", 400],
    ["chunked then another coding", "Transfer-Encoding: chunked, gzip\r\n", 400],
    ["TE field after a chunked one", "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n", 400],
    ["only gzip", "Transfer-Encoding: gzip\r\n", 501],
    ["xchunked", "Transfer-Encoding: xchunked\r\n", 501],
    ["chunked followed by a tab", "Transfer-Encoding: chunked\t\r\n", 501],
    ["identity", "Transfer-Encoding: identity\r\n", 501],
  ])("%s", (_name, headers, status) => {
    expect(refusal(`POST / HTTP/1.1\r\n${headers}\r\n`).status).toBe(status);
  });

  test("CONNECT has no body whatever it announces, and an upgrade without a body ignores TE", () => {
    expect(framing("Content-Length: 5\r\n", "CONNECT a:1 HTTP/1.1")).toEqual({ kind: "none" });
    expect(framing("Upgrade: ws\r\nConnection: upgrade\r\nTransfer-Encoding: gzip\r\n", "GET / HTTP/1.1")).toEqual({ kind: "none" });
    expect(framing("Upgrade: ws\r\nConnection: upgrade\r\nContent-Length: 2\r\n", "GET / HTTP/1.1")).toEqual({ kind: "length", length: 2 });
  });
});

describe("connection handling", () => {
  test.each([
    ["1.1 default", "HTTP/1.1", "", true],
    ["1.1 close", "HTTP/1.1", "Connection: close\r\n", false],
    ["1.1 close in a list, any case", "HTTP/1.1", "Connection: keep-alive, CLOSE\r\n", false],
    ["1.1 close through Proxy-Connection", "HTTP/1.1", "Proxy-Connection: close\r\n", false],
    ["1.1 'close foo' is not close", "HTTP/1.1", "Connection: close foo\r\n", true],
    ["1.0 default", "HTTP/1.0", "", false],
    ["1.0 keep-alive", "HTTP/1.0", "Connection: keep-alive\r\n", true],
    ["1.0 keep-alive wins over close (as llhttp)", "HTTP/1.0", "Connection: close, keep-alive\r\n", true],
    ["1.0 keep-alive then tab is not keep-alive", "HTTP/1.0", "Connection: keep-alive\t\r\n", false],
  ])("%s", (_name, version, headers, keepAlive) => {
    expect(head(`GET / ${version}\r\n${headers}\r\n`).keepAlive).toBe(keepAlive);
  });

  test("upgrade: the Upgrade value only when Connection lists upgrade and the value is not empty", () => {
    expect(head("GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n\r\n").upgrade).toBe("websocket");
    expect(head("GET / HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\n").upgrade).toBe("h2c");
    expect(head("GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n").upgrade).toBeNull();
    expect(head("GET / HTTP/1.1\r\nUpgrade:\r\nConnection: upgrade\r\n\r\n").upgrade).toBeNull();
  });

  test("Expect: 100-continue in any case; other expectations are not", () => {
    expect(head("PUT / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n").expectContinue).toBe(true);
    expect(head("PUT / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n").expectContinue).toBe(false);
    // RFC 9110 §10.1.1: ignored in an HTTP/1.0 request.
    expect(head("PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n").expectContinue).toBe(false);
  });

  test("host: null when absent, the first value otherwise (duplicates are the engine's to refuse)", () => {
    expect(head("GET / HTTP/1.1\r\n\r\n").host).toBeNull();
    expect(head("GET / HTTP/1.1\r\nHOST: a\r\nHost: b\r\n\r\n").host).toBe("a");
  });
});

describe("malformed heads → 400", () => {
  test.each([
    ["bare LF after the request line", "GET / HTTP/1.1\n\r\n"],
    ["bare LF after a header", "GET / HTTP/1.1\r\nA: b\n\r\n"],
    ["bare CR in a header", "GET / HTTP/1.1\r\nA: b\rc\r\n\r\n"],
    ["bare CR ending the block", "GET / HTTP/1.1\r\n\rX"],
    ["NUL in a value", "GET / HTTP/1.1\r\nA: b\x00c\r\n\r\n"],
    ["DEL in a value", "GET / HTTP/1.1\r\nA: b\x7fc\r\n\r\n"],
    ["vertical tab in a value", "GET / HTTP/1.1\r\nA: b\x0bc\r\n\r\n"],
    ["obs-fold", "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n"],
    ["obs-fold after an empty value", "GET / HTTP/1.1\r\nA:\r\n\tc\r\n\r\n"],
    ["space before the colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n"],
    ["space before the first header", "GET / HTTP/1.1\r\n Host: a\r\n\r\n"],
    ["invalid name byte", "GET / HTTP/1.1\r\nA(b: c\r\n\r\n"],
    ["empty name", "GET / HTTP/1.1\r\n: c\r\n\r\n"],
    ["no colon", "GET / HTTP/1.1\r\nHost\r\n\r\n"],
    ["unknown method", "FOO / HTTP/1.1\r\n\r\n"],
    ["lower-case method", "get / HTTP/1.1\r\n\r\n"],
    ["RTSP method with HTTP", "DESCRIBE / HTTP/1.1\r\n\r\n"],
    ["tab after the method", "GET\t/ HTTP/1.1\r\n\r\n"],
    ["control in the target", "GET /a\x01 HTTP/1.1\r\n\r\n"],
    ["tab in the target", "GET /a\tb HTTP/1.1\r\n\r\n"],
    ["non-ASCII in the target", "GET /caf\xe9 HTTP/1.1\r\n\r\n"],
    ["relative target", "GET a/b HTTP/1.1\r\n\r\n"],
    ["two @ in a row in an authority", "GET http://a@@b/ HTTP/1.1\r\n\r\n"],
    ["HTTP/1.2", "GET / HTTP/1.2\r\n\r\n"],
    ["HTTP/2.0 (llhttp accepts it)", "GET / HTTP/2.0\r\n\r\n"],
    ["HTTP/0.9 (llhttp accepts it)", "GET / HTTP/0.9\r\n\r\n"],
    ["no version (HTTP/0.9 to llhttp)", "GET /\r\n\r\n"],
    ["lower-case http", "GET / http/1.1\r\n\r\n"],
    ["RTSP (llhttp accepts it)", "OPTIONS * RTSP/1.0\r\n\r\n"],
    ["space after the version", "GET / HTTP/1.1 \r\n\r\n"],
    ["two-digit minor", "GET / HTTP/1.10\r\n\r\n"],
    ["HTTP/2 preface", "PRI * HTTP/1.1\r\n\r\nSM\r\n\r\n"],
  ])("%s", (_name, text) => {
    expect(refusal(text).status).toBe(400);
  });

  test("every refusal carries a short reason", () => {
    expect(refusal("GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n").reason).toBe("obsolete line folding");
    expect(refusal("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n").reason).toBe("duplicate Content-Length");
    expect(refusal("GET / HTTP/2.0\r\n\r\n").reason).toBe("unsupported HTTP version");
  });

  test("more than one space between the parts of the request line is refused (llhttp accepts it, Bun.serve does not)", () => {
    expect(refusal("GET  /x HTTP/1.1\r\n\r\n").reason).toBe("more than one space between the parts of the request line");
    expect(refusal("GET /x  HTTP/1.1\r\n\r\n").reason).toBe("more than one space between the parts of the request line");
    expect(parse("GET ").kind).toBe("incomplete");
    expect(parse("GET /x ").kind).toBe("incomplete");
  });
});

describe("incremental input", () => {
  test("every proper prefix of a valid head is incomplete, the whole is the head", () => {
    const text = "POST http://a.example/x?y HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nTransfer-Encoding: gzip, chunked\r\nX: y\r\n\r\n";
    const bytes = bytesOf(text);
    for (let end = 0; end < bytes.length; end++) expect(parseRequestHead(bytes, 0, end).kind).toBe("incomplete");
    expect(parseRequestHead(bytes, 0, bytes.length).kind).toBe("head");
  });

  test("a prefix no continuation can make valid is refused at once", () => {
    expect(parse("GXT").kind).toBe("error");
    expect(parse("GET /\x00").kind).toBe("error");
    expect(parse("GET / HTTP/1.1\r\nA: b\x01").kind).toBe("error");
    expect(parse("GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding:").kind).toBe("error");
  });
});

describe("limits", () => {
  const small = { maxHeadBytes: 64, maxHeaders: 2 };
  test("a head longer than maxHeadBytes → 431, even while incomplete", () => {
    expect(parse(`GET / HTTP/1.1\r\nA: ${"x".repeat(80)}\r\n\r\n`, small)).toEqual({ kind: "error", status: 431, reason: "request head too large" });
    expect(parse(`GET / HTTP/1.1\r\nA: ${"x".repeat(80)}`, small).kind).toBe("error");
  });
  test("a request line longer than maxHeadBytes → 414", () => {
    expect(parse(`GET /${"a".repeat(100)} HTTP/1.1\r\n\r\n`, small)).toEqual({ kind: "error", status: 414, reason: "request line too long" });
  });
  test("exactly maxHeadBytes is accepted", () => {
    const text = `GET / HTTP/1.1\r\nA: ${"x".repeat(64 - 16 - 7)}\r\n\r\n`;
    expect(text.length).toBe(64);
    expect(parse(text, small).kind).toBe("head");
  });
  test("more than maxHeaders fields → 431", () => {
    expect(parse("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n", small).kind).toBe("head");
    expect(parse("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", small)).toEqual({ kind: "error", status: 431, reason: "too many header fields" });
  });
  test("defaults: 32 KiB and 100 fields", () => {
    expect(DEFAULT_PARSE_LIMITS).toEqual({ maxHeadBytes: 32768, maxHeaders: 100 });
    const many = Array.from({ length: 101 }, (_, i) => `X-${i}: v\r\n`).join("");
    expect(parse(`GET / HTTP/1.1\r\n${many}\r\n`).kind).toBe("error");
  });
});
