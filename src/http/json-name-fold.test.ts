// foldedName against Go's simple fold orbits (unicode.SimpleFold, which bytes.EqualFold and
// encoding/json walk), and against JavaScript's own simple case folding (a /ui regular
// expression, ECMAScript's Canonicalize) on every code point.
import { describe, expect, test } from "bun:test";
import { foldedName } from "./json-name-fold.ts";

describe("foldedName: Go's simple fold orbits", () => {
  test.each([
    ["k, K and the Kelvin sign U+212A", ["k", "K", "\u212a"]],
    ["s, S and long s U+017F", ["s", "S", "\u017f"]],
    ["å, Å and the Angstrom sign U+212B", ["\u00e5", "\u00c5", "\u212b"]],
    ["ß and capital sharp s U+1E9E", ["\u00df", "\u1e9e"]],
    ["σ, final ς and Σ (SimpleFold: Σ → σ → ς → Σ)", ["\u03c3", "\u03c2", "\u03a3"]],
    ["ι, Ι, U+0345 and U+1FBE", ["\u03b9", "\u0399", "\u0345", "\u1fbe"]],
    ["µ (micro sign), μ and Μ", ["\u00b5", "\u03bc", "\u039c"]],
    ["whole names: is_admin, IS_ADMIN, Is_Admin, iſ_admin", ["is_admin", "IS_ADMIN", "Is_Admin", "i\u017f_admin"]],
    ["whole names: api_key with a Kelvin sign", ["api_key", "API_KEY", "api_\u212aey"]],
  ])("one orbit: %s", (_, spellings) => {
    expect(new Set(spellings.map(foldedName)).size).toBe(1);
  });

  test.each([
    ["İ U+0130 is not i or I (its lower case i̇ is a full mapping, it has no fold)", "\u0130", "i"],
    ["ı U+0131 is not i or I (its upper case I is no fold)", "\u0131", "I"],
    ["ß is not ss (a full folding)", "\u00df", "ss"],
    ["ẞ is not SS", "\u1e9e", "SS"],
    ["ﬀ U+FB00 is not ff", "\ufb00", "ff"],
    ["is_admin is not ıs_admin", "is_admin", "\u0131s_admin"],
    ["is_admin is not İs_admin", "is_admin", "\u0130s_admin"],
    ["is_admin is not is-admin (Go's v1 keeps delimiters)", "is_admin", "is-admin"],
  ])("apart: %s", (_, one, other) => {
    expect(foldedName(one)).not.toBe(foldedName(other));
  });
});

const escaped = (char: string) => char.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&");

test("agrees with JavaScript's simple case folding (/ui) on every code point", () => {
  const codes: number[] = [];
  for (let code = 0; code <= 0x10ffff; code++) if (code < 0xd800 || code > 0xdfff) codes.push(code);
  let everyCodePoint = "";
  for (let at = 0; at < codes.length; at += 8192) everyCodePoint += String.fromCodePoint(...codes.slice(at, at + 8192));
  const CASED = /[\p{Changes_When_Casefolded}\p{Changes_When_Casemapped}]/gu;
  // foldedName changes only what the case mappings change (and a few cased letters): the rest stays.
  const uncased = everyCodePoint.replace(CASED, "");
  expect(uncased.toUpperCase() === uncased && uncased.toLowerCase() === uncased).toBe(true);
  const cased = everyCodePoint.match(CASED)!;
  const casedText = cased.join("");
  const hex = (char: string) => char.codePointAt(0)!.toString(16);
  const wrong: string[] = [];
  for (const char of cased) {
    const folded = foldedName(char);
    if (!new RegExp(`^${escaped(char)}$`, "iu").test(folded)) wrong.push(`${hex(char)} folded to ${hex(folded)}, outside its orbit`);
    for (const same of casedText.match(new RegExp(escaped(char), "giu"))!) if (foldedName(same) !== folded) wrong.push(`${hex(char)} and ${hex(same)} fold apart`);
  }
  expect(wrong).toEqual([]);
  expect(cased.length).toBeGreaterThan(2800);
});
