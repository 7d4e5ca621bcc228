// Claim checks after the signature: Kong's claims_to_verify and maximum_expiration (bodies keyed
// by claim, as Kong sends them), then the allow-lists, required claims, roles and scopes of
// SPEC §5.2. Claims are read as own properties only, so `constructor` or `__proto__` never
// resolve to something the token did not contain.
import type { JwtConfig } from "./schema.ts";

export type ClaimPath = readonly string[];

export function parseClaimPath(path: string): ClaimPath {
  return path.split(".");
}

export function claimAt(claims: Record<string, unknown>, path: ClaimPath): unknown {
  let current: unknown = claims;
  for (const name of path) {
    if (typeof current !== "object" || current === null || Array.isArray(current) || !Object.hasOwn(current, name)) return undefined;
    current = (current as Record<string, unknown>)[name];
  }
  return current;
}

export type TimeClaim = "exp" | "nbf" | "iat";

/**
 * Kong's registered-claim check, plus `iat` and leeway: every listed claim must be a number and
 * valid at `now` (epoch seconds); all failures are reported together. `maximum_expiration`
 * applies only when they pass, as in Kong.
 */
export function timeClaimErrors(
  claims: Record<string, unknown>,
  toVerify: readonly TimeClaim[] | null,
  leeway: number,
  maximumExpiration: number,
  now: number,
): Record<string, string> | null {
  let errors: Record<string, string> | null = null;
  if (toVerify !== null) {
    for (const name of toVerify) {
      const value = Object.hasOwn(claims, name) ? claims[name] : undefined;
      let why: string | null = null;
      if (typeof value !== "number") why = "must be a number";
      else if (name === "exp" && value + leeway <= now) why = "token expired";
      else if (name === "nbf" && value - leeway > now) why = "token not valid yet";
      else if (name === "iat" && value - leeway > now) why = "token issued in the future";
      if (why !== null) (errors ??= {})[name] = why;
    }
  }
  if (errors === null && maximumExpiration > 0) {
    const exp = claims.exp;
    if (typeof exp !== "number" || exp - now > maximumExpiration) errors = { exp: "exceeds maximum allowed expiration" };
  }
  return errors;
}

function stringsOf(value: unknown, splitSpaces: boolean): string[] {
  if (typeof value === "string") return splitSpaces ? value.split(" ").filter(Boolean) : [value];
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === "string");
  return [];
}

/** Why `authenticate` refused a token: a claim missing, or `iss` / `aud` not allowed. */
export type AuthenticationFailure = "issuer" | "audience" | { readonly requiredClaim: string };

/** The optional claim rules of one plugin config, precompiled. */
export class ClaimRules {
  private readonly issuers: ReadonlySet<string> | null;
  private readonly audiences: ReadonlySet<string> | null;
  private readonly required: readonly string[];
  private readonly rolesPath: ClaimPath | null;
  private readonly roles: ReadonlySet<string> | null;
  private readonly scopesPath: ClaimPath;
  private readonly scopes: readonly string[] | null;
  private readonly allScopes: boolean;
  private readonly groupsPath: ClaimPath | null;

  constructor(config: JwtConfig) {
    this.issuers = config.issuers && new Set(config.issuers);
    this.audiences = config.audiences && new Set(config.audiences);
    this.required = config.required_claims ?? [];
    this.rolesPath = config.roles_claim === null ? null : parseClaimPath(config.roles_claim);
    this.roles = config.roles && new Set(config.roles);
    this.scopesPath = parseClaimPath(config.scopes_claim);
    this.scopes = config.scopes;
    this.allScopes = config.scopes_match === "all";
    this.groupsPath = config.groups_claim === null ? null : parseClaimPath(config.groups_claim);
  }

  /** Who may present the token at all (401 when not): required claims, `iss`, `aud`. */
  authenticate(claims: Record<string, unknown>): AuthenticationFailure | null {
    for (const name of this.required) if (!Object.hasOwn(claims, name)) return { requiredClaim: name };
    if (this.issuers !== null) {
      const iss = Object.hasOwn(claims, "iss") ? claims.iss : undefined;
      if (typeof iss !== "string" || !this.issuers.has(iss)) return "issuer";
    }
    if (this.audiences !== null) {
      const aud = Object.hasOwn(claims, "aud") ? claims.aud : undefined;
      if (!stringsOf(aud, false).some((value) => this.audiences!.has(value))) return "audience";
    }
    return null;
  }

  /** What the token may do (403 when not): any one role, any or all scopes. */
  authorize(claims: Record<string, unknown>): "role" | "scope" | null {
    if (this.roles !== null && !stringsOf(claimAt(claims, this.rolesPath!), false).some((role) => this.roles!.has(role))) return "role";
    if (this.scopes !== null) {
      const granted = new Set(stringsOf(claimAt(claims, this.scopesPath), true));
      const ok = this.allScopes ? this.scopes.every((s) => granted.has(s)) : this.scopes.some((s) => granted.has(s));
      if (!ok) return "scope";
    }
    return null;
  }

  /** The token's groups for acl, or null when no groups_claim is configured or none are present. */
  groups(claims: Record<string, unknown>): string[] | null {
    if (this.groupsPath === null) return null;
    const groups = stringsOf(claimAt(claims, this.groupsPath), false);
    return groups.length ? groups : null;
  }
}

/** A claim value as header text: scalars as themselves, arrays comma-joined, objects as JSON. */
export function claimHeaderText(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value) && value.every((item) => typeof item !== "object" || item === null)) return value.map(String).join(",");
  return JSON.stringify(value);
}
