// The name a JSON object key answers to in readers that match keys to fields case-insensitively:
// Go's encoding/json (an exact match preferred, else bytes.EqualFold: simple Unicode case
// folding, so `IS_ADMIN`, `iſ_admin` with U+017F and a Kelvin sign for k all fill `is_admin`) and
// ASP.NET Core's System.Text.Json web defaults (OrdinalIgnoreCase: simple upper case mapping
// except for ı and ſ, which pairs no two names that simple folding keeps apart).

/**
 * The simple folds JavaScript's case mappings do not give: ı has an upper case (I) but no fold,
 * and Unicode 16 folds these three onto another letter neither of them maps to.
 */
const UNMAPPED_FOLDS = new Map([
  [0x131, "\u0131"],
  [0x1fd3, "\u0390"],
  [0x1fe3, "\u03b0"],
  [0xfb05, "\ufb06"],
]);

const ASCII = /^[\0-\x7f]*$/;

/** `mapped` when it is one code point (a simple mapping), else `char` (a full mapping such as ß → SS is no fold). */
function simple(mapped: string, char: string): string {
  return mapped.length === (mapped.codePointAt(0)! > 0xffff ? 2 : 1) ? mapped : char;
}

/**
 * One code point of each simple fold orbit, the same for all of them: the lower case of the upper
 * case. Go picks the orbit's smallest code point instead, which the case mappings cannot find from
 * every member (ι reaches Ι but not U+0345, whose upper case is Ι too).
 */
function foldedChar(char: string): string {
  const unmapped = UNMAPPED_FOLDS.get(char.codePointAt(0)!);
  if (unmapped !== undefined) return unmapped;
  const upper = simple(char.toUpperCase(), char);
  return simple(upper.toLowerCase(), upper);
}

/** The same text for two names exactly when they are equal under simple case folding (Go's bytes.EqualFold). */
export function foldedName(name: string): string {
  if (ASCII.test(name)) return name.toLowerCase();
  let folded = "";
  for (const char of name) folded += foldedChar(char);
  return folded;
}
