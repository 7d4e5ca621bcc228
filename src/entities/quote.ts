// How a value someone sent appears inside an error message or a `fields` name: a short prefix
// and its size, never the whole of it. A 12 MB username or a 1 MB field name must cost a few
// bytes in an answer or a log line, not another copy of the request.

/** Characters of a value shown before it is cut. */
export const SHOWN_PREFIX = 64;

const CONTROL = /[\u0000-\u001f\u007f]/g;
// A key pasted into the wrong field: even its first bytes are secret (a SEC1 EC key's start 7 bytes in).
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY/;

/** `text` itself when short, else its first `max` characters and `…(N bytes)`; control characters escaped. */
export function clip(text: string, max = SHOWN_PREFIX): string {
  // Measured on a slice: a long text is cut without scanning (or copying) all of it.
  const head = text.length > max ? Array.from(text.slice(0, max * 2)).slice(0, max).join("") : text;
  if (PRIVATE_KEY.test(head)) return `(a PEM private key, not shown: ${Buffer.byteLength(text)} bytes)`;
  const shown = head.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return head.length < text.length ? `${shown}…(${Buffer.byteLength(text)} bytes)` : shown;
}

/** A value in single quotes, clipped: `'alice'`, `'xxxx…(12582912 bytes)'`. */
export function quote(value: unknown): string {
  return `'${clip(typeof value === "string" ? value : (JSON.stringify(value) ?? String(value)))}'`;
}

/** A message made elsewhere (a plugin's reason, a parser's error): each quoted part clipped, then the whole. */
export function clipQuoted(text: string, max = 256): string {
  const parts = text.replace(/'([^']*)'|"([^"]*)"/g, (_, single: string | undefined, double: string | undefined) =>
    single !== undefined ? `'${clip(single)}'` : `"${clip(double!)}"`,
  );
  return clip(parts, max);
}
