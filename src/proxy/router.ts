// Compiles routes into lookup tables once per state change. A request checks prefixes by
// descending length through a hash map (one probe per distinct prefix length), then regex
// routes by regex_priority, then routes without paths; it never scans every route.
//
// Precedence, where SPEC §4.1 leaves room (see README "Route matching"): the longest matching
// prefix wins; then regex paths by regex_priority (higher first); then routes with no paths.
// Among equals, an exact host beats a wildcard host beats no host, more header conditions beat
// fewer, a method restriction beats none, and the older route wins. Route `headers` match as in
// Kong 3: names case-insensitive, every named header present with one of its listed values
// (compared case-insensitively, or a lone `~*` regex), a repeated header matching by any value.
import type { Balancer } from "../balancer/balancer.ts";
import type { Route } from "../entities/route.ts";
import type { Service } from "../entities/service.ts";
import type { Chain } from "../pipeline/chains.ts";
import type { UpstreamTls } from "../state/upstream-tls.ts";
import type { CanonicalHost } from "./canonical-host.ts";
import type { UpstreamEndpoint } from "./upstream/client.ts";

export interface RouteTarget {
  readonly route: Route;
  readonly service: Service;
  readonly chain: Chain;
  /** `protocol://host:port` of the service, precomputed. */
  readonly origin: string;
  /** The service's path as Kong's path joining takes it: "/" when none. */
  readonly upstreamBase: string;
  /** Host header to send upstream when not preserving the client's. */
  readonly upstreamHost: string;
  /** Where the gateway's own HTTP/1.1 client connects; null for https services (fetch). */
  readonly endpoint: UpstreamEndpoint | null;
  /** fetch's `tls` option for an https service (verification, trust store); null for http. */
  readonly tls: UpstreamTls | null;
  /** The upstream the service's host names: each request picks one of its targets. */
  readonly balancer: Balancer | null;
  /** The route's protocols leave out http: a plain-HTTP request gets 426 or a redirect. */
  readonly httpsOnly: boolean;
}

interface Candidate {
  readonly target: RouteTarget;
  readonly hosts: HostMatcher | null;
  readonly headers: HeaderCondition[] | null;
  readonly methods: ReadonlySet<string> | null;
  readonly order: number;
  readonly specificity: number;
}

interface RegexCandidate extends Candidate {
  readonly regex: RegExp;
  readonly priority: number;
}

export interface RouteMatch {
  readonly target: RouteTarget;
  /** The part of the path the route matched (stripped when strip_path). */
  readonly matched: string;
}

/** The header reads of route matching (a Fetch Headers, or the raw engine's parsed head). */
export interface HeaderLookup {
  get(name: string): string | null;
}

export interface Router {
  /** `path` is canonical (./canonical-path.ts), as is `host`; `headers` are read only by routes with header conditions. */
  match(method: string, host: CanonicalHost, path: string, headers: HeaderLookup): RouteMatch | null;
  readonly size: number;
}

class HostMatcher {
  private readonly exact = new Set<string>();
  private readonly suffixes: string[] = [];
  private readonly prefixes: string[] = [];
  readonly hasExact: boolean;

  constructor(configured: readonly string[]) {
    // Compared with canonical request hosts: lower case, no trailing dot.
    for (const host of configured.map((h) => h.toLowerCase().replace(/\.$/, ""))) {
      if (host.startsWith("*.")) this.suffixes.push(host.slice(1));
      else if (host.endsWith(".*")) this.prefixes.push(host.slice(0, -1));
      else this.exact.add(host);
    }
    this.hasExact = this.exact.size > 0;
  }

  /** `host` is canonical without port; `hostWithPort` with the port the client gave. */
  matches(host: string, hostWithPort: string): boolean {
    if (this.exact.has(host) || this.exact.has(hostWithPort)) return true;
    for (const suffix of this.suffixes) if (host.endsWith(suffix) && host.length > suffix.length) return true;
    for (const prefix of this.prefixes) if (host.startsWith(prefix) && host.length > prefix.length) return true;
    return false;
  }
}

/**
 * One header a route requires, as Kong's routers read it: the request's value lower-cased is
 * one of the listed values (lower-cased), or, when exactly one value is listed and it starts
 * with `~*`, matches the regex after it (tested on the lower-cased value, so a lower-case
 * pattern matches whatever the case).
 */
class HeaderCondition {
  private readonly values: ReadonlySet<string>;
  private readonly regex: RegExp | null;

  constructor(
    readonly name: string,
    configured: readonly string[],
  ) {
    this.values = new Set(configured.map((value) => value.toLowerCase()));
    const only = configured.length === 1 ? configured[0]! : "";
    this.regex = only.startsWith("~*") ? new RegExp(only.slice(2)) : null;
  }

  matches(headers: HeaderLookup): boolean {
    const received = headers.get(this.name);
    if (received === null) return false;
    if (this.accepts(received)) return true;
    // A header sent more than once arrives joined with ", ": any one of its values may match.
    return received.includes(",") && received.split(",").some((value) => this.accepts(value.trim()));
  }

  private accepts(value: string): boolean {
    const lower = value.toLowerCase();
    return this.values.has(lower) || (this.regex !== null && this.regex.test(lower));
  }
}

function specificityOf(route: Route, hosts: HostMatcher | null): number {
  const hostScore = hosts ? (hosts.hasExact ? 2 : 1) : 0;
  const headerCount = Math.min(Object.keys(route.headers ?? {}).length, 31);
  return hostScore * 64 + headerCount * 2 + (route.methods ? 1 : 0);
}

function bySpecificity(a: Candidate, b: Candidate): number {
  return b.specificity - a.specificity || a.order - b.order;
}

function accepts(candidate: Candidate, method: string, host: string, hostWithPort: string, headers: HeaderLookup): boolean {
  if (candidate.methods && !candidate.methods.has(method)) return false;
  if (candidate.hosts && !candidate.hosts.matches(host, hostWithPort)) return false;
  if (candidate.headers) for (const condition of candidate.headers) if (!condition.matches(headers)) return false;
  return true;
}

export function compileRouter(
  routes: readonly Route[],
  services: ReadonlyMap<string, Service>,
  chains: ReadonlyMap<string, Chain>,
  upstreamTls: ReadonlyMap<string, UpstreamTls>,
  balancers: ReadonlyMap<string, Balancer> = new Map(),
): Router {
  const prefixes = new Map<string, Candidate[]>();
  const regexes: RegexCandidate[] = [];
  const pathless: Candidate[] = [];
  routes.forEach((route, order) => {
    const service = services.get(route.service.id);
    const chain = chains.get(route.id);
    if (!service || !chain) return;
    const host = service.host.includes(":") ? `[${service.host}]` : service.host;
    const defaultPort = (service.protocol === "https" && service.port === 443) || (service.protocol === "http" && service.port === 80);
    const target: RouteTarget = {
      route,
      service,
      chain,
      origin: `${service.protocol}://${host}:${service.port}`,
      upstreamBase: service.path || "/",
      upstreamHost: defaultPort ? host : `${host}:${service.port}`,
      endpoint: service.protocol === "http" ? { key: `${host}:${service.port}`, hostname: service.host, port: service.port } : null,
      tls: upstreamTls.get(service.id) ?? null,
      balancer: balancers.get(service.host.toLowerCase()) ?? null,
      httpsOnly: !route.protocols.includes("http"),
    };
    const hosts = route.hosts ? new HostMatcher(route.hosts) : null;
    const methods = route.methods ? new Set(route.methods) : null;
    const headers = route.headers ? Object.entries(route.headers).map(([name, values]) => new HeaderCondition(name, values)) : null;
    const base = { target, hosts, headers, methods, order, specificity: specificityOf(route, hosts) };
    if (!route.paths) {
      pathless.push(base);
      return;
    }
    for (const path of route.paths) {
      if (path.startsWith("~")) {
        regexes.push({ ...base, regex: new RegExp(`^(?:${path.slice(1)})`), priority: route.regex_priority });
      } else {
        const list = prefixes.get(path);
        if (list) list.push(base);
        else prefixes.set(path, [base]);
      }
    }
  });
  for (const list of prefixes.values()) list.sort(bySpecificity);
  regexes.sort((a, b) => b.priority - a.priority || bySpecificity(a, b));
  pathless.sort(bySpecificity);
  const lengths = [...new Set([...prefixes.keys()].map((p) => p.length))].sort((a, b) => b - a);

  return {
    size: routes.length,
    match(method, canonical, path, headers) {
      const host = canonical.name;
      const hostWithPort = canonical.withPort;
      for (const length of lengths) {
        if (length > path.length) continue;
        const list = prefixes.get(path.slice(0, length));
        if (!list) continue;
        for (const candidate of list) {
          if (accepts(candidate, method, host, hostWithPort, headers)) return { target: candidate.target, matched: path.slice(0, length) };
        }
      }
      for (const candidate of regexes) {
        if (!accepts(candidate, method, host, hostWithPort, headers)) continue;
        const found = candidate.regex.exec(path);
        if (found) return { target: candidate.target, matched: found[0] };
      }
      for (const candidate of pathless) {
        if (accepts(candidate, method, host, hostWithPort, headers)) return { target: candidate.target, matched: "" };
      }
      return null;
    },
  };
}
