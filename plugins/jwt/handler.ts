// The jwt plugin's access phase: Kong's request flow (reference §2) step by step, with SPEC §5.1
// hardening and the §5.2 extensions. Order of checks, and so which message a caller sees, is
// Kong's: token, structure, key claim, credential, algorithm, key, signature, time claims,
// consumer. Looking the credential up before checking the signature tells a caller whether a
// key exists ("No credentials found…" vs "Invalid signature"); SPEC keeps Kong's messages, so
// it keeps Kong's order too. The §5.2 checks come after Kong's: `required_claims`, `issuers`
// and `audiences` answer 401 with a message ("Missing required claim 'x'", "Token issuer not
// allowed", "Token audience not allowed") before the consumer is loaded; roles and scopes
// answer 403 after it (authorization after authentication).
import type { Consumer } from "../../src/entities/consumer.ts";
import type { JwtCredential } from "./credential.ts";
import type { AccessResult, PluginInstance, RequestContext, StateLookups } from "../../src/pipeline/contract.ts";
import { clearIdentityHeaders, refuseOrFallBack, setConsumer, toHeaderValue } from "../../src/pipeline/request-context.ts";
import { type ClaimPath, ClaimRules, claimAt, claimHeaderText, parseClaimPath, timeClaimErrors } from "./claims.ts";
import { type ParsedToken, parseToken } from "./compact.ts";
import { type PreparedCredential, prepareCredential } from "./credentials.ts";
import { type Failure, FailureResponder } from "./failures.ts";
import { type EventLog, type JwksCache, type JwksKey, sharedJwksCache } from "./jwks.ts";
import type { JwtConfig } from "./schema.ts";
import { verifySignature } from "./signature.ts";
import { TokenFinder } from "./token-sources.ts";
import { type VerifiedToken, VerifiedTokenCache } from "./token-cache.ts";

type Outcome = VerifiedToken | Failure;

function isFailure(outcome: Outcome): outcome is Failure {
  return "kind" in outcome;
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Events of the JWKS cache, in the log of the request that caused them. */
function jwksLog(ctx: RequestContext): EventLog {
  return (fields) => ctx.log({ plugin: "jwt", ...fields });
}

export function createJwtInstance(config: JwtConfig, state: StateLookups, jwks: JwksCache = sharedJwksCache): PluginInstance {
  const credentials = state.uniqueIndex<JwtCredential>("jwt_secrets", "key");
  const responder = new FailureResponder(config.key_claim_name, config.realm);
  const finder = new TokenFinder(config, config.hide_credentials);
  const rules = new ClaimRules(config);
  const cache = config.cache_size > 0 ? new VerifiedTokenCache(config.cache_size) : null;
  const claimHeaders: [ClaimPath, string][] = Object.entries(config.claims_to_headers ?? {}).map(([path, header]) => [parseClaimPath(path), header.toLowerCase()]);
  const keyClaim = config.key_claim_name;

  /** Continues as the anonymous consumer, defers to the anonymous plugin, or refuses. */
  function fail(ctx: RequestContext, failure: Failure): AccessResult {
    const tokenMissing = failure === responder.of("missing");
    const refused = refuseOrFallBack(ctx, state, "jwt", config.anonymous, {
      tokenMissing,
      status: failure.kind.status,
      code: failure.metric,
      respond: () => responder.response(failure),
    });
    // The request goes on without a verified token (Kong sends the refused one on): an upstream
    // that reads the token's claims, trusting the gateway checked them, would act on forged ones.
    if (refused === undefined && !tokenMissing) finder.strip(ctx);
    return refused;
  }

  function succeed(ctx: RequestContext, verified: VerifiedToken): AccessResult {
    setConsumer(ctx, verified.consumer, verified.prepared.identity);
    ctx.claims = verified.claims;
    if (verified.groups) ctx.authenticatedGroups = verified.groups;
    if (verified.claimHeaders) for (const [name, value] of verified.claimHeaders) ctx.upstreamHeaders.set(name, value);
    return undefined;
  }

  /** Everything after a good signature: claims, consumer, authorization. */
  function accept(ctx: RequestContext, token: ParsedToken, prepared: PreparedCredential, jwksVersion: number): Outcome {
    const claims = token.claims;
    const timeErrors = timeClaimErrors(claims, config.claims_to_verify, config.leeway, config.maximum_expiration, nowSeconds());
    if (timeErrors) return responder.claims(timeErrors);
    const rejected = rules.authenticate(claims);
    if (rejected !== null) return typeof rejected === "string" ? responder.of(rejected) : responder.requiredClaim(rejected.requiredClaim);
    const consumer: Consumer | undefined = state.consumer(prepared.credential.consumer.id);
    if (!consumer) return responder.consumerMissing(prepared.credential.key);
    const denied = rules.authorize(claims);
    if (denied !== null) return responder.of(denied);
    let headers: [string, string][] | null = null;
    for (const [path, name] of claimHeaders) {
      const text = claimHeaderText(claimAt(claims, path));
      // A value no header can carry (control characters) is left out rather than refused.
      const value = text === null ? null : toHeaderValue(text);
      if (value !== null) (headers ??= []).push([name, value]);
    }
    return { prepared, consumer, claims, groups: rules.groups(claims), claimHeaders: headers, jwksVersion };
  }

  function verifyWithSet(ctx: RequestContext, token: ParsedToken, prepared: PreparedCredential, keys: readonly JwksKey[], version: number): Outcome {
    let usable = false;
    for (const key of keys) {
      const verifier = key.verifierFor(token.alg);
      if (verifier === null) continue;
      usable = true;
      if (verifySignature(token, verifier)) return accept(ctx, token, prepared, version);
    }
    return responder.of(usable ? "signature" : "keyUnavailable");
  }

  /** Kong steps 4–11 for a token not in the cache; a promise only when a JWKS must be fetched. */
  function verify(ctx: RequestContext, raw: string): Outcome | Promise<Outcome> {
    const token = parseToken(raw);
    if (typeof token === "string") return responder.of(token);
    // Kong: `claims[name] or header[name]`; a JSON false counts as absent there too.
    let key = Object.hasOwn(token.claims, keyClaim) ? token.claims[keyClaim] : undefined;
    if (key === undefined || key === false) key = Object.hasOwn(token.header, keyClaim) ? token.header[keyClaim] : undefined;
    if (key === undefined || key === false) return responder.of("noKeyClaim");
    // Kong fails with a 500 on a non-string key claim (e.g. an `aud` array); here it is invalid.
    if (typeof key !== "string" || key === "") return responder.of("invalidKeyClaim");
    const credential = credentials.get(key);
    if (!credential) return responder.of("unknownKey");
    const prepared = prepareCredential(credential, config.secret_is_base64);
    if (!prepared.algorithms.has(token.alg)) return responder.of("algorithm");
    if (prepared.jwks) {
      const { uri, ttlSeconds } = prepared.jwks;
      const log = jwksLog(ctx);
      const keys = jwks.candidates(uri, ttlSeconds, token.header.kid, log);
      if (Array.isArray(keys)) return verifyWithSet(ctx, token, prepared, keys, jwks.version(uri, ttlSeconds, log));
      return (keys as Promise<readonly JwksKey[]>).then((loaded) => verifyWithSet(ctx, token, prepared, loaded, jwks.version(uri, ttlSeconds, log)));
    }
    const verifier = prepared.verifiers.get(token.alg);
    if (!verifier) return responder.of("keyUnavailable");
    if (!verifySignature(token, verifier)) return responder.of("signature");
    return accept(ctx, token, prepared, 0);
  }

  /** A cached verification still holds if its time claims do and its JWKS has not changed. */
  function fromCache(ctx: RequestContext, key: string): VerifiedToken | Failure | null {
    const verified = cache!.get(key);
    if (!verified) return null;
    const source = verified.prepared.jwks;
    if (source && jwks.version(source.uri, source.ttlSeconds, jwksLog(ctx)) !== verified.jwksVersion) {
      cache!.delete(key);
      return null;
    }
    const timeErrors = timeClaimErrors(verified.claims, config.claims_to_verify, config.leeway, config.maximum_expiration, nowSeconds());
    if (!timeErrors) return verified;
    cache!.delete(key);
    return responder.claims(timeErrors);
  }

  /** `key`: the token's cache key, null with the cache off. */
  function conclude(ctx: RequestContext, key: string | null, outcome: Outcome): AccessResult {
    if (isFailure(outcome)) return fail(ctx, outcome);
    if (key !== null) cache!.set(key, outcome);
    return succeed(ctx, outcome);
  }

  return {
    access(ctx: RequestContext): AccessResult | Promise<AccessResult> {
      // The client's copies of the claims_to_headers names are gone already: the plugin declares
      // them (ownedHeaders) and the proxy removes them before the chain runs.
      clearIdentityHeaders(ctx);
      if (!config.run_on_preflight && ctx.method === "OPTIONS") return undefined;
      // Kong's logical OR: an earlier authentication plugin already succeeded.
      if (ctx.credential && (config.anonymous !== null || ctx.authFallback)) return undefined;

      const found = finder.find(ctx.href, ctx.upstreamHeaders);
      if (typeof found === "string") return fail(ctx, responder.of(found));
      if (config.hide_credentials) finder.hide(ctx, found);
      const raw = found.token;
      if (raw.length > config.max_token_bytes) return fail(ctx, responder.of("tooLarge"));

      // Digested once per request: the same key is looked up, and stored after a verification.
      const key = cache ? cache.keyOf(raw) : null;
      if (key !== null) {
        const cached = fromCache(ctx, key);
        if (cached) return isFailure(cached) ? fail(ctx, cached) : succeed(ctx, cached);
      }
      const outcome = verify(ctx, raw);
      if (outcome instanceof Promise) return outcome.then((settled) => conclude(ctx, key, settled));
      return conclude(ctx, key, outcome);
    },
  };
}
