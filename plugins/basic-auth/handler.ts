// The basic-auth plugin's access phase, Kong 3.x's flow: `Authorization`, else
// `Proxy-Authorization`; `Basic base64(user:password)`; the credential by username; the password
// checked against its argon2id hash (off the event loop, by Bun.password.verify) unless this exact
// header was verified before against the same stored hash (verified-cache.ts).
import type { AccessResult, PluginInstance, RequestContext, StateLookups } from "../../src/pipeline/contract.ts";
import { clearIdentityHeaders, refuseOrFallBack, setConsumer } from "../../src/pipeline/request-context.ts";
import { JSON_CONTENT_TYPE } from "../../src/proxy/responses.ts";
import type { BasicAuthCredential } from "./credential.ts";
import type { BasicAuthConfig } from "./schema.ts";
import { VerifiedPasswordCache, sharedPasswordCache } from "./verified-cache.ts";

export const BASIC_AUTH_FAILURES = {
  missing: { metric: "basic-auth:missing", message: "Unauthorized" },
  invalid: { metric: "basic-auth:invalid", message: "Invalid authentication credentials" },
  consumerMissing: { metric: "basic-auth:consumer_missing", message: "Invalid authentication credentials" },
} as const;

type FailureName = keyof typeof BASIC_AUTH_FAILURES;

const BASIC = /^\s*basic\s+(\S+)\s*$/i;

/** `user:password` of a Basic header, or null when it is not one (Kong: invalid credentials). */
export function parseBasic(value: string): { username: string; password: string } | null {
  const match = BASIC.exec(value);
  if (!match) return null;
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon <= 0) return null;
  const password = decoded.slice(colon + 1);
  return password ? { username: decoded.slice(0, colon), password } : null;
}

export function createBasicAuthInstance(config: BasicAuthConfig, state: StateLookups, cache: VerifiedPasswordCache = sharedPasswordCache): PluginInstance {
  const byUsername = state.uniqueIndex<BasicAuthCredential>("basicauth_credentials", "username");
  const challenge = `Basic realm="${config.realm}"`;
  const respond = (name: FailureName) =>
    new Response(JSON.stringify({ message: BASIC_AUTH_FAILURES[name].message }), {
      status: 401,
      headers: { "content-type": JSON_CONTENT_TYPE, "www-authenticate": challenge },
    });

  function fail(ctx: RequestContext, name: FailureName): AccessResult {
    return refuseOrFallBack(ctx, state, "basic-auth", config.anonymous, {
      tokenMissing: name === "missing",
      status: 401,
      code: BASIC_AUTH_FAILURES[name].metric,
      respond: () => respond(name),
    });
  }

  function succeed(ctx: RequestContext, credential: BasicAuthCredential): AccessResult {
    const consumer = state.consumer(credential.consumer.id);
    if (!consumer) return fail(ctx, "consumerMissing");
    setConsumer(ctx, consumer, { id: credential.id, identifier: credential.username, consumerId: consumer.id });
    return undefined;
  }

  return {
    access(ctx: RequestContext): AccessResult | Promise<AccessResult> {
      clearIdentityHeaders(ctx);
      // Kong's logical OR: an earlier authentication plugin already succeeded.
      if (ctx.credential && (config.anonymous !== null || ctx.authFallback)) return undefined;
      const headers = ctx.upstreamHeaders;
      const value = headers.get("authorization") ?? headers.get("proxy-authorization");
      if (value === null) return fail(ctx, "missing");
      if (config.hide_credentials) {
        ctx.upstreamHeaders.delete("authorization");
        ctx.upstreamHeaders.delete("proxy-authorization");
      }
      const given = parseBasic(value);
      if (!given) return fail(ctx, "invalid");
      const credential = byUsername.get(given.username);
      if (!credential) return fail(ctx, "invalid");
      const key = VerifiedPasswordCache.keyOf(value);
      if (cache.has(key, credential.id, credential.password_hash)) return succeed(ctx, credential);
      return Bun.password.verify(given.password, credential.password_hash).then(
        (ok) => {
          if (!ok) return fail(ctx, "invalid");
          cache.add(key, credential.id, credential.password_hash);
          return succeed(ctx, credential);
        },
        () => fail(ctx, "invalid"),
      );
    },
  };
}
