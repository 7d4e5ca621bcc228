// The duration syntaxes of the CLI: sign's (--exp/--nbf) and Go's (EdgeX --expiration).
import { describe, expect, test } from "bun:test";
import { formatSeconds, parseDuration, parseGoDuration } from "../src/cli/durations.ts";

describe("sign --exp/--nbf durations", () => {
  test.each([
    ["3600", 3600],
    ["0", 0],
    ["30s", 30],
    ["10m", 600],
    ["1h", 3600],
    ["7d", 604800],
    ["1h30m", 5400],
    ["1.5h", 5400],
    ["-5m", -300],
  ])("%s → %d s", (text, seconds) => expect(parseDuration(text, "--exp")).toBe(seconds));

  test.each(["", "10x", "h", "1h 30m", "1e3", "5 m", "--1h"])("'%s' is a usage error naming the flag", (text) => {
    expect(() => parseDuration(text, "--exp")).toThrow(`--exp: expected a duration such as 30s, 10m, 1h, 7d or seconds (3600), got '${text}'`);
  });
});

describe("Go durations (EdgeX --expiration)", () => {
  test.each([
    ["1h", 3600],
    ["90m", 5400],
    ["1h30m", 5400],
    ["2h45m30s", 9930],
    ["1.5h", 5400],
    ["1500ms", 1],
    ["0", 0],
  ])("%s → %d s", (text, seconds) => expect(parseGoDuration(text, "--expiration")).toBe(seconds));

  test.each(["3600", "1d", "1w", "", "1h-"])("'%s' is not Go syntax", (text) => {
    expect(() => parseGoDuration(text, "--expiration")).toThrow("--expiration: expected a Go duration");
  });
});

test("formatSeconds shows the two largest units", () => {
  expect([formatSeconds(0), formatSeconds(59), formatSeconds(3599), formatSeconds(86400 + 7200 + 5)]).toEqual(["0s", "59s", "59m 59s", "1d 2h"]);
});
