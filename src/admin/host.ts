// The Host an admin request names (RFC 9110 §7.2), checked before anything reads request.url:
// Bun builds that URL from the Host header, so for a Host no URL can hold request.url is a bare
// path, or a string `new URL` throws on, and every later `new URL(request.url)` would be a 500.
import { isIPv6 } from "node:net";
import { BadRequestError } from "../errors.ts";

/** The Host as a URL serialises it: lower-case, IPv6 in brackets and canonical, no `:80`. */
export interface RequestHost {
  /** `127.0.0.1`, `localhost`, `[::1]` */
  hostname: string;
  /** hostname, and `:port` unless the port is 80: what an Origin from this host holds. */
  host: string;
}

const NAME_CHARACTER = /[A-Za-z0-9._-]/;
const NAME_CHARACTERS = "letters, digits, '-', '_' and '.'";
// RFC 3986 dec-octet: no leading zeros, so `127.000.0.1` is not an address.
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
// The WHATWG URL parser reads a name whose last label is a number as an IPv4 address in any
// base and any number of parts (`2130706433`, `0x7f.1` and `127.1` are all 127.0.0.1).
const ENDS_IN_NUMBER = /(?:^|\.)(?:\d+|0x[0-9a-f]*)\.?$/i;
const PORT = /^\d*$/;

const invalid = (why: string) => new BadRequestError(`invalid Host header: ${why}`);

function describeCharacter(character: string): string {
  const code = character.codePointAt(0)!;
  return code > 0x20 && code < 0x7f ? `'${character}'` : `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** A reg-name restricted to DNS syntax (RFC 3986 §3.2.2 asks names to follow it): no percent-encoding or sub-delims, which no browser sends. */
function checkName(name: string): void {
  if (name === "") throw invalid("no host name before the port");
  for (const character of name) {
    if (!NAME_CHARACTER.test(character)) throw invalid(`${describeCharacter(character)} cannot appear in a host name (${NAME_CHARACTERS}; an internationalised name goes in its xn-- form)`);
  }
  const labels = (name.endsWith(".") ? name.slice(0, -1) : name).split(".");
  if (labels.join(".").length > 253) throw invalid("a host name is at most 253 characters");
  if (labels.some((label) => label === "")) throw invalid("a host name has no empty labels (a leading dot, or two dots in a row)");
  if (labels.some((label) => label.length > 63)) throw invalid("each label of a host name is at most 63 characters");
  if (ENDS_IN_NUMBER.test(name) && !IPV4.test(name.replace(/\.$/, ""))) {
    throw invalid("a host name that ends in a number must be an IPv4 address a.b.c.d (each 0-255, no leading zeros)");
  }
}

/** Splits `host[:port]`, checks each part; throws BadRequestError naming what is wrong. */
function parseHost(value: string | null): RequestHost {
  if (value === null) throw invalid("missing");
  if (value === "") throw invalid("empty");
  // Bun joins repeated Host headers with ", "; RFC 9112 §3.2 asks for a 400 either way.
  if (value.includes(",")) throw invalid("sent more than once, or holds a list");
  let port: string | undefined;
  if (value.startsWith("[")) {
    const end = value.indexOf("]");
    if (end === -1) throw invalid("'[' without its ']'");
    const address = value.slice(1, end);
    if (!/^[0-9A-Fa-f:.]+$/.test(address) || !isIPv6(address)) throw invalid("what is between '[' and ']' is not an IPv6 address");
    const rest = value.slice(end + 1);
    if (rest !== "" && !rest.startsWith(":")) throw invalid("only ':port' may follow ']'");
    if (rest !== "") port = rest.slice(1);
  } else {
    const colon = value.indexOf(":");
    if (colon !== value.lastIndexOf(":")) throw invalid("an IPv6 address goes in brackets, as in [::1]:8001");
    checkName(colon === -1 ? value : value.slice(0, colon));
    if (colon !== -1) port = value.slice(colon + 1);
  }
  if (port !== undefined && (!PORT.test(port) || Number(port) > 65535)) throw invalid("the port is not a number from 0 to 65535");
  try {
    const url = new URL(`http://${value}/`);
    return { hostname: url.hostname, host: url.host };
  } catch {
    // What the grammar lets through and IDNA still refuses: an xn-- label that is not punycode.
    throw invalid("not a host name a URL can hold (an xn-- label that is not valid punycode?)");
  }
}

/** The Host header, or, for a Request built in-process with none, the authority of its URL. */
export function requestHost(request: Request): RequestHost {
  const header = request.headers.get("host");
  if (header !== null || !URL.canParse(request.url)) return parseHost(header);
  return parseHost(new URL(request.url).host);
}
