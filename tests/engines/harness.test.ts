// The parity test's comparison must catch what it is there to catch: these check that the
// normalising touches only the volatile fields and chunk boundaries, and that a one-byte
// difference anywhere else is reported with the line it is on.
import { describe, expect, test } from "bun:test";
import { VOLATILE_FIELDS, canonicalHead, canonicalStream, diffStreams, normalise } from "../support/engine-diff.ts";

const head = (extra: string) => `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n${extra}Content-Length: 2\r\n\r\nok`;

describe("normalise", () => {
  test("replaces the value of each volatile field and nothing else", () => {
    const first = head("Date: Wed, 02 Dec 2026 07:08:35 GMT\r\nX-Request-Id: 1f0c\r\nx-gateway-upstream-latency: 3\r\nx-gateway-proxy-latency: 0\r\n");
    const second = head("Date: Thu, 03 Dec 2026 01:00:00 GMT\r\nX-Request-Id: 9a9a9a\r\nx-gateway-upstream-latency: 120\r\nx-gateway-proxy-latency: 14\r\n");
    expect(normalise(first)).toBe(normalise(second));
    expect(normalise(first)).toBe(head("Date: <date>\r\nX-Request-Id: <x-request-id>\r\nx-gateway-upstream-latency: <x-gateway-upstream-latency>\r\nx-gateway-proxy-latency: <x-gateway-proxy-latency>\r\n"));
    expect(VOLATILE_FIELDS).toEqual(["date", "x-request-id", "x-gateway-upstream-latency", "x-gateway-proxy-latency"]);
  });

  test("leaves a field whose name only starts like a volatile one", () => {
    expect(normalise(head("X-Request-Ids: a\r\nDated: b\r\n"))).toBe(head("X-Request-Ids: a\r\nDated: b\r\n"));
  });
});

describe("canonicalHead", () => {
  test("names lower-cased, fields ordered by name, one name's values combined in the order sent", () => {
    const a = "HTTP/1.1 200 OK\r\nX-B: 1\r\nContent-Type: text/plain\r\nx-b: 2\r\nVary: Origin";
    const b = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nvary: Origin\r\nx-b: 1, 2";
    expect(canonicalHead(a)).toBe(`${b}\r\n\r\n`);
    expect(canonicalHead(b)).toBe(canonicalHead(a));
    // The order within one name is meaning: it stays a difference.
    expect(canonicalHead("HTTP/1.1 200 OK\r\nX-B: 2\r\nX-B: 1")).not.toBe(canonicalHead(a));
  });

  test("Cookie joined with '; ', Set-Cookie never joined, the start line and values as sent", () => {
    expect(canonicalHead("GET /A HTTP/1.1\r\nCookie: a=1\r\nSet-Cookie: x=1\r\ncookie: b=2\r\nset-cookie: y=2")).toBe("GET /A HTTP/1.1\r\ncookie: a=1; b=2\r\nset-cookie: x=1\r\nset-cookie: y=2\r\n\r\n");
    expect(canonicalHead("HTTP/1.1 200 OK\r\nX-A: Mixed Case")).not.toBe(canonicalHead("HTTP/1.1 200 OK\r\nX-A: mixed case"));
  });

  test("unframed: Content-Length and Transfer-Encoding left out", () => {
    expect(canonicalHead("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1", true)).toBe(canonicalHead("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1", true));
  });
});

describe("canonicalStream", () => {
  const chunkedHead = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  const canonicalChunkedHead = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";

  test("the same body in other chunks compares equal, trailers kept", () => {
    const a = `${chunkedHead}5\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 1\r\n\r\n`;
    const b = `${chunkedHead}b\r\nhello world\r\n0\r\nX-Sum: 1\r\n\r\n`;
    expect(canonicalStream(a, ["GET"])).toBe(canonicalStream(b, ["GET"]));
    expect(canonicalStream(a, ["GET"])).toBe(b.replace(chunkedHead, canonicalChunkedHead));
  });

  test("different bodies, trailers or framing stay different", () => {
    const base = `${chunkedHead}5\r\nhello\r\n0\r\n\r\n`;
    expect(canonicalStream(base, ["GET"])).not.toBe(canonicalStream(`${chunkedHead}5\r\nhellO\r\n0\r\n\r\n`, ["GET"]));
    expect(canonicalStream(base, ["GET"])).not.toBe(canonicalStream(`${chunkedHead}5\r\nhello\r\n0\r\nX: 1\r\n\r\n`, ["GET"]));
    // A chunk extension is left as sent.
    expect(canonicalStream(`${chunkedHead}5;x=1\r\nhello\r\n0\r\n\r\n`, ["GET"])).toBe(`${canonicalChunkedHead}5;x=1\r\nhello\r\n0\r\n\r\n`);
    // A message whose framing cannot be read is left as sent, head included.
    expect(canonicalStream(`${chunkedHead}zz\r\nhello\r\n0\r\n\r\n`, ["GET"])).toBe(`${chunkedHead}zz\r\nhello\r\n0\r\n\r\n`);
  });

  test("normalises heads only: a body line that looks like a volatile field is compared as sent", () => {
    const body = "x\r\ndate: 1";
    const stream = `HTTP/1.1 200 OK\r\nDate: Wed, 02 Dec 2026 07:08:35 GMT\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    expect(canonicalStream(stream, ["GET"])).toBe(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\ndate: <date>\r\n\r\n${body}`);
  });

  test("bytes past the last complete message keep their volatile fields normalised", () => {
    expect(canonicalStream("HTTP/1.1 200 OK\r\nDate: x\r\nContent-Length: 10\r\n\r\ncut", ["GET"])).toBe("HTTP/1.1 200 OK\r\nDate: <date>\r\nContent-Length: 10\r\n\r\ncut");
  });

  test("walks a stream of several messages: interim answers, HEAD, then a chunked body", () => {
    const stream = `HTTP/1.1 100 Continue\r\n\r\n${head("")}HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n${chunkedHead}1\r\na\r\n1\r\nb\r\n0\r\n\r\n`;
    const canonicalOk = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok";
    expect(canonicalStream(stream, ["POST", "HEAD", "GET"])).toBe(`HTTP/1.1 100 Continue\r\n\r\n${canonicalOk}HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n${canonicalChunkedHead}2\r\nab\r\n0\r\n\r\n`);
    const requests = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n";
    expect(canonicalStream(requests, "requests")).toBe("POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n");
    // Unframed: the body decoded, the framing fields gone.
    expect(canonicalStream(`${chunkedHead}1\r\na\r\n1\r\nb\r\n0\r\n\r\n`, ["GET"], true)).toBe("HTTP/1.1 200 OK\r\n\r\nab");
  });
});

describe("diffStreams", () => {
  test("equal streams: no diff", () => {
    expect(diffStreams(head(""), head(""), ["a", "b"])).toBe("");
  });

  test("one byte changed: the line on each side, escaped, with context", () => {
    expect(diffStreams(head("X-A: 1\r\n"), head("X-A: 2\r\n"), ["serve", "raw"])).toBe(
      ["--- serve", "+++ raw", "  HTTP/1.1 200 OK\\r", "  Content-Type: text/plain\\r", "- X-A: 1\\r", "+ X-A: 2\\r", "  Content-Length: 2\\r", "  \\r"].join("\n"),
    );
  });

  test("a missing CR, a control byte and a missing final newline are differences", () => {
    expect(diffStreams("a\r\nb", "a\nb", ["l", "r"])).toContain("- a\\r\n+ a");
    expect(diffStreams("a\x00\n", "a\n", ["l", "r"])).toContain("- a\\x00");
    expect(diffStreams("a\n", "a", ["l", "r"])).toContain("+ a (no newline)");
  });

  test("a long line is cut and its length given", () => {
    expect(diffStreams("x".repeat(1000), "y".repeat(1000), ["l", "r"])).toContain("… (1000 bytes)");
  });
});
