// The key-auth plugin's access phase, Kong 3.x's flow: for each of `key_names` in order, the
// header, then the query parameter, then (key_in_body) the body's field; the first name present
// decides (a repeated query parameter or body field is "Duplicate API key found"). The body is
// read only when the lookup gets to it, or to hide the key from it. The key is looked up by its
// SHA-256 digest, never compared as text, so the plaintext is neither stored nor held in memory
// beyond the request.
import type { AccessResult, PluginInstance, RequestContext, StateLookups } from "../../src/pipeline/contract.ts";
import { type BodyFields, NO_FIELDS, bodyFormatOf, parseBodyFields } from "../../src/pipeline/body-fields.ts";
import { MAX_BUFFERED_BODY_BYTES } from "../../src/pipeline/request-body.ts";
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
/** The lookup reached the body, which is not read yet. */
const NEEDS_BODY = "body";

/** The body's fields when it is JSON, urlencoded or multipart within the bound; else null (no key there). */
async function bodyFieldsOf(ctx: RequestContext): Promise<BodyFields | null> {
  const contentType = ctx.upstreamHeaders.get("content-type");
  const format = bodyFormatOf(contentType);
  if (format === null) return null;
  const body = await ctx.readBody(MAX_BUFFERED_BODY_BYTES);
  if (body === null) return null;
  const fields = parseBodyFields(format, contentType!, body);
  return fields === NO_FIELDS ? null : fields;
}

function queryValues(url: string, name: string): string[] | null {
  const start = url.indexOf("?");
  if (start < 0) return null;
  const values = new URLSearchParams(url.slice(start + 1).split("#", 1)[0]).getAll(name);
  return values.length ? values : null;
}

export function createKeyAuthInstance(config: KeyAuthConfig, state: StateLookups): PluginInstance {
  const byDigest = state.uniqueIndex<KeyAuthCredential>("keyauth_credentials", "key_digest");
  const names = config.key_names;
  const hidesInBody = config.key_in_body && config.hide_credentials;
  const challenge = `Key realm="${config.realm ?? "kong"}"`;
  const bodies = Object.fromEntries(Object.entries(KEY_AUTH_FAILURES).map(([name, kind]) => [name, JSON.stringify({ message: kind.message })])) as Record<FailureName, string>;
  const respond = (name: FailureName) =>
    new Response(bodies[name], { status: 401, headers: { "content-type": JSON_CONTENT_TYPE, "www-authenticate": challenge } });

  /** `fields` undefined: the body is not read yet, and the lookup stops where it would need it. */
  function find(ctx: RequestContext, fields: BodyFields | null | undefined): Found | typeof NEEDS_BODY {
    for (const name of names) {
      if (config.key_in_header) {
        const value = ctx.upstreamHeaders.get(name);
        if (value !== null) return value === "" ? "missing" : { key: value, name };
      }
      if (config.key_in_query) {
        const values = queryValues(ctx.href, name);
        if (values !== null) {
          if (values.length > 1) return "duplicate";
          return values[0] === "" ? "missing" : { key: values[0]!, name };
        }
      }
      if (config.key_in_body) {
        if (fields === undefined) return NEEDS_BODY;
        const value = fields?.get(name);
        if (typeof value === "string") return value === "" ? "missing" : { key: value, name };
        // A repeated field, or a JSON array or object: a table in Kong's Lua.
        if (typeof value === "object" && value !== null) return "duplicate";
      }
    }
    return "missing";
  }

  function authenticate(ctx: RequestContext, found: Found, fields: BodyFields | null | undefined): AccessResult {
    if (typeof found === "string") return fail(ctx, found, fields);
    if (config.hide_credentials) {
      ctx.upstreamHeaders.delete(found.name);
      ctx.upstreamQuery.delete(found.name);
      if (fields && fields.get(found.name) !== undefined) {
        fields.delete(found.name);
        ctx.replaceBody(fields.encode());
      }
    }
    const credential = byDigest.get(keyDigest(found.key));
    if (!credential) return fail(ctx, "invalid", fields);
    const consumer = state.consumer(credential.consumer.id);
    if (!consumer) return fail(ctx, "consumerMissing", fields);
    setConsumer(ctx, consumer, { id: credential.id, identifier: credential.id, consumerId: consumer.id });
    return undefined;
  }

  function fail(ctx: RequestContext, name: FailureName, fields: BodyFields | null | undefined): AccessResult {
    const refused = refuseOrFallBack(ctx, state, "key-auth", config.anonymous, {
      tokenMissing: name === "missing",
      status: 401,
      code: KEY_AUTH_FAILURES[name].metric,
      respond: () => respond(name),
    });
    // As jwt does with a refused token (Kong sends the key on): the request goes on as
    // anonymous or as a later plugin's consumer, and must not carry a key the gateway refused.
    if (refused === undefined && name !== "missing") strip(ctx, fields);
    return refused;
  }

  /** Removes every key name the plugin reads from the headers and the query, and from the body when it was read. */
  function strip(ctx: RequestContext, fields: BodyFields | null | undefined): void {
    let bodyChanged = false;
    for (const name of names) {
      if (config.key_in_header) ctx.upstreamHeaders.delete(name);
      if (config.key_in_query) ctx.upstreamQuery.delete(name);
      if (fields && fields.get(name) !== undefined) {
        fields.delete(name);
        bodyChanged = true;
      }
    }
    if (bodyChanged) ctx.replaceBody(fields!.encode());
  }

  return {
    access(ctx: RequestContext): AccessResult | Promise<AccessResult> {
      clearIdentityHeaders(ctx);
      if (!config.run_on_preflight && ctx.method === "OPTIONS") return undefined;
      // Kong's logical OR: an earlier authentication plugin already succeeded.
      if (ctx.credential && (config.anonymous !== null || ctx.authFallback)) return undefined;
      const found = find(ctx, undefined);
      // Kong hides the key from the body too, wherever it was found.
      const hideInBody = hidesInBody && typeof found === "object";
      if (found !== NEEDS_BODY && !hideInBody) return authenticate(ctx, found, undefined);
      return bodyFieldsOf(ctx).then((fields) => authenticate(ctx, found === NEEDS_BODY ? (find(ctx, fields) as Found) : found, fields));
    },
  };
}
