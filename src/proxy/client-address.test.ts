// The client address behind trusted proxies, and the IP/CIDR sets ip-restriction matches on.
import { describe, expect, test } from "bun:test";
import { isIPv4 } from "node:net";
import { seededRandom } from "../../plugins/jwt/fuzz-corpus.ts";
import { addressBits, addressGroup, addressSet, clientAddress, invalidAddressEntry, parseTrustedIps } from "./client-address.ts";

describe("addressSet", () => {
  const cases: [string[], string, boolean][] = [
    [["10.0.0.1"], "10.0.0.1", true],
    [["10.0.0.1"], "10.0.0.2", false],
    [["10.0.0.0/8"], "10.255.1.2", true],
    [["10.0.0.0/8"], "11.0.0.1", false],
    [["0.0.0.0/0"], "203.0.113.9", true],
    [["0.0.0.0/0"], "2001:db8::1", false],
    [["10.0.0.0/8"], "::ffff:10.1.2.3", true],
    [["2001:db8::/32"], "2001:db8:1::5", true],
    [["2001:db8::/32"], "2001:db9::5", false],
    [["::1"], "::1", true],
    [["::1"], "0:0:0:0:0:0:0:1", true],
    [["::/0"], "10.0.0.1", true],
    [["192.168.1.0/24", "::1"], "192.168.1.77", true],
    [["10.0.0.1"], "not-an-ip", false],
  ];
  for (const [entries, address, expected] of cases) {
    test(`${entries.join(",")} ${expected ? "has" : "does not have"} ${address}`, () => {
      expect(addressSet(entries).has(address)).toBe(expected);
    });
  }
  test("invalid entries are named", () => {
    for (const entry of ["10.0.0.256", "10.0.0.0/33", "::1/129", "host.example", "10.0.0.0/x"]) expect(invalidAddressEntry(entry)).toBe(`invalid ip or cidr range: '${entry}'`);
    expect(invalidAddressEntry("10.0.0.0/8")).toBeNull();
  });

  test("plain IPv4 addresses get the 128-bit reading's answer (200,000 generated sets and addresses)", () => {
    // The rule written plainly: both sides as 128 bits, IPv4 mapped, compared above the prefix.
    const covers = (entry: string, address: string): boolean => {
      const [text, prefixText] = entry.split("/") as [string, string | undefined];
      const max = isIPv4(text) ? 32 : 128;
      const shift = BigInt(max - (prefixText === undefined ? max : Number(prefixText)));
      const bits = addressBits(address);
      return bits !== null && bits >> shift === addressBits(text)! >> shift;
    };
    const random = seededRandom(20261203);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const octets = ["0", "1", "9", "10", "127", "128", "168", "192", "255", "256", "01", "00", "1000", "", "-1", "1e1", " 1"];
    const ipv4 = (odd: boolean) => Array.from({ length: odd && random() < 0.1 ? pick([3, 5]) : 4 }, () => (odd ? pick(octets) : pick(octets.slice(0, 9)))).join(".");
    const ipv6 = () => pick(["::1", "::", "::ffff:", "::ffff:0:", "fe80::1%eth0", "2001:db8::", "::ffff:7f00:1", "0:0:0:0:0:ffff:a00:1"]);
    const address = () => {
      const roll = random();
      if (roll < 0.6) return ipv4(false);
      if (roll < 0.8) return ipv4(true);
      if (roll < 0.9) return `::ffff:${ipv4(false)}`;
      return pick([ipv6(), `[${ipv4(false)}]`, ` ${ipv4(false)}`, `${ipv4(false)} `, "localhost", `::fffe:${ipv4(false)}`, `::FFFF:${ipv4(false)}`, `64:ff9b::${ipv4(false)}`, `::ffff:${ipv4(true)}`]);
    };
    const entry = () => {
      const roll = random();
      if (roll < 0.7) return random() < 0.3 ? ipv4(false) : `${ipv4(false)}/${Math.floor(random() * 33)}`;
      if (roll < 0.85) return `::ffff:${ipv4(false)}/${96 + Math.floor(random() * 33)}`;
      return pick(["::/0", "::ffff:0:0/96", "::ffff:0:0/95", "::/1", "8000::/1", "::1", "2001:db8::/32", "::ffff:7f00:0/104", "0.0.0.0/0"]);
    };
    let held = 0;
    for (let i = 0; i < 200_000; i++) {
      const entries = Array.from({ length: 1 + Math.floor(random() * 3) }, entry).filter((each) => invalidAddressEntry(each) === null);
      const candidate = address();
      const expected = entries.some((each) => covers(each, candidate));
      if (addressSet(entries).has(candidate) !== expected) throw new Error(`${JSON.stringify(entries)} ${candidate}: expected ${expected}`);
      if (expected) held++;
    }
    expect(held).toBeGreaterThan(30_000);
  });
});

describe("addressGroup: an IPv4 address, or an IPv6 address's /64", () => {
  test.each([
    ["203.0.113.7", "203.0.113.7"],
    ["::ffff:203.0.113.7", "203.0.113.7"],
    ["::ffff:cb00:7107", "203.0.113.7"],
    ["[2001:db8:1:2::9]", "20010db800010002::/64"],
    ["2001:db8:1:2::9", "20010db800010002::/64"],
    ["2001:db8:1:2:ffff:ffff:ffff:ffff", "20010db800010002::/64"],
    ["2001:0db8:0001:0002:0:0:0:1", "20010db800010002::/64"],
    ["2001:db8:1:3::9", "20010db800010003::/64"],
    ["::1", "0::/64"],
    ["not an address", "not an address"],
  ])("%s → %s", (address, group) => {
    expect(addressGroup(address)).toBe(group);
  });
});

describe("clientAddress: the rightmost untrusted X-Forwarded-For hop, only from a trusted peer", () => {
  const trusted = parseTrustedIps("127.0.0.1, 10.0.0.0/8, fd00::/8");
  const cases: [string, string, string | null, string][] = [
    ["no trusted IPs configured: the peer", "127.0.0.1", "203.0.113.1", "203.0.113.1"],
    ["untrusted peer: its X-Forwarded-For is ignored", "198.51.100.7", "203.0.113.1", "198.51.100.7"],
    ["trusted peer, no header: the peer", "127.0.0.1", null, "127.0.0.1"],
    ["trusted peer: the hop it names", "127.0.0.1", "203.0.113.1", "203.0.113.1"],
    ["trusted hops skipped from the right", "127.0.0.1", "203.0.113.1, 10.1.1.1, 10.2.2.2", "203.0.113.1"],
    ["a spoofed left part is not believed", "127.0.0.1", "1.1.1.1, 203.0.113.1, 10.1.1.1", "203.0.113.1"],
    ["all hops trusted: the leftmost", "127.0.0.1", "10.1.1.1, 10.2.2.2", "10.1.1.1"],
    ["a malformed hop ends the walk at the last good one", "127.0.0.1", "203.0.113.1, junk, 10.1.1.1", "10.1.1.1"],
    ["IPv6", "fd00::1", "2001:db8::7", "2001:db8::7"],
  ];
  for (const [name, peer, forwardedFor, expected] of cases) {
    test(name, () => {
      expect(clientAddress(peer, forwardedFor, name.startsWith("no trusted") ? null : trusted)).toBe(name.startsWith("no trusted") ? peer : expected);
    });
  }
  test("parseTrustedIps: empty means none; a bad entry throws", () => {
    expect(parseTrustedIps("")).toBeNull();
    expect(parseTrustedIps(undefined)).toBeNull();
    expect(() => parseTrustedIps("10.0.0.1,nope")).toThrow("invalid ip or cidr range: 'nope'");
  });
});
