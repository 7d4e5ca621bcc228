// The key-auth plugin's access phase, Kong 3.x's flow: for each of `key_names` in order, the
// header, then the query parameter; the first name present decides (a repeated query parameter
// is "Duplicate API key found"). The key is looked up by its SHA-256 digest, never compared as
// text, so the plaintext is neither stored nor held in memory beyond the request.
import type { AccessResult, PluginInstance, RequestContext, StateLookups } from "../../src/pipeline/contract.ts";
import { clearIdentityHeaders, refuseOrFallBack, setConsumer } from "../../src/pipeline/request-context.ts";
import { JSON_CONTENT_TYPE } from "../../src/proxy/responses.ts";
import { type KeyAuthCredential, keyDigest } from "./credential.ts";
import type { KeyAuthConfig } from "./schema.ts";

/** Every way key-auth refuses: Kong's status and message, and the metric label. */
export const KEY_AUTH_FAILURES = {
  missing: { metric: "key-auth:missing", message: "No API key found in request" },
  duplicate: { metric: "key-auth:duplicate", message: "Duplicate API key found" },
  invalid: { metric: "key-auth:invalid", message: "Invalid authentication credentials" },
  consumerMissing: { metric: "key-auth:consumer_missing", message: "Invalid authentication credentials" },
} as const;

type FailureName = keyof typeof KEY_AUTH_FAILURES;

type Found = { key: string; name: string } | "missing" | "duplicate";

function queryValues(url: string, name: string): string[] | null {
  const start = url.indexOf("?");
  if (start < 0) return null;
  const values = new URLSearchParams(url.slice(start + 1).split("#", 1)[0]).getAll(name);
  return values.length ? values : null;
}

export function createKeyAuthInstance(config: KeyAuthConfig, state: StateLookups): PluginInstance {
  const byDigest = state.uniqueIndex<KeyAuthCredential>("keyauth_credentials", "key_digest");
  const names = config.key_names;
  const challenge = `Key realm="${config.realm ?? "kong"}"`;
  const bodies = Object.fromEntries(Object.entries(KEY_AUTH_FAILURES).map(([name, kind]) => [name, JSON.stringify({ message: kind.message })])) as Record<FailureName, string>;
  const respond = (name: FailureName) =>
    new Response(bodies[name], { status: 401, headers: { "content-type": JSON_CONTENT_TYPE, "www-authenticate": challenge } });

  function find(request: Request): Found {
    for (const name of names) {
      if (config.key_in_header) {
        const value = request.headers.get(name);
        if (value !== null) return value === "" ? "missing" : { key: value, name };
      }
      if (config.key_in_query) {
        const values = queryValues(request.url, name);
        if (values !== null) {
          if (values.length > 1) return "duplicate";
          return values[0] === "" ? "missing" : { key: values[0]!, name };
        }
      }
    }
    return "missing";
  }

  function fail(ctx: RequestContext, name: FailureName): AccessResult {
    return refuseOrFallBack(ctx, state, "key-auth", config.anonymous, {
      tokenMissing: name === "missing",
      status: 401,
      code: KEY_AUTH_FAILURES[name].metric,
      respond: () => respond(name),
    });
  }

  return {
    access(ctx: RequestContext): AccessResult {
      clearIdentityHeaders(ctx);
      if (!config.run_on_preflight && ctx.request.method === "OPTIONS") return undefined;
      // Kong's logical OR: an earlier authentication plugin already succeeded.
      if (ctx.credential && (config.anonymous !== null || ctx.authFallback)) return undefined;
      const found = find(ctx.request);
      if (typeof found === "string") return fail(ctx, found);
      if (config.hide_credentials) {
        ctx.upstreamHeaders.delete(found.name);
        ctx.upstreamQuery.delete(found.name);
      }
      const credential = byDigest.get(keyDigest(found.key));
      if (!credential) return fail(ctx, "invalid");
      const consumer = state.consumer(credential.consumer.id);
      if (!consumer) return fail(ctx, "consumerMissing");
      setConsumer(ctx, consumer, { id: credential.id, identifier: credential.id, consumerId: consumer.id });
      return undefined;
    },
  };
}
