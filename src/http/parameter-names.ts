// The names upstream frameworks give a query parameter, form field or cookie besides its plain
// text, so that a name the gateway guards (a token's, a field request-transformer removes) is
// recognised in every spelling an upstream reads as it: PHP folds characters and reads
// `name[...]` as `name`, and qs (Express's default parser) and Rack 2 drop leading brackets.

/**
 * PHP's name for a decoded one (php_register_variable_ex): cut at a NUL (a C string), leading
 * spaces dropped, `.` and ` ` turned into `_`; a `[` with no `]` after it is `_` too, one with a
 * `]` opens an array under the name before it.
 */
export function phpName(name: string): string {
  const nul = name.indexOf("\0");
  let read = (nul >= 0 ? name.slice(0, nul) : name).replace(/^ +/, "");
  const open = read.indexOf("[");
  if (open >= 0) read = read.indexOf("]", open) < 0 ? `${read.slice(0, open)}_${read.slice(open + 1)}` : read.slice(0, open);
  return read.replace(/[. ]/g, "_");
}

/** qs's and Rack 2's name for a decoded one that starts with a bracket (`[jwt]`, `]jwt`, `[jwt]x`): leading brackets dropped, cut at the next; else null. */
export function bracketName(name: string): string | null {
  const first = name.charCodeAt(0);
  if (first !== 0x5b /* [ */ && first !== 0x5d /* ] */) return null;
  return /^[[\]]*([^[\]]*)/.exec(name)![1]!;
}

const READ_ANOTHER_WAY = /[\0 .[\]]/;

/** Every name readers give a decoded name: itself, PHP's and (for a leading bracket) qs's. */
export function readerNames(name: string): string[] {
  if (!READ_ANOTHER_WAY.test(name)) return [name];
  const names = [name, phpName(name)];
  const bracketed = bracketName(name);
  if (bracketed !== null) names.push(bracketed);
  return names;
}
