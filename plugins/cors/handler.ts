// The cors plugin: Kong 3.x's preflight answer (200, before authentication since cors runs at
// priority 2000) and the headers it adds to every other response. Origins are matched as Kong
// does: `*` (or none) allows all; an entry with a character outside [A-Za-z0-9.:/-] is a regex
// anchored at both ends; any other entry is an exact origin with default ports dropped.
import type { AccessResult, PluginInstance, RequestContext } from "../../src/pipeline/contract.ts";
import type { CorsConfig } from "./schema.ts";

const MAYBE_REGEX = /[^A-Za-z0-9.:/-]/;

/** Kong's normalize_origin: scheme://host[:port] with :80 on http and :443 on https dropped. */
export function normalizeOrigin(origin: string): string {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/:?#]+)(?::(\d+))?/.exec(origin);
  if (!match) return origin;
  const [, scheme, host, port] = match;
  const lower = scheme!.toLowerCase();
  const keepPort = port !== undefined && !((lower === "http" && port === "80") || (lower === "https" && port === "443"));
  return `${scheme}://${host}${keepPort ? `:${port}` : ""}`;
}

type OriginMatcher = (normalized: string) => boolean;

function matcherOf(entry: string): OriginMatcher {
  if (MAYBE_REGEX.test(entry)) {
    let regex: RegExp;
    try {
      regex = new RegExp(`^(?:${entry})$`);
    } catch {
      return () => false;
    }
    return (normalized) => regex.test(normalized);
  }
  const exact = normalizeOrigin(entry);
  return (normalized) => normalized === exact;
}

function addVaryOrigin(headers: Headers): void {
  const vary = headers.get("vary");
  if (vary === null) headers.set("vary", "Origin");
  else if (!/(^|,)\s*(origin|\*)\s*(,|$)/i.test(vary)) headers.set("vary", `${vary}, Origin`);
}

const isPreflight = (ctx: RequestContext) =>
  ctx.method === "OPTIONS" && ctx.upstreamHeaders.has("origin") && ctx.upstreamHeaders.has("access-control-request-method");

export function createCorsInstance(config: CorsConfig): PluginInstance {
  const origins = config.origins ?? [];
  const allowAll = origins.length === 0 || (origins.length === 1 && origins[0] === "*");
  const matchers = allowAll ? [] : origins.map(matcherOf);
  const methods = config.methods.join(",");
  const allowHeaders = config.headers?.length ? config.headers.join(",") : null;
  const exposed = config.exposed_headers?.length ? config.exposed_headers.join(",") : null;
  const maxAge = config.max_age === null ? null : String(config.max_age);

  /** Kong's configure_origin and configure_credentials on `headers`, for this request's Origin. */
  function setOrigin(origin: string | null, headers: Headers): void {
    if (allowAll) {
      headers.set("access-control-allow-origin", "*");
      // Credentials cannot go with `*`: Kong echoes the request's origin then.
      if (config.credentials && origin !== null) {
        headers.set("access-control-allow-origin", origin);
        headers.set("access-control-allow-credentials", "true");
        addVaryOrigin(headers);
      }
      return;
    }
    addVaryOrigin(headers);
    const normalized = origin === null ? null : normalizeOrigin(origin);
    if (normalized !== null && matchers.some((matches) => matches(normalized))) headers.set("access-control-allow-origin", normalized);
    else headers.delete("access-control-allow-origin");
    if (config.credentials) headers.set("access-control-allow-credentials", "true");
  }

  return {
    access(ctx: RequestContext): AccessResult {
      if (config.preflight_continue || !isPreflight(ctx)) return undefined;
      const asked = ctx.upstreamHeaders;
      const headers = new Headers();
      setOrigin(asked.get("origin"), headers);
      const requested = asked.get("access-control-request-headers");
      if (allowHeaders !== null) headers.set("access-control-allow-headers", allowHeaders);
      else if (requested !== null) headers.set("access-control-allow-headers", requested);
      headers.set("access-control-allow-methods", methods);
      if (maxAge !== null) headers.set("access-control-max-age", maxAge);
      if (config.private_network && asked.get("access-control-request-private-network") === "true") {
        headers.set("access-control-allow-private-network", "true");
      }
      return new Response(null, { status: 200, headers });
    },
    response(ctx: RequestContext, response: Response): Response {
      // A preflight passed on (preflight_continue) is the upstream's to answer.
      if (isPreflight(ctx)) return response;
      const headers = response.headers;
      setOrigin(ctx.upstreamHeaders.get("origin"), headers);
      if (exposed !== null) headers.set("access-control-expose-headers", exposed);
      return response;
    },
  };
}
