// request-termination: answers in the access phase with a fixed status and body (or an echo of
// the request), for every request or only those carrying the `trigger` header or query argument.
import type { RequestContext, PluginInstance } from "../../src/pipeline/contract.ts";
import { jsonResponse } from "../../src/proxy/responses.ts";
import type { RequestTerminationConfig } from "./schema.ts";

/** Kong's messages for a status without a configured one; other statuses answer `{}`. */
export const DEFAULT_MESSAGES: Readonly<Record<number, string>> = {
  401: "Unauthorized",
  404: "Not found",
  405: "Method not allowed",
  500: "An unexpected error occurred",
  502: "Bad Gateway",
  503: "Service unavailable",
};

/** Never echoed: credentials a client sends (authorization, cookies, API keys). */
const SECRET_HEADERS: ReadonlySet<string> = new Set(["authorization", "proxy-authorization", "cookie", "apikey", "x-api-key"]);
const SECRET_QUERY: ReadonlySet<string> = new Set(["apikey", "api_key", "api-key", "jwt", "access_token", "token", "key"]);
const REDACTED = "[redacted]";

/** Fields of the matched service and route the echo shows: never the upstream host or path (they may come from a vault). */
const SERVICE_FIELDS = ["id", "name", "protocol", "port", "connect_timeout", "read_timeout", "write_timeout", "retries", "enabled", "tags", "created_at", "updated_at"];
const ROUTE_FIELDS = ["id", "name", "service", "paths", "hosts", "methods", "protocols", "strip_path", "preserve_host", "regex_priority", "tags", "created_at", "updated_at"];

function pick(row: Record<string, unknown> | undefined, fields: readonly string[]): Record<string, unknown> | null {
  if (!row) return null;
  const picked: Record<string, unknown> = {};
  for (const field of fields) if (row[field] !== undefined) picked[field] = row[field];
  return picked;
}

/** Kong's `get_headers`/`get_query` shape: a repeated name becomes a list. */
function multiMap(entries: Iterable<[string, string]>, secret: ReadonlySet<string>, lowerCase: boolean): Record<string, string | string[] | true> {
  const out: Record<string, string | string[] | true> = {};
  for (const [rawName, rawValue] of entries) {
    const name = lowerCase ? rawName.toLowerCase() : rawName;
    const value = secret.has(name.toLowerCase()) ? REDACTED : rawValue;
    const prior = out[name];
    if (prior === undefined) out[name] = value;
    else out[name] = Array.isArray(prior) ? [...prior, value] : [String(prior), value];
  }
  return out;
}

function echoOf(ctx: RequestContext, message: string | undefined): Record<string, unknown> {
  const url = ctx.url;
  const route = ctx.state.uniqueIndex<Record<string, unknown>>("routes", "id").get(ctx.routeId);
  const serviceId = (route?.service as { id?: string } | null | undefined)?.id;
  const service = serviceId ? ctx.state.uniqueIndex<Record<string, unknown>>("services", "id").get(serviceId) : undefined;
  const query: Record<string, string | string[] | true> = {};
  // Kong: an argument without `=` is `true`.
  for (const part of url.search.slice(1).split("&")) {
    if (!part) continue;
    const eq = part.indexOf("=");
    const name = decodeURIComponent((eq < 0 ? part : part.slice(0, eq)).replace(/\+/g, " "));
    const value = eq < 0 ? true : SECRET_QUERY.has(name.toLowerCase()) ? REDACTED : decodeURIComponent(part.slice(eq + 1).replace(/\+/g, " "));
    const prior = query[name];
    query[name] = prior === undefined ? value : Array.isArray(prior) ? [...prior, String(value)] : [String(prior), String(value)];
  }
  const headers = multiMap(ctx.upstreamHeaders, SECRET_HEADERS, true);
  return {
    ...(message !== undefined ? { message } : {}),
    request: {
      scheme: url.protocol.slice(0, -1),
      host: url.hostname,
      port: Number(url.port || (url.protocol === "https:" ? 443 : 80)),
      method: ctx.method,
      path: url.pathname,
      headers,
      query,
    },
    matched_route: pick(route, ROUTE_FIELDS),
    matched_service: pick(service, SERVICE_FIELDS),
  };
}

function queryHas(search: string, name: string): boolean {
  for (const part of search.slice(1).split("&")) {
    const eq = part.indexOf("=");
    const key = eq < 0 ? part : part.slice(0, eq);
    if (key === name) return true;
    if (key.includes("%") || key.includes("+")) {
      try {
        if (decodeURIComponent(key.replace(/\+/g, " ")) === name) return true;
      } catch {
        // a malformed escape names no argument
      }
    }
  }
  return false;
}

export function createRequestTerminationInstance(config: RequestTerminationConfig): PluginInstance {
  const status = config.status_code;
  const message = config.message ?? DEFAULT_MESSAGES[status];
  const trigger = config.trigger;
  const triggerHeader = trigger?.toLowerCase() ?? null;
  const body = config.body;
  const contentType = config.content_type;

  // 204, 205 and 304 carry no body (the Response constructor refuses one).
  const bodiless = status === 204 || status === 205 || status === 304;
  const answer = (ctx: RequestContext): Response => {
    if (bodiless) return new Response(null, { status });
    if (config.echo) {
      try {
        return jsonResponse(status, echoOf(ctx, message));
      } catch {
        // a query with malformed escapes: echo without it is still an echo
        return jsonResponse(status, { ...(message !== undefined ? { message } : {}) });
      }
    }
    if (body !== null) return new Response(body, { status, headers: contentType !== null ? { "content-type": contentType } : {} });
    return jsonResponse(status, message !== undefined ? { message } : {});
  };

  return {
    access(ctx) {
      if (trigger !== null) {
        const search = ctx.href.includes("?") ? ctx.url.search : "";
        if (!ctx.upstreamHeaders.has(triggerHeader!) && !(search && queryHas(search, trigger))) return undefined;
      }
      return answer(ctx);
    },
  };
}
