// Which request headers of a client end at the gateway. Hop-by-hop headers (RFC 9110 §7.6.1),
// whatever a client's Connection header lists, and every header the gateway itself sets
// upstream: a client must not be able to claim a consumer, a group, an address or a prefix,
// nor to make the gateway delete one of those after a plugin set it. The client's headers are
// cleaned before any plugin runs, so a Connection option can only name the client's own.
import type { HeaderFields } from "../pipeline/contract.ts";
import { HOP_BY_HOP } from "./hop-by-hop.ts";

/**
 * Headers that end at this hop, framing the gateway writes itself, and headers that would make
 * an upstream read another request than the one the gateway routed and authorised: `Forwarded`
 * (RFC 7239, preferred over X-Forwarded-* by Spring and others), method and URL overrides
 * (Symfony, Express method-override, IIS rewrite) and `Proxy` (httpoxy: CGI's HTTP_PROXY).
 */
const NEVER_FORWARDED: ReadonlySet<string> = new Set([
  ...HOP_BY_HOP,
  "forwarded", "proxy", "x-http-method-override", "x-http-method", "x-method-override", "x-original-url", "x-rewrite-url",
]);

/**
 * Headers only the gateway sets upstream, besides the `x-consumer-` and `x-forwarded-`
 * families. `x-forwarded-for` is extended rather than replaced, and `x-request-id` is kept or
 * generated (SPEC §4.2), so neither is dropped here in its own spelling.
 */
const GATEWAY_SET: ReadonlySet<string> = new Set([
  "x-credential-identifier", "x-anonymous-consumer", "x-authenticated-groups", "x-real-ip",
]);
const KEPT_AND_REWRITTEN: ReadonlySet<string> = new Set(["x-forwarded-for", "x-request-id"]);
/** Written by the gateway in their own spelling; only another spelling of them is the client's to lose. */
const FRAMING_AND_HOST: ReadonlySet<string> = new Set(["content-length", "host"]);

/**
 * Names a route's plugins set upstream on their own (e.g. jwt `claims_to_headers`), lower-case
 * and folded as CGI-style servers read them (`ownedHeadersOf`).
 */
export type OwnedHeaders = ReadonlySet<string>;
export const NO_OWNED_HEADERS: OwnedHeaders = new Set();

/** The gateway's own `x-` names (all of them start with x-; a plugin's own need not). */
function gatewayFamily(name: string): boolean {
  return GATEWAY_SET.has(name) || name.startsWith("x-consumer-") || name.startsWith("x-forwarded-");
}

// Characters CGI, WSGI, Rack and PHP fold into `_` when they turn a name into a variable.
const FOLDED = /[^a-z0-9-]/g;
const HAS_FOLDED = /[^a-z0-9-]/;

/**
 * A lower-case name as CGI-style servers read it, in `-` spelling: `x_role`, `x.role` and
 * `x-role` are all HTTP_X_ROLE there.
 */
export function cgiSpelling(name: string): string {
  return HAS_FOLDED.test(name) ? name.replace(FOLDED, "-") : name;
}

/**
 * The owned names in the spelling `isClientOnly` compares: `x_role` is HTTP_X_ROLE to a CGI-style
 * server, so the client's `X-Role` is the plugin's header there and must not reach it either.
 */
export function ownedHeadersOf(names: Iterable<string>): OwnedHeaders {
  const owned = new Set<string>();
  for (const name of names) owned.add(cgiSpelling(name.toLowerCase()));
  return owned.size ? owned : NO_OWNED_HEADERS;
}

/**
 * True for a client header the upstream must not see. Names with other characters than letters,
 * digits and `-` are compared as CGI-style servers read them: `X_Consumer_ID` and
 * `X.Consumer.ID` are HTTP_X_CONSUMER_ID there, the same variable as `X-Consumer-ID`.
 */
export function isClientOnly(name: string, owned: OwnedHeaders): boolean {
  if (NEVER_FORWARDED.has(name)) return true;
  // A plugin's own name (claims_to_headers `role`) is unset when its claim is missing: the client's copy must not stay.
  if (!KEPT_AND_REWRITTEN.has(name) && (owned.has(name) || (name.charCodeAt(0) === 120 /* x */ && gatewayFamily(name)))) return true;
  if (!HAS_FOLDED.test(name)) return false;
  const spelt = cgiSpelling(name);
  return NEVER_FORWARDED.has(spelt) || KEPT_AND_REWRITTEN.has(spelt) || FRAMING_AND_HOST.has(spelt) || owned.has(spelt) || gatewayFamily(spelt);
}

/** The lower-case names a Connection header lists, or null without one. */
export function connectionOptions(connection: string | null): string[] | null {
  if (connection === null) return null;
  const names: string[] = [];
  for (const part of connection.split(",")) {
    const name = part.trim().toLowerCase();
    if (name) names.push(name);
  }
  return names;
}

/**
 * Removes, in place and before any plugin runs, what `isClientOnly` names and whatever the
 * client's Connection header lists.
 */
export function removeClientOnlyHeaders(headers: HeaderFields, owned: OwnedHeaders): void {
  const listed = connectionOptions(headers.get("connection"));
  let doomed: string[] | null = listed;
  for (const name of headers.keys()) if (isClientOnly(name, owned)) (doomed ??= []).push(name);
  if (doomed) for (const name of doomed) headers.delete(name);
}
