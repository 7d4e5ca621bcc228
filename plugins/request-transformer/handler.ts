// The request-transformer plugin's access phase: the header plan, applied to what goes upstream,
// and the query parameters to drop. Everything is decided in `create`; a request only runs it.
import type { PluginInstance, RequestContext } from "../../src/pipeline/contract.ts";
import { applyHeaderPlan, headerPlan } from "../../src/pipeline/header-operations.ts";
import type { RequestTransformerConfig } from "./schema.ts";

export function createRequestTransformerInstance(config: RequestTransformerConfig): PluginInstance {
  const plan = headerPlan(config);
  const dropped = config.remove.querystring ?? [];
  return {
    access(ctx: RequestContext): undefined {
      applyHeaderPlan(ctx.upstreamHeaders, plan);
      if (dropped.length) (ctx.dropQueryParams ??= []).push(...dropped);
      return undefined;
    },
  };
}
