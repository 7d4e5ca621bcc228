// `GET /.well-known/jwks.json` on the proxy listener (SPEC §5.5): the public halves of the
// published keystore keys, so a `jwt` credential with `jwks_uri` (or any other verifier)
// checks what jwt-signer signed. The document is built once per snapshot, and again only
// when a retired key's `retire_after` passes.
import { MethodNotAllowedError } from "../errors.ts";
import { now } from "../entities/common.ts";
import type { KeyRecord } from "../entities/key.ts";
import { JSON_CONTENT_TYPE, messageResponse } from "../proxy/responses.ts";
import type { BuiltinEndpoint } from "../proxy/server.ts";
import type { Snapshot } from "../state/snapshot.ts";
import { nextExpiry, publishedKeys } from "./lifecycle.ts";

export const JWKS_PATH = "/.well-known/jwks.json";

/** How long verifiers may cache the set; shorter when a published key expires sooner. */
export const JWKS_MAX_AGE_SECONDS = 300;

/**
 * The JWK members a published key may carry. An allow-list rather than removing private
 * members, so no stored field can ever reach the set by accident.
 */
const PUBLIC_MEMBERS = ["kty", "crv", "x", "y", "n", "e"] as const;

function publicJwk(key: KeyRecord): Record<string, unknown> {
  const jwk: Record<string, unknown> = {};
  for (const member of PUBLIC_MEMBERS) if (key.public_jwk[member] !== undefined) jwk[member] = key.public_jwk[member];
  return { ...jwk, kid: key.kid, alg: key.alg, use: "sig" };
}

/** The JWK set `{"keys": [...]}` of the keys published at `at`. */
export function jwksDocument(keys: readonly KeyRecord[], at: number): { keys: Record<string, unknown>[] } {
  return { keys: publishedKeys(keys, at).map(publicJwk) };
}

interface Published {
  body: string;
  /** Epoch second from which `body` is stale (a key in it expires), or null. */
  validUntil: number | null;
}

const ALLOW = "GET, HEAD";

/** The endpoint, with a clock for tests; the gateway uses `keystoreEndpoints`. */
export function createJwksEndpoint(clock: () => number = now): BuiltinEndpoint {
  const bySnapshot = new WeakMap<Snapshot, Published>();
  return (request, snapshot) => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      const refused = new MethodNotAllowedError();
      return messageResponse(refused.status, refused.message, { allow: ALLOW });
    }
    const at = clock();
    let published = bySnapshot.get(snapshot);
    if (!published || (published.validUntil !== null && at >= published.validUntil)) {
      published = { body: JSON.stringify(jwksDocument(snapshot.keys, at)), validUntil: nextExpiry(snapshot.keys, at) };
      bySnapshot.set(snapshot, published);
    }
    const maxAge = published.validUntil === null ? JWKS_MAX_AGE_SECONDS : Math.min(JWKS_MAX_AGE_SECONDS, published.validUntil - at);
    return new Response(published.body, {
      headers: { "content-type": JSON_CONTENT_TYPE, "cache-control": `public, max-age=${maxAge}` },
    });
  };
}

/** The gateway's own endpoints on the proxy listener, by exact path. */
export const keystoreEndpoints: ReadonlyMap<string, BuiltinEndpoint> = new Map([[JWKS_PATH, createJwksEndpoint()]]);
