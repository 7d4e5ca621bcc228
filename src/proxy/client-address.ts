// The client's address: the connection's peer, unless the peer is a trusted proxy
// (`--trusted-ips`, Kong's name); then X-Forwarded-For is walked from the right, skipping
// trusted addresses, and the first untrusted one is the client (all trusted: the leftmost).
// Also the IP/CIDR parsing and matching that ip-restriction uses.
import { isIPv4, isIPv6 } from "node:net";

/** An address as 128 bits; IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d), so both families compare in one space. */
export function addressBits(text: string): bigint | null {
  let address = text.trim();
  if (address.startsWith("[") && address.endsWith("]")) address = address.slice(1, -1);
  const zone = address.indexOf("%");
  if (zone >= 0) address = address.slice(0, zone);
  if (isIPv4(address)) return 0xffff00000000n | ipv4Bits(address);
  if (!isIPv6(address)) return null;
  let tail = 0n;
  let tailGroups = 0;
  const lastColon = address.lastIndexOf(":");
  if (address.includes(".")) {
    tail = ipv4Bits(address.slice(lastColon + 1));
    tailGroups = 2;
    address = `${address.slice(0, lastColon + 1)}0:0`;
  }
  const [head, rest] = address.split("::") as [string, string | undefined];
  const groups = (part: string) => (part === "" ? [] : part.split(":"));
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const all = rest === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill("0"), ...right];
  let bits = 0n;
  for (const group of all.slice(0, 8)) bits = (bits << 16n) | BigInt(parseInt(group, 16));
  if (tailGroups) bits = (bits & ~0xffffffffn) | tail;
  return bits;
}

/**
 * The share of the gateway a client's address stands for when it is shared out: an IPv4 address
 * itself, an IPv6 address's /64 (what one host or subscriber is given).
 */
export function addressGroup(text: string): string {
  const bits = addressBits(text);
  if (bits === null) return text;
  // IPv4, and IPv4-mapped IPv6 (a dual-stack listener's view of it), as one dotted quad.
  if (bits >> 32n === 0xffffn) return [24n, 16n, 8n, 0n].map((shift) => (bits >> shift) & 0xffn).join(".");
  return `${(bits >> 64n).toString(16)}::/64`;
}

function ipv4Bits(address: string): bigint {
  return address.split(".").reduce((bits, octet) => (bits << 8n) | BigInt(Number(octet)), 0n);
}

/** A set of addresses and CIDR blocks, v4 and v6. */
export interface AddressSet {
  has(address: string): boolean;
  readonly size: number;
}

interface Block {
  network: bigint;
  shift: bigint;
}

/** Why an entry is not an IP or CIDR, or null. */
export function invalidAddressEntry(entry: string): string | null {
  return parseBlock(entry) ? null : `invalid ip or cidr range: '${entry}'`;
}

function parseBlock(entry: string): Block | null {
  const slash = entry.indexOf("/");
  const addressText = slash < 0 ? entry : entry.slice(0, slash);
  const bits = addressBits(addressText);
  if (bits === null) return null;
  const v4 = isIPv4(addressText.trim());
  const max = v4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const text = entry.slice(slash + 1);
    if (!/^\d{1,3}$/.test(text) || Number(text) > max) return null;
    prefix = Number(text);
  }
  const shift = BigInt((v4 ? 32 : 128) - prefix);
  return { network: bits >> shift, shift };
}

/**
 * A dotted-quad IPv4 address in the one spelling every parser agrees on (four decimal octets,
 * no leading zeros, nothing around them) as a 32-bit number, else -1: the address is then read
 * by `addressBits`. Peers and forwarded hops are almost always written so, and this costs a
 * twentieth of the 128-bit reading.
 */
function plainIpv4(text: string): number {
  const length = text.length;
  if (length < 7 || length > 15) return -1;
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits === 1 && octet === 0) return -1;
      octet = octet * 10 + (c - 48);
      if (octet > 255) return -1;
      digits++;
    } else return -1;
  }
  return digits === 0 || dots !== 3 ? -1 : value * 256 + octet;
}

const MAPPED_V4 = 0xffff00000000n;

/** The IPv4 addresses a set's entries cover, as numbers: what `has` reads for a plain IPv4 address. */
interface Ipv4Cover {
  /** Some entry (a v6 block around ::ffff:0:0/96, `0.0.0.0/0`) covers every IPv4 address. */
  all: boolean;
  readonly exact: Set<number>;
  /** Inclusive ranges of the other blocks inside the IPv4-mapped space, [low, high, ...]. */
  readonly ranges: number[];
}

function coverIpv4(cover: Ipv4Cover, { network, shift }: Block): void {
  // Blocks are aligned: one wider than 32 bits holds the whole mapped space or none of it.
  if (shift > 32n) {
    if (MAPPED_V4 >> shift === network) cover.all = true;
    return;
  }
  const low = network << shift;
  if (low >> 32n !== 0xffffn) return;
  const first = Number(low & 0xffffffffn);
  if (shift === 0n) cover.exact.add(first);
  else cover.ranges.push(first, first + 2 ** Number(shift) - 1);
}

export function addressSet(entries: readonly string[]): AddressSet {
  const blocks: Block[] = [];
  const exact = new Set<string>();
  const v4: Ipv4Cover = { all: false, exact: new Set(), ranges: [] };
  for (const entry of entries) {
    const block = parseBlock(entry);
    if (!block) throw new Error(invalidAddressEntry(entry)!);
    coverIpv4(v4, block);
    if (block.shift === 0n) exact.add(String(block.network));
    else blocks.push(block);
  }
  const { exact: exactV4, ranges } = v4;
  return {
    size: entries.length,
    has(address) {
      // A dual-stack listener gives IPv4 peers as ::ffff:a.b.c.d, the same 128 bits.
      const plain = plainIpv4(address.startsWith("::ffff:") ? address.slice(7) : address);
      if (plain >= 0) {
        if (v4.all || exactV4.has(plain)) return true;
        for (let i = 0; i < ranges.length; i += 2) if (plain >= ranges[i]! && plain <= ranges[i + 1]!) return true;
        return false;
      }
      const bits = addressBits(address);
      if (bits === null) return false;
      if (exact.has(String(bits))) return true;
      for (const { network, shift } of blocks) if (bits >> shift === network) return true;
      return false;
    },
  };
}

/** `--trusted-ips` / GATEWAY_TRUSTED_IPS: comma-separated IPs and CIDRs. */
export function parseTrustedIps(text: string | undefined): AddressSet | null {
  const entries = (text ?? "").split(",").map((entry) => entry.trim()).filter(Boolean);
  return entries.length ? addressSet(entries) : null;
}

/** The client's address for a request from `peer` carrying `forwardedFor` (X-Forwarded-For). */
export function clientAddress(peer: string, forwardedFor: string | null, trusted: AddressSet | null): string {
  if (!trusted || forwardedFor === null || !trusted.has(peer)) return peer;
  const hops = forwardedFor.split(",");
  let client = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!.trim();
    // A malformed hop ends the walk: nothing left of it can be believed.
    if (plainIpv4(hop) < 0 && addressBits(hop) === null) return client;
    client = hop;
    if (!trusted.has(hop)) return hop;
  }
  return client;
}
