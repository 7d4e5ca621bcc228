// The anonymous plugin's access phase. It runs after the authentication plugins (priority
// 1000 < jwt 1450), which, when this plugin applies to the request, record a failure it covers
// in `ctx.authFailure` instead of answering. So: a consumer is set → someone authenticated, do
// nothing; a failure is recorded → authentication was tried and failed; neither → no
// authentication plugin ran, and the request is anonymous too.
import type { AccessResult, PluginInstance, RequestContext, StateLookups } from "../../src/pipeline/contract.ts";
import { clearIdentityHeaders, setConsumer } from "../../src/pipeline/request-context.ts";
import { messageResponse } from "../../src/proxy/responses.ts";
import { type AnonymousConfig, anonymousCovers } from "./schema.ts";

/** The one refusal of its own: the configured consumer is gone (Kong answers 500 there). */
const CONSUMER_MISSING = { code: "anonymous:consumer_missing", message: "Unauthorized" } as const;

export function createAnonymousInstance(config: AnonymousConfig, state: StateLookups): PluginInstance {
  return {
    access(ctx: RequestContext): AccessResult {
      clearIdentityHeaders(ctx);
      if (ctx.consumer) return undefined;
      const failure = ctx.authFailure;
      // An authentication plugin that did not check this plugin's mode still gets its answer.
      if (failure && !anonymousCovers(config, failure.tokenMissing)) {
        ctx.authFailureMetric = failure.reason;
        return failure.respond();
      }
      const consumer = state.consumer(config.consumer);
      if (consumer) {
        setConsumer(ctx, consumer, null);
        return undefined;
      }
      // Checked on write, so it was deleted since: answer as if there were no fallback.
      ctx.log({ level: "error", plugin: "anonymous", message: "anonymous consumer is configured but doesn't exist", consumer: config.consumer });
      if (failure) {
        ctx.authFailureMetric = failure.reason;
        return failure.respond();
      }
      ctx.authFailureMetric = CONSUMER_MISSING.code;
      return messageResponse(401, CONSUMER_MISSING.message);
    },
  };
}
