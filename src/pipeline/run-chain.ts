// Runs a route's chain: access phase in priority order (a plugin may answer and stop the
// request), then the response phase of the instances that ran, in the same order.
import type { Chain } from "./chains.ts";
import type { PluginInstance, RequestContext } from "./contract.ts";

export interface AccessOutcome {
  /** Set when a plugin ended the request. */
  response: Response | undefined;
  /** Instances that took part, for the response phase. */
  ran: PluginInstance[];
}

/** Synchronous unless a plugin answers with a promise, so most requests skip the microtask hops. */
export function runAccess(chain: Chain, ctx: RequestContext): AccessOutcome | Promise<AccessOutcome> {
  return continueAccess(chain, 0, ctx, []);
}

function continueAccess(chain: Chain, from: number, ctx: RequestContext, ran: PluginInstance[]): AccessOutcome | Promise<AccessOutcome> {
  const steps = chain.steps;
  for (let i = from; i < steps.length; i++) {
    const step = steps[i]!;
    const instance = (ctx.consumer && step.byConsumer?.get(ctx.consumer.id)) || step.general;
    if (!instance) continue;
    ran.push(instance);
    if (!instance.access) continue;
    const result = instance.access(ctx);
    if (result instanceof Promise) return result.then((settled) => (settled ? { response: settled, ran } : continueAccess(chain, i + 1, ctx, ran)));
    if (result) return { response: result, ran };
  }
  return { response: undefined, ran };
}

/** Synchronous while every plugin answers synchronously, as the access phase is: no promise per plugin. */
export function runResponse(ran: readonly PluginInstance[], ctx: RequestContext, response: Response): Response | Promise<Response> {
  return continueResponse(ran, 0, ctx, response);
}

function continueResponse(ran: readonly PluginInstance[], from: number, ctx: RequestContext, response: Response): Response | Promise<Response> {
  let current = response;
  for (let i = from; i < ran.length; i++) {
    const instance = ran[i]!;
    if (!instance.response) continue;
    const result = instance.response(ctx, current);
    if (result instanceof Promise) return result.then((settled) => continueResponse(ran, i + 1, ctx, settled));
    current = result;
  }
  return current;
}
