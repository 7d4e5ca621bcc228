// The token of an `Authorization: Bearer <token>` value (RFC 6750 §2.1), one rule for the jwt
// plugin and the admin API (SPEC §5.1): `^\s*bearer\s+(\S+)\s*$`, case-insensitive and
// anchored, unlike Kong's `\s*[Bb]earer\s+(.+)` anywhere.

/**
 * The scheme, matched where the value starts; the rest is the token once its trailing
 * whitespace is gone (trimEnd strips exactly what `\s` matches) if none is left inside. One
 * expression with a capture costs twice as much over a token's length.
 */
const BEARER_SCHEME = /\s*bearer\s+/iy;
const WHITESPACE = /\s/;

/** The token of an Authorization value, or null when the value is not `Bearer <token>`. */
export function bearerToken(value: string): string | null {
  BEARER_SCHEME.lastIndex = 0;
  if (!BEARER_SCHEME.test(value)) return null;
  const token = value.slice(BEARER_SCHEME.lastIndex).trimEnd();
  return token === "" || WHITESPACE.test(token) ? null : token;
}

const SCHEME_ONLY = /^\s*bearer(?:\s|$)/i;

/** Whether a value names the Bearer scheme, token or not (`Bearer`, `Bearer a b`). */
export function hasBearerScheme(value: string): boolean {
  return SCHEME_ONLY.test(value);
}
