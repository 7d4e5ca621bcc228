import { describe, expect, test } from "bun:test";
import { seededRandom } from "../../plugins/jwt/fuzz-corpus.ts";
import { bearerToken } from "./bearer.ts";

/** The rule as SPEC §5.1 writes it. */
const SPEC_RULE = /^\s*bearer\s+(\S+)\s*$/i;
const byRule = (value: string): string | null => SPEC_RULE.exec(value)?.[1] ?? null;

describe("bearerToken", () => {
  test.each([
    ["Bearer abc", "abc"],
    ["bEaReR abc", "abc"],
    ["  Bearer \t abc \t ", "abc"],
    ["Bearer\u00a0abc\u00a0", "abc"],
    ["Bearer abc def", null],
    ["Bearer abc\u00a0def", null],
    ["Bearer ", null],
    ["Bearer", null],
    ["Bearerabc", null],
    ["Basic abc", null],
    ["x Bearer abc", null],
    ["", null],
  ])("%j → %j", (value, token) => {
    expect(bearerToken(value)).toBe(token);
    expect(byRule(value)).toBe(token);
  });

  test("agrees with the SPEC's expression on 200,000 generated values", () => {
    const random = seededRandom(20261203);
    // Whitespace of every kind \s knows, including the ones beyond latin1, and its near misses.
    const pieces = [" ", "\t", "\n", "\r", "\v", "\f", "\u00a0", "\u0085", "\u1680", "\u2000", "\u2028", "\u3000", "\ufeff", "\u200b", "bearer", "BEARER", "Bearer", "beare", "b", "a", "eyJ", ".", "-", "_", "=", ",", "\0", "\u00ff"];
    let tokens = 0;
    for (let i = 0; i < 200_000; i++) {
      // Half of them start with the scheme, so that a good share are tokens.
      let value = random() < 0.5 ? pieces[Math.floor(random() * 3)]! + pieces[14 + Math.floor(random() * 3)]! + pieces[Math.floor(random() * 13)]! : "";
      const length = Math.floor(random() * 8);
      for (let j = 0; j < length; j++) value += pieces[Math.floor(random() * pieces.length)];
      const token = byRule(value);
      expect(bearerToken(value)).toBe(token);
      if (token !== null) tokens++;
    }
    expect(tokens).toBeGreaterThan(20_000);
  });
});
