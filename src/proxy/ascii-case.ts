// Header names compared where they lie in a head's text, without a lower-cased copy of each:
// the upstream response head is read on every request, and a slice and toLowerCase per name
// cost more than the rest of its parsing. Only ASCII letters fold, as the names compared with
// are ASCII: toLowerCase folds other latin1 letters too, but never onto an ASCII one.

/** Whether text[start, end) is `lower` (a lower-case ASCII name) in any case. */
export function isNamed(text: string, start: number, end: number, lower: string): boolean {
  if (end - start !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    const code = text.charCodeAt(start + i);
    if ((code >= 65 && code <= 90 ? code + 32 : code) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** Lower-case ASCII names grouped by length, for `nameAmong`. */
export type NamesByLength = ReadonlyMap<number, readonly string[]>;

export function namesByLength(names: Iterable<string>): NamesByLength {
  const byLength = new Map<number, string[]>();
  for (const name of names) byLength.set(name.length, [...(byLength.get(name.length) ?? []), name]);
  return byLength;
}

/** The name of `names` that text[start, end) is in any case, or null. */
export function nameAmong(text: string, start: number, end: number, names: NamesByLength): string | null {
  const candidates = names.get(end - start);
  if (candidates === undefined) return null;
  for (const name of candidates) if (isNamed(text, start, end, name)) return name;
  return null;
}
