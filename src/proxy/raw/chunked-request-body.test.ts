import { describe, expect, test } from "bun:test";
import { ChunkedRequestBody } from "./chunked-request-body.ts";

const bytesOf = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, "latin1"));

interface Decoded {
  body: string;
  consumed: number;
  done: boolean;
  error: string | null;
}

/** Feeds `text` in pieces of `step` bytes (Infinity: at once), as the engine would. */
function decode(text: string, step = Infinity, maxChunkLineBytes?: number): Decoded {
  const bytes = bytesOf(text);
  const decoder = new ChunkedRequestBody(maxChunkLineBytes);
  let body = "";
  let consumed = 0;
  for (let p = 0; p < bytes.length && !decoder.done && decoder.error === null; p += step) {
    const end = Math.min(bytes.length, p + step);
    consumed += decoder.push(bytes, p, end, (slice) => {
      body += Buffer.from(slice).toString("latin1");
    });
  }
  return { body, consumed, done: decoder.done, error: decoder.error };
}

describe("valid chunked bodies", () => {
  test.each([
    ["one chunk", "5\r\nhello\r\n0\r\n\r\n", "hello"],
    ["several chunks, hex sizes in any case", "3\r\nabc\r\nA\r\n0123456789\r\nb\r\nabcdefghijk\r\n0\r\n\r\n", "abc0123456789abcdefghijk"],
    ["leading zeros", "0005\r\nhello\r\n000\r\n\r\n", "hello"],
    ["extensions: token, quoted with quoted-pair, empty name and value", '5;a=b;c="x\\"y";d\r\nhello\r\n0;=\r\n\r\n', "hello"],
    ["trailer fields", "5\r\nhello\r\n0\r\nX-Checksum: abc\r\nX-Empty:\r\n\r\n", "hello"],
    ["empty body", "0\r\n\r\n", ""],
    ["data holding CRLFs", "4\r\n\r\n\r\n\r\n0\r\n\r\n", "\r\n\r\n"],
  ])("%s", (_name, text, body) => {
    for (const step of [Infinity, 1, 2, 7]) {
      expect(decode(text, step)).toEqual({ body, consumed: text.length, done: true, error: null });
    }
  });

  test("stops at the end of the body: the rest belongs to the next request", () => {
    const text = "5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n";
    expect(decode(text)).toEqual({ body: "hello", consumed: 15, done: true, error: null });
  });

  test("slices are subarrays of the pushed bytes (no copy)", () => {
    const bytes = bytesOf("5\r\nhello\r\n0\r\n\r\n");
    const slices: Uint8Array[] = [];
    new ChunkedRequestBody().push(bytes, 0, bytes.length, (slice) => slices.push(slice));
    expect(slices.length).toBe(1);
    expect(slices[0].buffer).toBe(bytes.buffer);
    expect(slices[0].byteOffset).toBe(3);
  });

  test("incomplete input is neither done nor an error", () => {
    expect(decode("5\r\nhel")).toEqual({ body: "hel", consumed: 6, done: false, error: null });
    expect(decode("1fffffffffffff\r\n")).toEqual({ body: "", consumed: 16, done: false, error: null });
  });
});

describe("malformed chunked bodies → error", () => {
  test.each([
    ["missing CRLF after data", "5\r\nhellox\r\n0\r\n\r\n", "missing CRLF after chunk data"],
    ["LF only after data", "5\r\nhello\n0\r\n\r\n", "missing CRLF after chunk data"],
    ["bare LF after the size", "5\nhello\r\n0\r\n\r\n", "bare LF after a chunk size"],
    ["bare CR after the size", "5\rhello\r\n0\r\n\r\n", "bare CR after a chunk size"],
    ["space after the size", "5 \r\nhello\r\n0\r\n\r\n", "invalid chunk size"],
    ["0x prefix", "0x5\r\nhello\r\n0\r\n\r\n", "invalid chunk size"],
    ["sign", "+5\r\nhello\r\n0\r\n\r\n", "invalid chunk size"],
    ["empty size line", "\r\n", "invalid chunk size"],
    ["size above 2^53 - 1", "20000000000000\r\n", "chunk size above 2^53 - 1"],
    ["size above 2^64 - 1", "10000000000000000\r\n", "chunk size above 2^53 - 1"],
    ["space after ;", "5; a=b\r\nhello\r\n0\r\n\r\n", "invalid chunk extension"],
    ["; then CR", "5;\r\nhello\r\n0\r\n\r\n", "invalid chunk extension"],
    ["unterminated quoted extension", '5;a="b\r\nhello\r\n0\r\n\r\n', "invalid chunk extension"],
    ["control in an extension", "5;a\x01\r\nhello\r\n0\r\n\r\n", "invalid chunk extension"],
    ["Content-Length trailer", "0\r\nContent-Length: 5\r\n\r\n", "Content-Length in the trailer section"],
    ["Transfer-Encoding trailer", "0\r\nTransfer-Encoding: chunked\r\n\r\n", "Transfer-Encoding in the trailer section"],
    ["Connection trailer (llhttp would act on it)", "0\r\nConnection: close\r\n\r\n", "Connection in the trailer section"],
    ["Proxy-Connection trailer", "0\r\nproxy-connection: keep-alive\r\n\r\n", "Connection in the trailer section"],
    ["obs-fold in a trailer", "0\r\nA: b\r\n c\r\n\r\n", "obsolete line folding in the trailer section"],
    ["space before a trailer colon", "0\r\nA : b\r\n\r\n", "invalid trailer field name"],
    ["bare LF ending the trailers", "0\r\n\n", "bare LF in the trailer section"],
    ["NUL in a trailer value", "0\r\nA: \x00\r\n\r\n", "invalid character in a trailer value"],
  ])("%s", (_name, text, error) => {
    const result = decode(text);
    expect(result.error).toBe(error);
    expect(result.done).toBe(false);
    expect(decode(text, 1).error).toBe(error);
  });

  test("a size line longer than maxChunkLineBytes", () => {
    expect(decode(`5;a=${"b".repeat(100)}\r\nhello\r\n0\r\n\r\n`, Infinity, 64).error).toBe("chunk size line too long");
    expect(decode(`5;a=${"b".repeat(50)}\r\nhello\r\n0\r\n\r\n`, Infinity, 64).done).toBe(true);
  });

  test("a trailer section above 32 KiB", () => {
    const trailers = Array.from({ length: 400 }, (_, i) => `X-${i}: ${"v".repeat(80)}\r\n`).join("");
    expect(decode(`0\r\n${trailers}\r\n`).error).toBe("trailer section too large");
  });
});
