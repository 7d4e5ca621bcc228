// The rate-limiting plugin's access phase: Kong 3.x's identifier (with its
// fallback to the client IP), its headers (RateLimit-* for the window with the fewest requests
// left, X-RateLimit-*-<Period> for each, Retry-After on refusal) and its fault tolerance.
import type { Plugin } from "../../src/entities/plugin.ts";
import type { Route } from "../../src/entities/route.ts";
import type { AccessResult, PluginInstance, RequestContext, StateLookups } from "../../src/pipeline/contract.ts";
import { errorCodeResponse, messageResponse } from "../../src/proxy/responses.ts";
import { type CounterStore, clusterCounters, localCounters, usageFor } from "./counters.ts";
import { PERIODS, type RateLimitingConfig } from "./schema.ts";
import { resetSeconds } from "./windows.ts";
import { canonicalPath } from "../../src/proxy/canonical-path.ts";
import { addressGroup } from "../../src/proxy/client-address.ts";

/**
 * Identifiers longer than this are counted by their SHA-256: a header value can be kilobytes,
 * and every counter keeps its identifier (in memory, or as a cluster row) until its window ends.
 */
export const IDENTIFIER_MAX_LENGTH = 64;
const DIGEST_PREFIX = "sha256:";

/** The identifier as counters key it: short ones as they are, others (and any that looks like a digest) by digest. */
export function counterIdentifier(identifier: string): string {
  if (identifier.length <= IDENTIFIER_MAX_LENGTH && !identifier.startsWith(DIGEST_PREFIX)) return identifier;
  return DIGEST_PREFIX + new Bun.CryptoHasher("sha256").update(identifier).digest("base64");
}

const capitalised = (period: string) => period[0]!.toUpperCase() + period.slice(1);

/** Kong keys counters by the plugin's own route and service (so a global plugin counts across routes). */
function scopeOf(config: RateLimitingConfig, state: StateLookups): string {
  const plugin = state.rows<Plugin>("plugins").find((row) => row.config === (config as unknown));
  return `${plugin?.route?.id ?? ""}|${plugin?.service?.id ?? ""}`;
}

export function createRateLimitingInstance(config: RateLimitingConfig, state: StateLookups): PluginInstance {
  const periods: number[] = [];
  const limits: number[] = [];
  PERIODS.forEach((period, index) => {
    const limit = config[period];
    if (limit !== null) [periods.push(index), limits.push(limit)];
  });
  const limitNames = periods.map((p) => `X-RateLimit-Limit-${capitalised(PERIODS[p]!)}`);
  const remainingNames = periods.map((p) => `X-RateLimit-Remaining-${capitalised(PERIODS[p]!)}`);
  const limitTexts = limits.map(String);
  const scope = scopeOf(config, state);
  const { database } = state;
  let store: CounterStore | null;
  if (config.policy === "local") store = localCounters;
  else store = database ? clusterCounters(database) : null;
  const routes = config.limit_by === "service" ? state.uniqueIndex<Route>("routes", "id") : null;
  const headerName = config.header_name;
  // Compared with the request's canonical path: `/a//b` or `/%61` is the same path to the router
  // and the upstream, so it must not be counted apart (by IP) from the configured one.
  const path = config.path === null ? null : (canonicalPath(config.path) ?? config.path);

  function identify(ctx: RequestContext): string {
    let identifier: string | null | undefined;
    switch (config.limit_by) {
      case "consumer": identifier = ctx.consumer?.id ?? ctx.credential?.id; break;
      case "credential": identifier = ctx.credential?.id; break;
      case "service": identifier = routes!.get(ctx.routeId)?.service.id; break;
      case "header": identifier = ctx.upstreamHeaders.get(headerName!); break;
      case "path": identifier = ctx.path === path ? path : null; break;
    }
    if (identifier) return counterIdentifier(identifier);
    // An IPv6 client is counted by its /64 (what one host or subscriber is given), as Cloudflare
    // counts one: by address, each of the 2^64 it can send from would be a fresh allowance. An
    // IPv4-mapped address is its IPv4 address, so a dual-stack listener counts one client once.
    const ip = ctx.clientIp;
    return ip.includes(":") ? addressGroup(ip) : ip;
  }

  // Requests share it: each `take` fills it and the access phase reads it before any other request runs.
  const usage = usageFor(periods.length);
  const pairCount = 4 * periods.length + 6;

  return {
    access(ctx: RequestContext): AccessResult {
      const now = Date.now();
      try {
        if (!store) throw new Error("policy cluster: no database");
        store.take(scope, identify(ctx), periods, limits, now, usage);
      } catch (error) {
        ctx.log({ level: "error", plugin: "rate-limiting", message: "failed to get usage", error: String(error) });
        return config.fault_tolerant ? undefined : errorCodeResponse("internal");
      }
      const { used, starts, stop } = usage;
      if (config.hide_client_headers) return stop < 0 ? undefined : messageResponse(config.error_code, config.error_message);
      // Sized once: the flat name, value pairs of RequestContext.responseHeaders.
      const headers: string[] = new Array(pairCount);
      let best = -1;
      let bestRemaining = 0;
      let at = 0;
      for (let i = 0; i < periods.length; i++) {
        let remaining = limits[i]! - used[i]!;
        if (stop < 0 || stop === i) remaining -= 1;
        if (remaining < 0) remaining = 0;
        // Fewest left wins; on a tie the longer window (periods ascend).
        if (best < 0 || remaining <= bestRemaining) {
          best = i;
          bestRemaining = remaining;
        }
        headers[at++] = limitNames[i]!;
        headers[at++] = limitTexts[i]!;
        headers[at++] = remainingNames[i]!;
        headers[at++] = String(remaining);
      }
      const reset = String(resetSeconds(periods[best]!, starts[best]!, now));
      headers[at++] = "RateLimit-Limit";
      headers[at++] = limitTexts[best]!;
      headers[at++] = "RateLimit-Remaining";
      headers[at++] = String(bestRemaining);
      headers[at++] = "RateLimit-Reset";
      headers[at] = reset;
      if (stop >= 0) {
        const response = messageResponse(config.error_code, config.error_message);
        for (let i = 0; i < headers.length; i += 2) response.headers.set(headers[i]!, headers[i + 1]!);
        response.headers.set("Retry-After", reset);
        return response;
      }
      // Kong sets them in header_filter; here the proxy sets them on whatever answers the client.
      if (ctx.responseHeaders) ctx.responseHeaders.push(...headers);
      else ctx.responseHeaders = headers;
      return undefined;
    },
  };
}
