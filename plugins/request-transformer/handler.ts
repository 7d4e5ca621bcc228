// The request-transformer plugin's access phase, in Kong's order: the upstream's path and method,
// the header plan, the body operations (./body.ts), then the query plan, applied to what goes
// upstream. Everything is decided in `create`; a request only runs it.
import type { AccessResult, PluginInstance, RequestContext } from "../../src/pipeline/contract.ts";
import { applyHeaderPlan, headerPlan } from "../../src/pipeline/header-operations.ts";
import { bodyPlan, transformBody } from "./body.ts";
import { applyQueryPlan, queryPlan } from "./querystring.ts";
import type { RequestTransformerConfig } from "./schema.ts";

export function createRequestTransformerInstance(config: RequestTransformerConfig): PluginInstance {
  const plan = headerPlan(config);
  const query = queryPlan(config);
  const target = upstreamTarget(config);
  const body = bodyPlan(config);
  return {
    access(ctx: RequestContext): AccessResult | Promise<AccessResult> {
      if (target !== null) retarget(ctx, target);
      // The body's format is the client's Content-Type, not one a header operation sets.
      const contentType = body === null ? null : ctx.upstreamHeaders.get("content-type");
      applyHeaderPlan(ctx.upstreamHeaders, plan);
      if (query !== null) applyQueryPlan(ctx.upstreamQuery, query);
      return body === null ? undefined : transformBody(ctx, body, contentType);
    },
  };
}

/** Kong's transform_uri and transform_method: what replaces the route's path and the client's method. */
interface UpstreamTarget {
  path: string | null;
  method: string | null;
}

function upstreamTarget(config: RequestTransformerConfig): UpstreamTarget | null {
  // An empty uri is no uri in Kong (its template renders to nil).
  const path = config.replace.uri || null;
  const method = config.http_method ?? null;
  return path === null && method === null ? null : { path, method };
}

function retarget(ctx: RequestContext, target: UpstreamTarget): void {
  if (target.path !== null) ctx.upstreamPath = target.path;
  if (target.method !== null) ctx.upstreamMethod = target.method;
}
