// The basic-auth plugin's access phase, Kong 3.x's flow: `Proxy-Authorization`, then
// `Authorization` when the first names no credential; `Basic base64(user:password)`; the credential by username; the password
// checked against its argon2id hash (off the event loop, by Bun.password.verify) unless this exact
// header was verified before against the same stored hash (verified-cache.ts).
import type { AccessResult, PluginInstance, RequestContext, StateLookups } from "../../src/pipeline/contract.ts";
import { clearIdentityHeaders, refuseOrFallBack, setConsumer } from "../../src/pipeline/request-context.ts";
import { JSON_CONTENT_TYPE, errorCodeResponse } from "../../src/proxy/responses.ts";
import { checkPassword } from "./password-checks.ts";
import type { BasicAuthCredential } from "./credential.ts";
import type { BasicAuthConfig } from "./schema.ts";
import { VerifiedPasswordCache, sharedPasswordCache } from "./verified-cache.ts";

export const BASIC_AUTH_FAILURES = {
  missing: { metric: "basic-auth:missing", message: "Unauthorized" },
  invalid: { metric: "basic-auth:invalid", message: "Invalid authentication credentials" },
  consumerMissing: { metric: "basic-auth:consumer_missing", message: "Invalid authentication credentials" },
} as const;

type FailureName = keyof typeof BASIC_AUTH_FAILURES;

const CREDENTIAL_FIELDS = ["authorization", "proxy-authorization"] as const;
const BASIC_SCHEME = /^\s*basic(?:\s|$)/i;
const BASIC = /^\s*basic\s+(\S+)\s*$/i;
/**
 * Standard base64 as nginx's decoder (Kong's `ngx.decode_base64`) takes it: the padding may be
 * left out. Buffer's decoder is lenient (it skips `*`, `!` and any other stray byte, reads the
 * URL-safe alphabet too, and stops at the first `=`), so it is used only on text this accepts:
 * one credential must have one spelling, as the upstream's strict decoder would read it.
 */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;
// ignoreBOM: a leading U+FEFF stays part of the name (dropping it would be a second spelling).
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** `user:password` of a Basic header, or null when it is not one (Kong: invalid credentials). */
export function parseBasic(value: string): { username: string; password: string } | null {
  const match = BASIC.exec(value);
  if (!match || !BASE64.test(match[1]!)) return null;
  let decoded: string;
  try {
    // Not UTF-8: refused, rather than turned into U+FFFD, which many byte strings would share.
    decoded = utf8.decode(Buffer.from(match[1]!, "base64"));
  } catch {
    return null;
  }
  const colon = decoded.indexOf(":");
  if (colon <= 0) return null;
  const password = decoded.slice(colon + 1);
  return password ? { username: decoded.slice(0, colon), password } : null;
}

/** Removes the Basic credentials of both fields; another scheme there is another plugin's, and stays. */
function removeBasicValues(headers: RequestContext["upstreamHeaders"]): void {
  for (const name of CREDENTIAL_FIELDS) if (BASIC_SCHEME.test(headers.get(name) ?? "")) headers.delete(name);
}

/** A hash no password is known for, verified against when the username is unknown; argon2id as hashPassword makes. Made on first need, not at every start. */
let unknownUserHash: Promise<string> | null = null;

export function createBasicAuthInstance(config: BasicAuthConfig, state: StateLookups, cache: VerifiedPasswordCache = sharedPasswordCache): PluginInstance {
  const byUsername = state.uniqueIndex<BasicAuthCredential>("basicauth_credentials", "username");
  const challenge = `Basic realm="${config.realm}"`;
  const respond = (name: FailureName) =>
    new Response(JSON.stringify({ message: BASIC_AUTH_FAILURES[name].message }), {
      status: 401,
      headers: { "content-type": JSON_CONTENT_TYPE, "www-authenticate": challenge },
    });

  function fail(ctx: RequestContext, name: FailureName): AccessResult {
    const refused = refuseOrFallBack(ctx, state, "basic-auth", config.anonymous, {
      tokenMissing: name === "missing",
      status: 401,
      code: BASIC_AUTH_FAILURES[name].metric,
      respond: () => respond(name),
    });
    // As jwt does with a refused token (Kong sends the header on): an upstream that reads the
    // username from the header, trusting the gateway checked the password, would take it as given.
    if (refused === undefined && name !== "missing") removeBasicValues(ctx.upstreamHeaders);
    return refused;
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
      const headers = ctx.upstreamHeaders;
      // Kong's logical OR: an earlier authentication plugin already succeeded. The password
      // the client sent anyway must not reach the upstream under hide_credentials either (Kong
      // forwards it); another scheme in the same field is another plugin's, and stays.
      if (ctx.credential && (config.anonymous !== null || ctx.authFallback)) {
        if (config.hide_credentials) removeBasicValues(headers);
        return undefined;
      }
      const proxyValue = headers.get("proxy-authorization");
      const authorizationValue = headers.get("authorization");
      if (proxyValue === null && authorizationValue === null) return fail(ctx, "missing");
      if (config.hide_credentials) {
        ctx.upstreamHeaders.delete("authorization");
        ctx.upstreamHeaders.delete("proxy-authorization");
      }
      // Kong's order: Proxy-Authorization's username, then Authorization's when that one names no credential.
      let value = proxyValue;
      let given = proxyValue === null ? null : parseBasic(proxyValue);
      let credential = given === null ? undefined : byUsername.get(given.username);
      if (credential === undefined && authorizationValue !== null) {
        const fromAuthorization = parseBasic(authorizationValue);
        if (fromAuthorization !== null || given === null) {
          value = authorizationValue;
          given = fromAuthorization;
          credential = given === null ? undefined : byUsername.get(given.username);
        }
      }
      if (given === null) return fail(ctx, "invalid");
      const key = VerifiedPasswordCache.keyOf(value!);
      if (credential && cache.has(key, credential.id, credential.password_hash)) return succeed(ctx, credential);
      // An unknown name is checked against a hash nobody knows the password of: answering it at
      // once (under a millisecond, where argon2 takes tens) would tell which usernames exist.
      const checked = checkPassword(given.password, credential ? credential.password_hash : (unknownUserHash ??= Bun.password.hash(crypto.randomUUID(), { algorithm: "argon2id" })));
      if (checked === null) return errorCodeResponse("password_checks_busy", { "retry-after": "1" });
      return checked.then((ok) => {
        if (!credential || !ok) return fail(ctx, "invalid");
        cache.add(key, credential.id, credential.password_hash);
        return succeed(ctx, credential);
      });
    },
  };
}
