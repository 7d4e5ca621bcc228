// The request-transformer plugin's access phase: the header plan, applied to what goes upstream,
// the query parameters to drop, and the body operations (./body.ts). Everything is decided in
// `create`; a request only runs it.
import type { PluginInstance, RequestContext } from "../../src/pipeline/contract.ts";
import { applyHeaderPlan, headerPlan } from "../../src/pipeline/header-operations.ts";
import { bodyPlan, transformBody } from "./body.ts";
import type { RequestTransformerConfig } from "./schema.ts";

export function createRequestTransformerInstance(config: RequestTransformerConfig): PluginInstance {
  const plan = headerPlan(config);
  const dropped = config.remove.querystring ?? [];
  const body = bodyPlan(config);
  return {
    access(ctx: RequestContext): undefined | Promise<undefined> {
      const contentType = body === null ? null : ctx.upstreamHeaders.get("content-type");
      applyHeaderPlan(ctx.upstreamHeaders, plan);
      if (dropped.length) (ctx.dropQueryParams ??= []).push(...dropped);
      return body === null ? undefined : transformBody(ctx, body, contentType);
    },
  };
}
