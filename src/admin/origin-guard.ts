// Browser protection of an admin API without a token. Open to anything that can reach the
// listener, it would also be open to every web page the operator visits: a page can POST a
// form to http://127.0.0.1:8001/consumers (cross-site request forgery), or rebind its own
// name to 127.0.0.1 and then read and write as the same origin (DNS rebinding). So:
//  - the Host must be a loopback name (a rebound name is not), or the name the listener is bound to;
//  - a request that says it comes from a page (Origin, Sec-Fetch-Site) must come from this
//    listener's own pages, the Swagger UI at /docs.
// Clients that are not browsers (curl, the CLI) send neither header and pass. With a token the
// guard is off: a page cannot send the bearer token cross-site, so the token protects.
import { ForbiddenError } from "../errors.ts";
import { isPublicPath } from "./auth.ts";
import type { RequestHost } from "./host.ts";

const IPV4_LOOPBACK = /^127\.\d+\.\d+\.\d+$/;
const ENABLE_REMOTE = "start the gateway with --admin-token to reach the admin API from elsewhere";

/** localhost and *.localhost (RFC 6761 §6.3: always loopback; browsers never ask DNS for them), 127.0.0.0/8, [::1]. */
function isLoopbackHostname(hostname: string): boolean {
  const name = hostname.endsWith(".") ? hostname.slice(0, -1) : hostname;
  return name === "localhost" || name.endsWith(".localhost") || IPV4_LOOPBACK.test(name) || name === "[::1]";
}

/** `Sec-Fetch-Site` values of a request this listener's own page, or the user, made. */
const OWN_FETCH_SITES = new Set(["same-origin", "none"]);

const crossSite = (which: string) =>
  new ForbiddenError(`Forbidden: a request from another site's web page (${which}); without an admin token the admin API takes browser requests only from its own pages at /docs (a defence against cross-site request forgery): ${ENABLE_REMOTE}`);

type OriginGuard = (request: Request, host: RequestHost, path: string) => void;

/**
 * Returns a check that throws ForbiddenError for a request a browser may have sent on another
 * site's behalf. `boundHostname` is the listener's address as Bun.serve was given it. The
 * documentation stays open to any Host and any page: it holds no state.
 */
export function originGuard(adminToken: string | undefined, boundHostname: string | undefined): OriginGuard {
  if (adminToken) return () => {};
  const bound = boundHostname === undefined ? undefined : new URL(`http://${boundHostname.includes(":") ? `[${boundHostname}]` : boundHostname}/`).hostname;
  return (request, host, path) => {
    if (isPublicPath(path)) return;
    if (!isLoopbackHostname(host.hostname) && host.hostname !== bound) {
      throw new ForbiddenError(
        `Forbidden: Host '${host.host}' is not a loopback name; without an admin token the admin API answers only requests to localhost, 127.0.0.1 or [::1] (a defence against DNS rebinding): ${ENABLE_REMOTE}`,
      );
    }
    // Browsers serialise an Origin as the URL parser does a host: lower-case, no default port.
    // `Origin: null` (a sandboxed or file: page) is never this listener's.
    const own = `http://${host.host}`;
    const origin = request.headers.get("origin");
    if (origin !== null && origin !== own) throw crossSite(`its Origin is not ${own}`);
    const site = request.headers.get("sec-fetch-site");
    if (site !== null && !OWN_FETCH_SITES.has(site)) throw crossSite("its Sec-Fetch-Site is not same-origin");
  };
}
