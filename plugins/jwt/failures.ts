// Every way the jwt plugin can refuse a request, defined once: status, Kong's exact message,
// the WWW-Authenticate challenge and the metric label. The handler only picks one.
import { JSON_CONTENT_TYPE } from "../../src/proxy/responses.ts";

/** `base`: no token was sent; `invalid_token`/`insufficient_scope`: RFC 6750 error codes. */
type Challenge = "base" | "invalid_token" | "insufficient_scope" | null;

interface FailureKind {
  readonly status: 401 | 403;
  readonly metric: string;
  readonly challenge: Challenge;
  /** `{claim}` stands for the configured key_claim_name. */
  readonly message: string;
}

const kind = (status: 401 | 403, metric: string, challenge: Challenge, message: string): FailureKind => ({ status, metric, challenge, message });

export const FAILURES = {
  missing: kind(401, "jwt:missing", "base", "Unauthorized"),
  multiple: kind(401, "jwt:multiple_tokens", "invalid_token", "Multiple tokens provided"),
  unrecognizable: kind(401, "jwt:malformed", "invalid_token", "Unrecognizable token"),
  tooLarge: kind(401, "jwt:too_large", "invalid_token", "Bad token; too large"),
  invalidJson: kind(401, "jwt:malformed", "invalid_token", "Bad token; invalid JSON"),
  invalidAlg: kind(401, "jwt:malformed", "invalid_token", "Bad token; invalid alg"),
  unsupportedCrit: kind(401, "jwt:malformed", "invalid_token", "Bad token; unsupported critical header"),
  invalidSignatureEncoding: kind(401, "jwt:malformed", "invalid_token", "Bad token; invalid signature"),
  noKeyClaim: kind(401, "jwt:no_key_claim", "invalid_token", "No mandatory '{claim}' in claims"),
  invalidKeyClaim: kind(401, "jwt:invalid_key_claim", "invalid_token", "Invalid '{claim}' in claims"),
  unknownKey: kind(401, "jwt:unknown_credential", "invalid_token", "No credentials found for given '{claim}'"),
  algorithm: kind(401, "jwt:algorithm", "invalid_token", "Invalid algorithm"),
  keyUnavailable: kind(401, "jwt:key_unavailable", "invalid_token", "Invalid key/secret"),
  signature: kind(401, "jwt:signature", "invalid_token", "Invalid signature"),
  issuer: kind(401, "jwt:issuer", "invalid_token", "Token issuer not allowed"),
  audience: kind(401, "jwt:audience", "invalid_token", "Token audience not allowed"),
  requiredClaim: kind(401, "jwt:required_claim", "invalid_token", "Missing required claim"),
  consumerMissing: kind(401, "jwt:consumer_missing", null, "Could not find consumer"),
  role: kind(403, "jwt:role", "insufficient_scope", "Missing required role"),
  scope: kind(403, "jwt:scope", "insufficient_scope", "Missing required scope"),
  /** claims_to_verify / maximum_expiration: the body is `{ "<claim>": "<why>" }`, as in Kong. */
  claims: kind(401, "jwt:claims", "invalid_token", ""),
} as const;

export type FailureName = keyof typeof FAILURES;

/** One refusal: which kind, its exact body, and the metric label. */
export interface Failure {
  readonly kind: FailureKind;
  readonly body: string;
  readonly metric: string;
}

/** Metric label of a claims failure, by the first claim's reason. */
const CLAIM_METRICS: Readonly<Record<string, string>> = {
  "token expired": "jwt:expired",
  "token not valid yet": "jwt:not_yet_valid",
  "token issued in the future": "jwt:issued_in_future",
  "exceeds maximum allowed expiration": "jwt:max_expiration",
};

/**
 * Builds the responses of one plugin instance. Fixed failures are made once, so refusing a
 * request allocates only the Response itself.
 */
export class FailureResponder {
  private readonly fixed = new Map<FailureName, Failure>();
  private readonly challenges: Record<Exclude<Challenge, null>, string>;

  constructor(
    private readonly keyClaimName: string,
    realm: string | null,
  ) {
    const prefix = realm === null ? "Bearer" : `Bearer realm="${realm}"`;
    const withError = (code: string) => (realm === null ? `Bearer error="${code}"` : `${prefix}, error="${code}"`);
    this.challenges = { base: prefix, invalid_token: withError("invalid_token"), insufficient_scope: withError("insufficient_scope") };
  }

  /** A failure whose body is Kong's message for that kind. */
  of(name: Exclude<FailureName, "claims" | "requiredClaim" | "consumerMissing">): Failure {
    let failure = this.fixed.get(name);
    if (!failure) {
      const k = FAILURES[name];
      failure = { kind: k, body: JSON.stringify({ message: k.message.replace("{claim}", this.keyClaimName) }), metric: k.metric };
      this.fixed.set(name, failure);
    }
    return failure;
  }

  /** Kong's `{"exp":"token expired"}` style body, one entry per failed claim. */
  claims(errors: Record<string, string>): Failure {
    const first = Object.values(errors)[0] ?? "";
    return { kind: FAILURES.claims, body: JSON.stringify(errors), metric: CLAIM_METRICS[first] ?? "jwt:invalid_claim" };
  }

  requiredClaim(claim: string): Failure {
    return { kind: FAILURES.requiredClaim, body: JSON.stringify({ message: `Missing required claim '${claim}'` }), metric: FAILURES.requiredClaim.metric };
  }

  consumerMissing(key: string): Failure {
    const body = JSON.stringify({ message: `Could not find consumer for '${this.keyClaimName}=${key}'` });
    return { kind: FAILURES.consumerMissing, body, metric: FAILURES.consumerMissing.metric };
  }

  response(failure: Failure): Response {
    const challenge = failure.kind.challenge;
    const headers: Record<string, string> = { "content-type": JSON_CONTENT_TYPE };
    if (challenge !== null) headers["www-authenticate"] = this.challenges[challenge];
    return new Response(failure.body, { status: failure.kind.status, headers });
  }
}
