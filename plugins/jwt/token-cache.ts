// Verified tokens of one plugin instance (SPEC §5.2), so a token is not re-verified on every
// request. Bounded (oldest entry out first); the instance, and with it this cache, is rebuilt on
// every config change, so a changed credential or consumer never answers from here. Time claims
// are re-checked on every hit by the caller.
import type { Consumer } from "../../src/model/consumer.ts";
import type { PreparedCredential } from "./credentials.ts";

export interface VerifiedToken {
  readonly prepared: PreparedCredential;
  readonly consumer: Consumer;
  readonly claims: Record<string, unknown>;
  readonly groups: string[] | null;
  /** Upstream headers from claims_to_headers, as [name, value]. */
  readonly claimHeaders: readonly (readonly [string, string])[] | null;
  /** Version of the JWKS the key came from (jwks credentials), to redo it after a rotation. */
  readonly jwksVersion: number;
}

export class VerifiedTokenCache {
  private readonly entries = new Map<string, VerifiedToken>();

  constructor(private readonly capacity: number) {}

  get(token: string): VerifiedToken | undefined {
    return this.entries.get(token);
  }

  set(token: string, verified: VerifiedToken): void {
    if (this.entries.size >= this.capacity && !this.entries.has(token)) {
      this.entries.delete(this.entries.keys().next().value!);
    }
    this.entries.set(token, verified);
  }

  delete(token: string): void {
    this.entries.delete(token);
  }

  get size(): number {
    return this.entries.size;
  }
}
