// The one form of a request's Host that routing sees (RFC 9110 §7.2, RFC 3986 §3.2.2): lower
// case, without a trailing dot, the port apart. A Host that is not host[:port] is refused, so
// a value such as `a@b` or `a, b` cannot mean one thing to the router and another upstream.

export interface CanonicalHost {
  /** Lower-case name or address, no trailing dot, no port ("" when the client sent none). */
  readonly name: string;
  /** `name:port` when a port was given, else `name`. */
  readonly withPort: string;
}

const NO_HOST: CanonicalHost = { name: "", withPort: "" };
// reg-name letters as DNS and common servers take them, an IPv4 address, or an IP literal;
// then an optional port of at most five digits.
const HOST = /^(?:([a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?)\.?|\[([0-9a-f:.]+)\])(?::([0-9]{1,5}))?$/i;
// Clients send the same few Host values again and again: remembered, they cost one lookup.
const MAX_REMEMBERED = 1024;
const remembered = new Map<string, CanonicalHost>();

/** The canonical Host, or null when the value cannot be one (answered with 400). */
export function canonicalHost(raw: string | null): CanonicalHost | null {
  if (raw === null || raw === "") return NO_HOST;
  const known = remembered.get(raw);
  if (known !== undefined) return known;
  const parsed = parse(raw);
  if (parsed !== null) {
    if (remembered.size >= MAX_REMEMBERED) remembered.clear();
    remembered.set(raw, parsed);
  }
  return parsed;
}

// A DNS name has at most 253 characters; with brackets or a port a little more.
const MAX_HOST = 261;

function parse(raw: string): CanonicalHost | null {
  if (raw.length > MAX_HOST) return null;
  const found = HOST.exec(raw);
  if (!found) return null;
  const [, regName, literal, port] = found;
  if (port !== undefined && Number(port) > 65535) return null;
  const name = regName !== undefined ? regName.toLowerCase() : `[${literal!.toLowerCase()}]`;
  if (regName !== undefined && regName.includes("..")) return null;
  return { name, withPort: port === undefined ? name : `${name}:${port}` };
}
