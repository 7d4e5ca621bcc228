// The one canonical form of a request path: the proxy routes on it and forwards it, so the
// gateway and the upstream resolve the same resource. RFC 3986 §6.2.2 normalisation plus what
// nginx, Tomcat, Spring and Jetty do to paths; whatever two of them could read differently is
// refused (null → 400) rather than guessed at.
//
// What the input has already been through: Bun.serve's `request.url` (WHATWG URL parsing),
// measured by sending raw request targets to Bun 1.4.5 over a socket:
// - `.` and `..` segments are resolved, also as `%2e` in any case (`/a/.%2E/b` → `/b`), and a
//   `..` above the root is dropped silently (`/../a` → `/a`; nginx answers 400 there);
// - `\` becomes `/` (`/a\b` → `/a/b`); `//` is kept, and `..` pops the empty segment it
//   makes (`/a//..` → `/a/`, where nginx merges first and resolves `/`);
// - percent-encodings are kept byte for byte, hex case included (`/%61`, `/%2f`, `/%C3%a9`),
//   malformed ones too (`/%zz`, `/%`); `;` is kept (`/..;/x` stays);
// - raw UTF-8 is percent-encoded (`/é` → `/%C3%A9`), a byte that is not UTF-8 becomes U+FFFD
//   (`%EF%BF%BD`), DEL and " < > ^ { } ` are percent-encoded, | [ ] ' are kept;
// - space, tab and other control bytes are answered 505 by Bun itself; `#frag` stays in
//   `request.url` (only `URL.pathname` drops it); an absolute-form target keeps only its path.
// So from Bun only the percent-encoding, `//`, `;` and character rules below ever fire (and
// `#` if the path is cut from `request.url` rather than taken from `URL.pathname`); the rest
// guard callers that hand in a path nobody has parsed yet.

/** Characters a path may carry as they are and that need no further look: RFC 3986 pchar and
 * `/`, without `%` (decoding) and `;` (path parameters). `.` is here too; dot segments are
 * caught by looking at the segment, not the character. */
const PLAIN = new Uint8Array(128);
const UNRESERVED = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~") UNRESERVED[c.charCodeAt(0)] = 1;
for (const c of "!$&'()*+,=:@/") PLAIN[c.charCodeAt(0)] = 1;
for (let c = 0; c < 128; c++) PLAIN[c] ||= UNRESERVED[c]!;

const SLASH = 0x2f;
const DOT = 0x2e;
const HEX = "0123456789ABCDEF";

/**
 * The canonical form of `path` (the path of a request target, starting with `/`), or null when
 * the request must be refused with 400. A path that is already canonical comes back as the
 * same string, found with one scan and no allocation.
 */
export function canonicalPath(path: string): string | null {
  return isPlain(path) ? path : resolve(path);
}

/** True when `path` is canonical as it is: only PLAIN characters, no `//`, no dot segment. */
function isPlain(path: string): boolean {
  const length = path.length;
  if (length === 0 || path.charCodeAt(0) !== SLASH) return false;
  let segmentStart = 1;
  for (let i = 1; i <= length; i++) {
    const c = i < length ? path.charCodeAt(i) : SLASH;
    if (c === SLASH) {
      const segmentLength = i - segmentStart;
      if (segmentLength === 0 && i < length) return false;
      if (segmentLength <= 2 && segmentLength > 0 && path.charCodeAt(segmentStart) === DOT && (segmentLength === 1 || path.charCodeAt(segmentStart + 1) === DOT)) return false;
      segmentStart = i + 1;
    } else if (c >= 128 || PLAIN[c] === 0) {
      return false;
    }
  }
  return true;
}

/** The slow path: each segment made canonical, then empty segments merged and dot segments removed. */
function resolve(path: string): string | null {
  if (path.charCodeAt(0) !== SLASH) return null;
  const raw = path.slice(1).split("/");
  const kept: string[] = [];
  let trailingSlash = false;
  for (let i = 0; i < raw.length; i++) {
    const segment = canonicalSegment(raw[i]!);
    if (segment === null) return null;
    const isLast = i === raw.length - 1;
    const kind = kindOf(segment);
    if (kind === "refuse") return null;
    if (kind === "empty" || kind === "current") {
      trailingSlash = isLast;
    } else if (kind === "parent") {
      // nginx answers 400 to a `..` above the root; silently staying at the root would make the
      // gateway and such an upstream disagree about the same request.
      if (kept.pop() === undefined) return null;
      trailingSlash = isLast;
    } else {
      kept.push(segment);
      trailingSlash = false;
    }
  }
  if (kept.length === 0) return "/";
  return `/${kept.join("/")}${trailingSlash ? "/" : ""}`;
}

/**
 * What a canonical segment means. Tomcat, Spring and Jetty strip `;params` (also when sent as
 * `%3B`) before they resolve and match a path, so `/admin;x/secret` is `/admin/secret` there and
 * `..;` climbs: a path with parameters is refused, as Spring's StrictHttpFirewall does, since
 * the gateway's prefix match and such an upstream would not read it alike.
 */
function kindOf(segment: string): "empty" | "current" | "parent" | "refuse" | "name" {
  if (segment === "") return "empty";
  if (segment === ".") return "current";
  if (segment === "..") return "parent";
  return segment.includes(";") || segment.includes("%3B") ? "refuse" : "name";
}

/**
 * One segment (no `/` inside) with unreserved characters decoded, the other encodings' hex
 * upper-cased, and characters RFC 3986 does not allow in a path percent-encoded; null for what
 * is refused: a malformed `%`, an encoded `/` or `\` (they would split or join segments
 * differently per upstream), a literal `\`, a control character in either form, a space, and
 * a literal `?` or `#` (never part of a path: the caller mixed in the query or a fragment,
 * and nginx would cut the path there).
 */
function canonicalSegment(segment: string): string | null {
  let out = "";
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charCodeAt(i);
    if (c === 0x25) {
      const value = hexByte(segment, i + 1); // -1 when malformed, so also refused below
      if (value < 0x20 || value === 0x7f || value === SLASH || value === 0x5c) return null;
      out += UNRESERVED[value] === 1 ? String.fromCharCode(value) : percent(value);
      i += 2;
    } else if (c < 128) {
      if (c <= 0x20 || c === 0x7f || c === 0x5c || c === 0x3f || c === 0x23) return null;
      out += PLAIN[c] === 1 || c === 0x3b ? segment[i] : percent(c);
    } else {
      const codePoint = segment.codePointAt(i)!;
      if (codePoint >= 0xd800 && codePoint <= 0xdfff) return null; // a lone surrogate has no UTF-8 form
      const char = String.fromCodePoint(codePoint);
      out += encodeURIComponent(char);
      i += char.length - 1;
    }
  }
  return out;
}

/** The byte of the two hex digits at `at`, or -1 when they are not two hex digits. */
function hexByte(text: string, at: number): number {
  if (at + 1 >= text.length) return -1;
  const high = hexDigit(text.charCodeAt(at));
  const low = hexDigit(text.charCodeAt(at + 1));
  return high < 0 || low < 0 ? -1 : high * 16 + low;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

function percent(byte: number): string {
  return `%${HEX[byte >> 4]}${HEX[byte & 15]}`;
}
