// Header names compared where they lie in a head's bytes, without a lower-cased string of each:
// the upstream response head is read on every request, and a decoded, lower-cased copy per name
// cost more than the rest of its parsing. Only ASCII letters fold: the names compared with are
// ASCII, and toLowerCase, which folds other latin1 letters too, never folds one onto ASCII.

/** Whether bytes[start, end) is `lower` (a lower-case ASCII name) in any case. */
export function isNamed(bytes: Uint8Array, start: number, end: number, lower: string): boolean {
  if (end - start !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    const code = bytes[start + i]!;
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

/** The name of `names` that bytes[start, end) is in any case, or null. */
export function nameAmong(bytes: Uint8Array, start: number, end: number, names: NamesByLength): string | null {
  const candidates = names.get(end - start);
  if (candidates === undefined) return null;
  for (const name of candidates) if (isNamed(bytes, start, end, name)) return name;
  return null;
}
