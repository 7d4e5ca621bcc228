// Runs a route's chain: access phase in priority order (a plugin may answer and stop the
// request), then the response phase of the instances that ran, in the same order, and once the
// request is answered the log phase of every instance of the chain.
import type { Chain } from "./chains.ts";
import type { AnsweredRequest, PluginInstance, RequestContext } from "./contract.ts";

export interface AccessOutcome {
  /** Set when a plugin ended the request. */
  readonly response: Response | undefined;
  /** Instances that took part and have a response phase, in chain order. */
  readonly responders: readonly PluginInstance[];
}

/** Synchronous unless a plugin answers with a promise, so most requests skip the microtask hops. */
export function runAccess(chain: Chain, ctx: RequestContext): AccessOutcome | Promise<AccessOutcome> {
  return continueAccess(chain, 0, ctx, chain.responders === null ? [] : null);
}

/** `gathered` collects the responders when the chain cannot know them in advance (null: it does). */
function continueAccess(chain: Chain, from: number, ctx: RequestContext, gathered: PluginInstance[] | null): AccessOutcome | Promise<AccessOutcome> {
  const responders = gathered ?? chain.responders!;
  const steps = chain.steps;
  for (let i = from; i < steps.length; i++) {
    const step = steps[i]!;
    const instance = (ctx.consumer && step.byConsumer?.get(ctx.consumer.id)) || step.general;
    if (!instance) continue;
    if (gathered && instance.response) gathered.push(instance);
    if (!instance.access) continue;
    const result = instance.access(ctx);
    if (result instanceof Promise) return result.then((settled) => (settled ? { response: settled, responders } : continueAccess(chain, i + 1, ctx, gathered)));
    if (result) return { response: result, responders };
  }
  return { response: undefined, responders };
}

/** Synchronous while every plugin answers synchronously, as the access phase is: no promise per plugin. */
export function runResponse(responders: readonly PluginInstance[], ctx: RequestContext, response: Response): Response | Promise<Response> {
  return continueResponse(responders, 0, ctx, response);
}

function continueResponse(responders: readonly PluginInstance[], from: number, ctx: RequestContext, response: Response): Response | Promise<Response> {
  let current = response;
  for (let i = from; i < responders.length; i++) {
    const result = responders[i]!.response!(ctx, current);
    if (result instanceof Promise) return result.then((settled) => continueResponse(responders, i + 1, ctx, settled));
    current = result;
  }
  return current;
}

/**
 * Every instance's log phase, in chain order, with the consumer known at the end (as Kong runs
 * the log phase of every plugin of the request, also after another answered in access). A
 * failing one is reported and the others still run: the answer has already gone.
 */
export function runLog(chain: Chain, ctx: RequestContext, answered: AnsweredRequest): void {
  for (const step of chain.steps) {
    const instance = (ctx.consumer && step.byConsumer?.get(ctx.consumer.id)) || step.general;
    if (!instance?.log) continue;
    try {
      instance.log(ctx, answered);
    } catch (error) {
      ctx.log({ level: "error", plugin: step.name, message: "log phase failed", error: String(error) });
    }
  }
}
