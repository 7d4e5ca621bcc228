// Bytes of an HTTP head as the latin1 string the parsers read (one character per byte), and
// back. Bun's latin1 decoder copies byte by byte (about 2.4 ns a byte here), its UTF-8 decoder
// is vectorised and gives the same string for ASCII, which nearly every head is.
import { isAscii } from "node:buffer";

const utf8Slice = Buffer.prototype.utf8Slice as (this: Uint8Array, start: number, end: number) => string;
const latin1Slice = Buffer.prototype.latin1Slice as (this: Uint8Array, start: number, end: number) => string;
const latin1Write = Buffer.prototype.latin1Write as (this: Uint8Array, text: string, offset: number) => number;

/** Writes `text` (a head: characters up to U+00FF) into `bytes` at `offset`, a byte each; returns the bytes written. */
export function writeLatin1(bytes: Uint8Array, text: string, offset: number): number {
  return latin1Write.call(bytes, text, offset);
}

/** ": " and CRLF as two latin1 bytes each, little end first (Buffer.writeUInt16LE). */
export const COLON_SPACE = 0x203a;
export const CRLF = 0x0a0d;

/** `name: value\r\n` into `bytes` at `at` (room for both lengths and 4 more is the caller's); returns where it ends. */
export function writeFieldLine(bytes: Buffer, at: number, name: string, value: string): number {
  at += latin1Write.call(bytes, name, at);
  at = bytes.writeUInt16LE(COLON_SPACE, at);
  at += latin1Write.call(bytes, value, at);
  return bytes.writeUInt16LE(CRLF, at);
}

/** Below this many bytes the ASCII check costs more than it saves. */
const CHECKED_FROM = 64;

/** bytes[start, end) as latin1. */
export function latin1Text(bytes: Uint8Array, start: number, end: number): string {
  if (end - start < CHECKED_FROM) return latin1Slice.call(bytes, start, end);
  // All of `bytes` ASCII (a head with its small body, say) spares the view a range check needs.
  const ascii = isAscii(bytes) || isAscii(bytes.subarray(start, end));
  return ascii ? utf8Slice.call(bytes, start, end) : latin1Slice.call(bytes, start, end);
}
