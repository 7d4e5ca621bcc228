// What consistent-hashing hashes for one request, as Kong reads it: the consumer (or, without
// one, the credential), the client IP, a header, a cookie, the path, a query argument or a
// capture of the route's regex path. hash_fallback is used when hash_on gives nothing.
import type { Route } from "../entities/route.ts";
import type { Upstream } from "../entities/upstream.ts";

/** The header reads of hashing (a Fetch Headers, or the raw engine's parsed head). */
export interface HashHeaders {
  get(name: string): string | null;
}

export interface HashInput {
  readonly headers: HashHeaders;
  readonly clientIp: string;
  readonly consumerId: string | null;
  /** The request path, canonical, before strip_path. */
  readonly path: string;
  /** `?...` or "". */
  readonly search: string;
  readonly route: Route;
}

const captures = new WeakMap<Route, RegExp[]>();

function captureOf(route: Route, path: string, name: string): string | null {
  let regexes = captures.get(route);
  if (!regexes) captures.set(route, (regexes = (route.paths ?? []).filter((p) => p.startsWith("~")).map((p) => new RegExp(`^(?:${p.slice(1)})`))));
  for (const regex of regexes) {
    const value = regex.exec(path)?.groups?.[name];
    if (value !== undefined) return value;
  }
  return null;
}

function cookieOf(headers: HashHeaders, name: string): string | null {
  const header = headers.get("cookie");
  if (header === null) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

function valueOf(upstream: Upstream, on: string, fallback: boolean, input: HashInput): string | null {
  switch (on) {
    case "consumer":
      return input.consumerId;
    case "ip":
      return input.clientIp || null;
    case "header":
      return input.headers.get((fallback ? upstream.hash_fallback_header : upstream.hash_on_header) ?? "");
    case "cookie":
      return cookieOf(input.headers, upstream.hash_on_cookie ?? "");
    case "path":
      return input.path;
    case "query_arg":
      return input.search ? new URLSearchParams(input.search).get((fallback ? upstream.hash_fallback_query_arg : upstream.hash_on_query_arg) ?? "") || null : null;
    case "uri_capture":
      return captureOf(input.route, input.path, (fallback ? upstream.hash_fallback_uri_capture : upstream.hash_on_uri_capture) ?? "");
    default:
      return null;
  }
}

/** The hash input of a request, or null (spread round-robin). */
export function hashKey(upstream: Upstream, input: HashInput): string | null {
  return valueOf(upstream, upstream.hash_on, false, input) ?? (upstream.hash_fallback === "none" ? null : valueOf(upstream, upstream.hash_fallback, true, input));
}
