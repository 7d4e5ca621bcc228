// The client address behind trusted proxies, and the IP/CIDR sets ip-restriction matches on.
import { describe, expect, test } from "bun:test";
import { addressSet, clientAddress, invalidAddressEntry, parseTrustedIps } from "./client-address.ts";

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
