import { expect, test } from "bun:test";
import { latin1Text } from "./latin1.ts";

test("one character per byte, as Buffer's latin1 decoding, for ASCII and non-ASCII bytes, short and long", () => {
  const long = "x-long: " + "a".repeat(100);
  for (const text of ["GET / HTTP/1.1", long, `${long}\xe9\x80\xff`, "\xe9t\xe9", `\x00\x7f${long}\x80`]) {
    const bytes = Buffer.from(`>>${text}<<`, "latin1");
    expect(latin1Text(bytes, 2, bytes.length - 2)).toBe(text);
  }
});
