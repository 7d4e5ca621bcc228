// Seeded generator of HTTP/1.x request byte streams for the raw parser's differential proof:
// valid requests, CL/TE smuggling variants, malformed request lines, header blocks and
// chunked bodies, pipelined mixes, byte-level mutations and truncations. Same seed, same
// streams. Text is built as latin1 strings (one char per byte).

/** mulberry32: small, fast, good enough to spread cases; deterministic per seed. */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(below: number): number {
    return Math.floor(this.next() * below);
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** Mostly the first item (the ordinary case), otherwise any of the rest. */
  usually<T>(items: readonly T[], probability = 0.8): T {
    return this.chance(probability) ? items[0] : items[1 + this.int(items.length - 1)];
  }
}

const COMMON_METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"];
const ODD_METHODS = [
  "CONNECT", "TRACE", "COPY", "LOCK", "MKCOL", "MOVE", "PROPFIND", "PROPPATCH", "SEARCH", "UNLOCK",
  "BIND", "REBIND", "UNBIND", "ACL", "REPORT", "MKACTIVITY", "CHECKOUT", "MERGE", "M-SEARCH", "NOTIFY",
  "SUBSCRIBE", "UNSUBSCRIBE", "PURGE", "MKCALENDAR", "LINK", "UNLINK", "SOURCE", "QUERY", "PRI",
  "DESCRIBE", "ANNOUNCE", "SETUP", "PLAY", "PAUSE", "TEARDOWN", "GET_PARAMETER", "SET_PARAMETER",
  "REDIRECT", "RECORD", "FLUSH", "get", "Get", "FOO", "GETT", "GE", "G", "GET_", "POSTX", "", "\x00GET",
  "GE\tT", "M-", "PUR", "DELETE\x7f", "BREW", "PROPFINDX",
];

const ORIGIN_TARGETS = [
  "/", "/index.html", "/a/b/c?x=1&y=2", "/search?q=caf%C3%A9", "/a;b=c/d", "/%2F%2e%2E/", "/?", "/#frag",
  "/a?b?c#d#e", "/~!$&'()*+,;=:@", "//double//slash", "/\"<>\\^`{|}", "/a%00b", "/.././../x",
];
const ODD_TARGETS = [
  "*", "*a", "http://example.com", "http://example.com:8080/p?q", "https://user:pw@h.example/x",
  "HTTP://A/", "a://b", "a://", "http://[::1]:80/", "http://a@b@c/", "http://a@@b/", "http:/x", "http:x",
  "h2c://x/", "http://a#f", "http://a b/", "example.com:443", "a:1", "?x", "x", "1/", "", " /", "/a\tb",
  "/a\x0cb", "/a\x01", "/caf\xe9", "/a\x7f", "/a\x00", "/" + "a".repeat(300), "http://exa\xe9mple/",
  "http://a?b", "http://a%20b/", "http://[v1.x]/", "http://a:b:c/", "/a\rb", "/a\nb",
];

const VERSIONS_GOOD = ["HTTP/1.1", "HTTP/1.0"];
const VERSIONS_ODD = [
  "HTTP/1.2", "HTTP/2.0", "HTTP/0.9", "HTTP/2", "HTTP/3.0", "HTTP/9.9", "http/1.1", "Http/1.1",
  "HTTP/01.1", "HTTP/1.10", "HTTP/1.", "HTTP/.1", "HTTP 1.1", "HTTP/1.1 ", " HTTP/1.1", "HTTP/1.1\t",
  "RTSP/1.0", "ICE/1.0", "RTSP/2.0", "HTTPS/1.1", "HTTP/1.1x", "", "HTTP", "HTTP/", "HTTP/a.b", "\x00",
];

const LINE_ENDINGS_ODD = ["\n", "\r", "\r\r\n", "\n\r", "\r\n\r", " \r\n", "\t\r\n", "\x00\r\n"];

const NAMES_COMMON = [
  "Host", "User-Agent", "Accept", "Accept-Encoding", "Accept-Language", "Cookie", "Authorization",
  "Content-Type", "Cache-Control", "X-Request-Id", "X-Forwarded-For", "Referer", "Origin", "If-None-Match",
  "Sec-WebSocket-Key", "Sec-WebSocket-Version", "TE", "Trailer", "Keep-Alive", "Range", "Via", "X-Api-Key",
];
const NAMES_ODD = [
  "Ho st", "Host ", "Host\t", " Host", "\tHost", "Hos\x00t", "X(y)", "X[y]", "X\"y", "X/y", "X?y", "X=y",
  "X{y}", "X@y", "X,y", "X;y", "", "X:Y", "caf\xe9", "X\x7f", "!#$%&'*+-.^_`|~", "x-UPPER-lower",
  "Content-Length\x00", "Transfer-Encoding ", "Content_Length", "Transfer_Encoding", "Content-Lengthx",
  "Xtransfer-Encoding", "Connection\x0b", "a".repeat(200),
];

const CL_VALUES = [
  "0", "5", "005", "+5", "-5", "0x5", "5, 5", "5,5", "5 5", " 5 ", "5 ", "5\t", "\t5", "", " ",
  "18446744073709551615", "18446744073709551616", "99999999999999999999999",
  "00000000000000000000000000000003", "1e3", "5.0", "5\x00", "9007199254740993", "4294967296",
];
const TE_VALUES = [
  "chunked", "Chunked", "CHUNKED", " chunked", "chunked ", "chunked  ", "chunked\t", "\tchunked",
  "gzip, chunked", "gzip,chunked", "gzip ,chunked", "gzip,\tchunked", "gzip, \t chunked", ",chunked",
  ",,chunked", "chunked,", "chunked, gzip", "chunked, chunked", "chunked,chunked", "identity",
  "chunked, identity", "identity, chunked", "xchunked", "chunkedx", "chunked;q=1", "gzip", "", "  ",
  "chunk", "chunke", "\x0bchunked", "chunked\x0b", "chunked\x00", "ch\xfcnked", "chunked x", "x chunked",
  "gzip, deflate", "compress, chunked", "gzip chunked", "chunked\x0c",
];
const CONNECTION_VALUES = [
  "keep-alive", "close", "Upgrade", "keep-alive, Upgrade", "Close", "CLOSE", "KEEP-ALIVE", "close foo",
  "foo close", "x,close", "x, close", "x,\tclose", " close ", "close\t", "close\t,x", "close ,x",
  "keep-alive\t", "keep-alive ", "", ",", ",close", "upgrade, close", "close, keep-alive",
  "keep-alive, close", "closex", "xclose", "clos", "keep-alivex", "upgrade ", "upgrade\t", "up grade",
  "te, close", "close,", "close,,upgrade", "Keep-Alive, Close, Upgrade",
];
const UPGRADE_VALUES = ["websocket", "h2c", "", " ", "WebSocket, h2c", "\t"];
const EXPECT_VALUES = ["100-continue", "100-Continue", "200-ok", "", "100-continue, x"];
const VALUE_WORDS = [
  "text/html", "*/*", "gzip, deflate, br", "en-US,en;q=0.9", "Mozilla/5.0 (X11; Linux x86_64)", "a=b; c=d",
  "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x", "no-cache", "\"etag\"", "bytes=0-99", "1.1 proxy", "v", "",
];
const VALUE_ODD_BYTES = ["\x00", "\x01", "\x7f", "\x0b", "\x0c", "\r", "\n", "\x80", "\xe9", "\xff", "\t", " ", "\x1f"];

const CHUNK_EXTENSIONS_GOOD = ["", ";a", ";a=b", ';a="b c"', ';a="b\\"c"', ";a=b;c=d", ";=", ";a=", ";!#$%&'*+-.^_`|~=x"];
const CHUNK_EXTENSIONS_ODD = [
  "; a=b", ";a =b", ";a= b", ";a=b ", ";", ";;", ";a;", ' ;a', "\t;a", ';a="b', ';a="b\\', ';a="b"c',
  ";a=b\"c\"", ";a=\x01", ";a\x00", ";a=\xe9", ';a="\xe9"', ';a="\\\x01"', ';a="\x7f"', ";a=b,c", ";a=\"\";b",
  ";" + "x".repeat(100),
];
const CHUNK_SIZE_ODD = [" 5", "5 ", "5\t", "0x5", "+5", "-5", "", "g", "5g", "10000000000000000", "ffffffffffffffff", "FFFFFFFFFFFFFFFF", "0000000000000000000005", "1\x00"];

/** Builds requests; `weirdness` scales every anomaly (0: only valid requests). */
class RequestBuilder {
  constructor(
    private readonly random: Random,
    private readonly weirdness: number,
  ) {}

  /** An anomaly with probability `p` at weirdness 1. */
  private odd(p: number): boolean {
    return this.weirdness > 0 && this.random.chance(p * this.weirdness);
  }

  build(): string {
    const r = this.random;
    const method = this.odd(0.1) ? r.pick(ODD_METHODS) : r.chance(0.97) ? r.usually(COMMON_METHODS, 0.6) : r.pick(["CONNECT", "QUERY", "M-SEARCH", "PURGE", "PROPFIND"]);
    const target = method === "CONNECT" && r.chance(0.7)
      ? r.pick(["example.com:443", "a:1", "[::1]:8443", "/", "http://a/", ""])
      : this.odd(0.12) ? r.pick(ODD_TARGETS) : r.chance(0.9) ? r.pick(ORIGIN_TARGETS) : r.pick(["*", "http://example.com:8080/p?q", "HTTP://A/"]);
    const version = this.odd(0.07) ? r.pick(VERSIONS_ODD) : r.usually(VERSIONS_GOOD, 0.85);
    const gap = () => (this.odd(0.05) ? r.pick(["  ", "\t", "", "   "]) : " ");
    const eol = () => (this.odd(0.015) ? r.pick(LINE_ENDINGS_ODD) : "\r\n");
    let text = this.odd(0.03) ? `${method}${gap()}${target}${eol()}` : `${method}${gap()}${target}${gap()}${version}${eol()}`;

    const headers: [string, string][] = [];
    if (r.chance(0.9)) headers.push([r.usually(["Host", "host", "HOST"]), r.pick(["example.com", "a:8080", "", "[::1]", "a b"])]);
    const ordinary = r.int(r.chance(0.05) ? 40 : 6);
    for (let i = 0; i < ordinary; i++) headers.push([r.pick(NAMES_COMMON), this.value()]);

    const bodyKind = r.pick(["none", "none", "length", "length", "chunked", "chunked", "smuggle", "connection"]);
    let body = "";
    if (bodyKind === "length" || (bodyKind === "smuggle" && this.weirdness === 0)) {
      const length = r.int(r.chance(0.9) ? 20 : 3000);
      headers.push([this.caseOf("Content-Length"), String(length)]);
      body = this.bytes(length + (this.odd(0.1) ? r.int(5) - 2 : 0));
    } else if (bodyKind === "chunked") {
      headers.push([this.caseOf("Transfer-Encoding"), this.odd(0.15) ? r.pick(TE_VALUES) : r.usually(["chunked", "gzip, chunked", "Chunked", "chunked "])]);
      body = this.chunkedBody();
    } else if (bodyKind === "smuggle") {
      this.smuggle(headers);
      body = r.chance(0.5) ? this.chunkedBody() : this.bytes(r.int(12));
    } else if (bodyKind === "connection") {
      headers.push([this.caseOf(r.pick(["Connection", "Proxy-Connection"])), r.pick(CONNECTION_VALUES)]);
      if (r.chance(0.4)) headers.push([this.caseOf("Upgrade"), r.pick(UPGRADE_VALUES)]);
    }
    if (r.chance(0.1)) headers.push([this.caseOf(r.pick(["Connection", "Proxy-Connection"])), r.pick(CONNECTION_VALUES)]);
    if (r.chance(0.05)) headers.push([this.caseOf("Upgrade"), r.pick(UPGRADE_VALUES)]);
    if (r.chance(0.05)) headers.push(["Expect", r.pick(EXPECT_VALUES)]);
    if (r.chance(0.03)) headers.push([r.pick(["Host", "Content-Type"]), "dup"]);
    if (this.odd(0.08)) headers.push([r.pick(NAMES_ODD), this.value()]);
    if (r.chance(0.3)) shuffle(r, headers);

    for (const [name, value] of headers) {
      const colon = this.odd(0.03) ? r.pick([" :", "\t:", "::", ""]) : ":";
      const ows = r.usually([" ", "", "  ", "\t", " \t "], 0.85);
      const tail = r.usually(["", " ", "\t", "  "], 0.9);
      let line = `${name}${colon}${ows}${value}${tail}`;
      if (this.odd(0.02)) line += r.pick(["\r\n folded", "\r\n\tfolded", "\r\n ", "\r\n\t"]);
      text += line + eol();
    }
    if (this.odd(0.01)) text = text.replace("\r\n", "\r\n ");
    return text + eol() + body;
  }

  private caseOf(name: string): string {
    const r = this.random;
    if (r.chance(0.7)) return name;
    return r.pick([name.toLowerCase(), name.toUpperCase(), [...name].map((c) => (r.chance(0.5) ? c.toUpperCase() : c.toLowerCase())).join("")]);
  }

  private value(): string {
    const r = this.random;
    let value = r.pick(VALUE_WORDS);
    if (this.odd(0.06)) {
      const at = r.int(value.length + 1);
      value = value.slice(0, at) + r.pick(VALUE_ODD_BYTES) + value.slice(at);
    }
    return value;
  }

  private bytes(length: number): string {
    const at = this.random.int(BODY_POOL.length - length);
    return BODY_POOL.slice(at, at + length);
  }

  /** Content-Length and Transfer-Encoding in the combinations request smuggling relies on. */
  private smuggle(headers: [string, string][]): void {
    const r = this.random;
    const cl = (): [string, string] => [this.caseOf("Content-Length"), r.chance(0.5) ? String(r.int(10)) : r.pick(CL_VALUES)];
    const te = (): [string, string] => [this.caseOf("Transfer-Encoding"), r.pick(TE_VALUES)];
    switch (r.int(6)) {
      case 0:
        headers.push(cl(), te());
        break;
      case 1:
        headers.push(te(), cl());
        break;
      case 2:
        headers.push(cl(), cl());
        break;
      case 3:
        headers.push(te(), te());
        break;
      case 4:
        headers.push(cl());
        break;
      default:
        headers.push(te());
    }
  }

  private chunkedBody(): string {
    const r = this.random;
    let text = "";
    const chunks = r.int(4);
    for (let i = 0; i < chunks; i++) {
      const size = r.chance(0.9) ? 1 + r.int(16) : 1 + r.int(2000);
      const sizeText = this.odd(0.03) ? r.pick(CHUNK_SIZE_ODD) : this.hex(size);
      const extension = r.chance(0.85) ? "" : this.odd(0.4) ? r.pick(CHUNK_EXTENSIONS_ODD) : r.pick(CHUNK_EXTENSIONS_GOOD);
      const lineEnd = this.odd(0.03) ? r.pick(["\n", "\r", "\r\r\n", ""]) : "\r\n";
      const dataLength = this.odd(0.05) ? Math.max(0, size + r.int(5) - 2) : size;
      const dataEnd = this.odd(0.04) ? r.pick(["\n", "\r", "", "x\r\n", "\r\r\n"]) : "\r\n";
      text += sizeText + extension + lineEnd + this.bytes(dataLength) + dataEnd;
    }
    if (this.odd(0.03)) return text;
    const lastSize = r.usually(["0", "000", "00000000000000000000"], 0.9);
    const lastExtension = r.chance(0.9) ? "" : this.odd(0.5) ? r.pick(CHUNK_EXTENSIONS_ODD) : r.pick(CHUNK_EXTENSIONS_GOOD);
    text += lastSize + lastExtension + (this.odd(0.02) ? r.pick(["\n", "\r"]) : "\r\n");
    if (r.chance(0.15)) {
      const trailers = 1 + r.int(3);
      for (let i = 0; i < trailers; i++) {
        const name = this.odd(0.3)
          ? r.pick(["Content-Length", "Transfer-Encoding", "Connection", "Proxy-Connection", "content-length", ...NAMES_ODD])
          : r.pick(["X-Checksum", "Server-Timing", "Expires", "Host", "Upgrade"]);
        const value = name.toLowerCase() === "transfer-encoding" && r.chance(0.3) ? "" : r.chance(0.5) ? r.pick(CONNECTION_VALUES) : this.value();
        const fold = this.odd(0.03) ? "\r\n folded" : "";
        text += `${name}:${r.usually([" ", "", "\t"])}${value}${fold}${this.odd(0.02) ? r.pick(["\n", "\r"]) : "\r\n"}`;
      }
    }
    return text + (this.odd(0.03) ? r.pick(["\n", "\r", "", "\r\r\n"]) : "\r\n");
  }

  private hex(size: number): string {
    const r = this.random;
    let text = size.toString(16);
    if (r.chance(0.2)) text = text.toUpperCase();
    if (r.chance(0.05)) text = "0".repeat(1 + r.int(20)) + text;
    return text;
  }
}

function shuffle<T>(random: Random, items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [items[i], items[j]] = [items[j], items[i]];
  }
}

const MUTATION_BYTES = [0, 1, 9, 10, 11, 12, 13, 32, 34, 44, 58, 59, 127, 128, 233, 255, 48, 97, 65];

// Pieces of the grammar, shuffled: walks llhttp's state machine through transitions no
// well-formed request reaches.
const SOUP_START = ["GET / HTTP/1.1\r\n", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n", "POST / HTTP/1.1\r\nContent-Length: ", "GET / HTTP/1.1\r\nConnection: ", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", "GET ", "CONNECT ", ""];
const SOUP_PIECES = [
  "\r\n", "\r\n", "\r", "\n", " ", "\t", ":", ": ", ",", ";", "=", "\"", "\\", "/", "?", "#", "@", "*", "0", "1", "5", "a", "f", "F",
  "x", "\x00", "\x7f", "\xe9", "\x0b", "HTTP/1.1", "HTTP/1.0", "chunked", "close", "keep-alive", "upgrade", "Upgrade: x",
  "Content-Length", "Transfer-Encoding", "Connection", "Host: a", "GET / HTTP/1.1", "\r\n\r\n", "0\r\n\r\n", "http://",
];

function soup(random: Random): string {
  let text = random.pick(SOUP_START);
  const pieces = 1 + random.int(24);
  for (let i = 0; i < pieces; i++) text += random.pick(SOUP_PIECES);
  return text;
}

/** Body bytes: mostly letters, some of every byte value (CR, LF, NUL... inside bodies). */
const BODY_POOL = (() => {
  const random = new Random(0x5eed);
  let text = "";
  for (let i = 0; i < 1 << 16; i++) text += String.fromCharCode(random.chance(0.9) ? 97 + random.int(26) : random.int(256));
  return text;
})();

/** A stream: one to four requests, with optional empty lines between, mutations and truncation.
 *  Two in five streams are valid throughout; the others carry anomalies at two intensities. */
export function generateStream(random: Random): Uint8Array {
  if (random.chance(0.05)) return latin1Bytes(soup(random));
  const weirdness = random.chance(0.4) ? 0 : random.chance(0.75) ? 1 : 3;
  const builder = new RequestBuilder(random, weirdness);
  const requests = random.chance(0.6) ? 1 : 2 + random.int(3);
  let text = random.chance(0.05) ? random.pick(["\r\n", "\n", "\r", "\r\n\r\n", "\n\r\n\r"]) : "";
  for (let i = 0; i < requests; i++) {
    text += builder.build();
    if (random.chance(0.05)) text += random.pick(["\r\n", "\n", "\r", "\r\n\r\n"]);
  }
  if (weirdness > 0 && random.chance(0.25)) text = mutate(random, text);
  if (random.chance(0.1)) text = text.slice(0, random.int(text.length + 1));
  return latin1Bytes(text);
}

// Streams are views into shared arenas: one native latin1 write each (a Buffer per stream
// costs Bun more than building the stream).
const ARENA_BYTES = 1 << 20;
let arena = Buffer.allocUnsafe(ARENA_BYTES);
let arenaUsed = 0;

function latin1Bytes(text: string): Uint8Array {
  if (arenaUsed + text.length > arena.length) {
    arena = Buffer.allocUnsafe(Math.max(ARENA_BYTES, text.length));
    arenaUsed = 0;
  }
  const written = arena.write(text, arenaUsed, "latin1");
  const bytes = new Uint8Array(arena.buffer, arena.byteOffset + arenaUsed, written);
  arenaUsed += written;
  return bytes;
}

/** Replaces, inserts or deletes a few bytes at random positions. */
function mutate(random: Random, text: string): string {
  const edits = 1 + random.int(3);
  for (let i = 0; i < edits && text.length > 0; i++) {
    const at = random.int(text.length);
    const byte = String.fromCharCode(random.chance(0.8) ? random.pick(MUTATION_BYTES) : random.int(256));
    const kind = random.int(3);
    if (kind === 0) text = text.slice(0, at) + byte + text.slice(at + 1);
    else if (kind === 1) text = text.slice(0, at) + byte + text.slice(at);
    else text = text.slice(0, at) + text.slice(at + 1);
  }
  return text;
}

// Every single-byte edit (replace, insert, delete) of a few dense requests, with the bytes
// that mean something to a parser: a systematic walk next to the random one.
const EDIT_TEMPLATES = [
  "POST /a?b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nabcGET / HTTP/1.1\r\n\r\n",
  'PUT http://u@h:1/p HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3;a="b\\"c";d=e\r\nxyz\r\n0\r\nX: y\r\n\r\nGET / HTTP/1.0\r\n\r\n',
  "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: close, Upgrade\r\n\r\n",
  "CONNECT a:1 HTTP/1.1\r\nProxy-Connection: keep-alive\r\nExpect: 100-continue\r\n\r\n",
  "\r\nOPTIONS * HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\nDELETE /x HTTP/1.1\r\n\r\n",
];
const EDIT_BYTES = [
  0, 1, 8, 9, 10, 11, 12, 13, 31, 32, 33, 34, 35, 44, 47, 48, 49, 53, 57, 58, 59, 61, 63, 64, 65, 70, 72, 84, 92, 97,
  102, 120, 127, 128, 159, 233, 255, 40, 91, 124,
];

export function singleByteEdits(): Uint8Array[] {
  const streams: Uint8Array[] = [];
  for (const template of EDIT_TEMPLATES) {
    for (let at = 0; at <= template.length; at++) {
      streams.push(latin1Bytes(template.slice(0, at)));
      if (at < template.length) streams.push(latin1Bytes(template.slice(0, at) + template.slice(at + 1)));
      for (const byte of EDIT_BYTES) {
        const char = String.fromCharCode(byte);
        streams.push(latin1Bytes(template.slice(0, at) + char + template.slice(at)));
        if (at < template.length && template.charCodeAt(at) !== byte) {
          streams.push(latin1Bytes(template.slice(0, at) + char + template.slice(at + 1)));
        }
      }
    }
  }
  return streams;
}
