// Incremental decoder of a chunked request body (RFC 9112 §7.1), byte for byte as strict
// llhttp reads it: hex size without sign or spaces, extensions `;name[=token|quoted]`, CRLF
// after the size and after the data, a trailer section with llhttp's header rules. It never
// buffers: data goes out as subarrays of the bytes pushed, lines are checked as they stream.

import { DEFAULT_PARSE_LIMITS, HEADER_VALUE, TOKEN } from "./request-parser.ts";

const CHUNK_SIZE_UNSAFE = "chunk size above 2^53 - 1";
const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;

const enum State {
  SizeStart,
  Size,
  Extensions,
  ExtensionName,
  ExtensionValue,
  Quoted,
  QuotedPair,
  QuotedDone,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerLineStart,
  TrailerEndLf,
  TrailerName,
  TrailerValueWs,
  TrailerEmptyLf,
  TrailerEmptyLws,
  TrailerValue,
  TrailerValueLf,
  TrailerValueLws,
  Done,
  Failed,
}

/** Hex digit values, -1 for other bytes. */
const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[65 + i] = 10 + i;
  HEX[97 + i] = 10 + i;
}

/** RFC 9110 qdtext, and the second byte of a quoted-pair. */
const QDTEXT = new Uint8Array(256);
const QUOTED_PAIR = new Uint8Array(256);
for (let b = 0; b < 256; b++) {
  QDTEXT[b] = b === HTAB || b === 32 || b === 33 || (b >= 35 && b <= 91) || (b >= 93 && b <= 126) || b >= 128 ? 1 : 0;
  QUOTED_PAIR[b] = b === HTAB || (b >= 32 && b !== 127) ? 1 : 0;
}

// Trailer fields llhttp gives a meaning to (the rest are only checked for syntax).
const TRAILER_CONTENT_LENGTH = 1;
const TRAILER_TRANSFER_ENCODING = 2;
const TRAILER_CONNECTION = 4;
const TRAILER_PROXY_CONNECTION = 8;
const specialTrailer = (bit: number, name: string): [number, Uint8Array] => [bit, new Uint8Array(Buffer.from(name, "latin1"))];
const SPECIAL_TRAILERS = [
  specialTrailer(TRAILER_CONTENT_LENGTH, "content-length"),
  specialTrailer(TRAILER_TRANSFER_ENCODING, "transfer-encoding"),
  specialTrailer(TRAILER_CONNECTION, "connection"),
  specialTrailer(TRAILER_PROXY_CONNECTION, "proxy-connection"),
];
const ALL_SPECIAL = TRAILER_CONTENT_LENGTH | TRAILER_TRANSFER_ENCODING | TRAILER_CONNECTION | TRAILER_PROXY_CONNECTION;

const DEFAULT_MAX_CHUNK_LINE_BYTES = 4096;

export class ChunkedRequestBody {
  private state = State.SizeStart;
  private failure: string | null = null;
  private readonly maxChunkLineBytes: number;
  private lineBytes = 0;
  /** Chunk size being read, then the data bytes still due (never above 2^53 - 1). */
  private remaining = 0;
  private trailerBytes = 0;
  private nameLength = 0;
  private nameCandidates = 0;
  private trailerKind = 0;
  private connectionTrailer = false;

  constructor(maxChunkLineBytes: number = DEFAULT_MAX_CHUNK_LINE_BYTES) {
    this.maxChunkLineBytes = maxChunkLineBytes;
  }

  get done(): boolean {
    return this.state === State.Done;
  }

  get error(): string | null {
    return this.failure;
  }

  /** Feeds bytes[start,end); calls onData for each body slice (subarrays, no copy); returns bytes consumed
   *  (less than given only when the body ended: the rest belongs to the next pipelined request). */
  push(bytes: Uint8Array, start: number, end: number, onData: (slice: Uint8Array) => void): number {
    let p = start;
    while (p < end) {
      const state = this.state;
      if (state === State.Data) {
        const take = Math.min(this.remaining, end - p);
        onData(bytes.subarray(p, p + take));
        p += take;
        this.remaining -= take;
        if (this.remaining === 0) this.state = State.DataCr;
        continue;
      }
      if (state === State.Done || state === State.Failed) break;
      if (state >= State.TrailerLineStart) {
        if (++this.trailerBytes > DEFAULT_PARSE_LIMITS.maxHeadBytes) {
          this.refuse("trailer section too large");
          return p - start;
        }
        if (!this.trailerByte(bytes[p])) return p - start;
      } else {
        if (state !== State.DataCr && state !== State.DataLf && ++this.lineBytes > this.maxChunkLineBytes) {
          this.refuse("chunk size line too long");
          return p - start;
        }
        if (!this.chunkLineByte(bytes[p])) return p - start;
      }
      p++;
      if (this.state === State.Done) break;
    }
    return p - start;
  }

  /** One byte of a size line or of the CRLF after data; false when it is refused. */
  private chunkLineByte(b: number): boolean {
    switch (this.state) {
      case State.SizeStart:
        if (HEX[b] < 0) return this.refuse("invalid chunk size");
        this.remaining = HEX[b];
        this.state = State.Size;
        return true;
      case State.Size:
        if (HEX[b] >= 0) {
          this.remaining = this.remaining * 16 + HEX[b];
          // llhttp takes sizes up to 2^64 - 1; past 2^53 - 1 a count of bytes would be rounded (leading zeros add nothing).
          if (this.remaining > Number.MAX_SAFE_INTEGER) return this.refuse(CHUNK_SIZE_UNSAFE);
          return true;
        }
        if (b === CR) this.state = State.SizeLf;
        else if (b === 59) this.state = State.Extensions; // ";"
        else return this.refuse(b === LF ? "bare LF after a chunk size" : "invalid chunk size");
        return true;
      case State.Extensions:
        if (b === SP || b === CR) return this.refuse("invalid chunk extension");
        this.state = State.ExtensionName;
        return this.chunkLineByte(b);
      case State.ExtensionName:
        if (TOKEN[b] === 1) return true;
        if (b === 61) this.state = State.ExtensionValue; // "="
        else if (b === 59) this.state = State.Extensions;
        else if (b === CR) this.state = State.SizeLf;
        else return this.refuse("invalid chunk extension");
        return true;
      case State.ExtensionValue:
        if (TOKEN[b] === 1) return true;
        if (b === 34) this.state = State.Quoted; // '"'
        else if (b === 59) this.state = State.Extensions;
        else if (b === CR) this.state = State.SizeLf;
        else return this.refuse("invalid chunk extension");
        return true;
      case State.Quoted:
        if (b === 34) this.state = State.QuotedDone;
        else if (b === 92) this.state = State.QuotedPair; // "\"
        else if (QDTEXT[b] === 0) return this.refuse("invalid chunk extension");
        return true;
      case State.QuotedPair:
        if (QUOTED_PAIR[b] === 0) return this.refuse("invalid chunk extension");
        this.state = State.Quoted;
        return true;
      case State.QuotedDone:
        if (b === 59) this.state = State.Extensions;
        else if (b === CR) this.state = State.SizeLf;
        else return this.refuse("invalid chunk extension");
        return true;
      case State.SizeLf:
        if (b !== LF) return this.refuse("bare CR after a chunk size");
        this.lineBytes = 0;
        this.state = this.remaining === 0 ? State.TrailerLineStart : State.Data;
        return true;
      case State.DataCr:
        if (b !== CR) return this.refuse("missing CRLF after chunk data");
        this.state = State.DataLf;
        return true;
      case State.DataLf:
        if (b !== LF) return this.refuse("missing CRLF after chunk data");
        this.state = State.SizeStart;
        return true;
    }
    return this.refuse("internal state");
  }

  /** One byte of the trailer section; false when it is refused. */
  private trailerByte(b: number): boolean {
    switch (this.state) {
      case State.TrailerLineStart:
        if (b === CR) {
          this.state = State.TrailerEndLf;
          return true;
        }
        if (TOKEN[b] === 0) return this.refuse(b === LF ? "bare LF in the trailer section" : "invalid trailer field name");
        this.state = State.TrailerName;
        this.nameLength = 0;
        this.nameCandidates = ALL_SPECIAL;
        return this.trailerByte(b);
      case State.TrailerEndLf:
        if (b !== LF) return this.refuse("bare CR in the trailer section");
        // A field that would change how the connection is handled after this request: llhttp
        // would act on it, the engine cannot, so it is refused rather than ignored.
        if (this.connectionTrailer) return this.refuse("Connection in the trailer section");
        this.state = State.Done;
        return true;
      case State.TrailerName:
        if (TOKEN[b] === 1) {
          this.matchName(b);
          return true;
        }
        if (b !== 58 || this.nameLength === 0) return this.refuse("invalid trailer field name");
        this.trailerKind = this.nameKind();
        if (this.trailerKind === TRAILER_CONTENT_LENGTH) return this.refuse("Content-Length in the trailer section");
        if (this.trailerKind === TRAILER_CONNECTION || this.trailerKind === TRAILER_PROXY_CONNECTION) {
          this.connectionTrailer = true;
        }
        this.state = State.TrailerValueWs;
        return true;
      case State.TrailerValueWs:
        if (b === SP || b === HTAB) return true;
        if (b === CR) {
          this.state = State.TrailerEmptyLf;
          return true;
        }
        if (b === LF) return this.refuse("bare LF in the trailer section");
        if (this.trailerKind === TRAILER_TRANSFER_ENCODING) return this.refuse("Transfer-Encoding in the trailer section");
        this.state = State.TrailerValue;
        return this.trailerByte(b);
      case State.TrailerEmptyLf:
        if (b !== LF) return this.refuse("bare CR in the trailer section");
        this.state = State.TrailerEmptyLws;
        return true;
      case State.TrailerValue:
        if (HEADER_VALUE[b] === 1) return true;
        if (b === CR) {
          this.state = State.TrailerValueLf;
          return true;
        }
        return this.refuse(b === LF ? "bare LF in the trailer section" : "invalid character in a trailer value");
      case State.TrailerValueLf:
        if (b !== LF) return this.refuse("bare CR in the trailer section");
        this.state = State.TrailerValueLws;
        return true;
      case State.TrailerEmptyLws:
      case State.TrailerValueLws:
        if (b === SP || b === HTAB) return this.refuse("obsolete line folding in the trailer section");
        this.state = State.TrailerLineStart;
        return this.trailerByte(b);
    }
    return this.refuse("internal state");
  }

  private refuse(reason: string): false {
    this.state = State.Failed;
    this.failure = reason;
    return false;
  }

  private matchName(b: number): void {
    const lower = b >= 65 && b <= 90 ? b | 0x20 : b;
    const i = this.nameLength++;
    let candidates = this.nameCandidates;
    for (const [bit, word] of SPECIAL_TRAILERS) {
      if ((candidates & bit) !== 0 && (i >= word.length || word[i] !== lower)) candidates &= ~bit;
    }
    this.nameCandidates = candidates;
  }

  private nameKind(): number {
    for (const [bit, word] of SPECIAL_TRAILERS) {
      if ((this.nameCandidates & bit) !== 0 && word.length === this.nameLength) return bit;
    }
    return 0;
  }
}
