// Successful password verifications, so steady traffic does not pay argon2 (tens of ms, by
// design) per request. Keyed by the SHA-256 of the whole Authorization value: the password is
// not kept, only the digest of a header that already proved it. An entry holds the stored hash
// it was verified against, so a changed password misses. Bounded in entries and in bytes; the
// oldest entries go first. Shared by every instance (a config change does not empty it).
const MAX_ENTRIES = 10_000;
const MAX_BYTES = 4 * 1024 * 1024;
/** Map entry, key, id and bookkeeping, besides the stored hash. */
const ENTRY_OVERHEAD = 256;

interface Verified {
  credentialId: string;
  passwordHash: string;
  bytes: number;
}

export class VerifiedPasswordCache {
  private readonly entries = new Map<string, Verified>();
  private bytes = 0;

  constructor(
    private readonly maxEntries = MAX_ENTRIES,
    private readonly maxBytes = MAX_BYTES,
  ) {}

  static keyOf(authorization: string): string {
    return new Bun.CryptoHasher("sha256").update(authorization).digest("base64");
  }

  /** True when this header was verified against exactly this credential and stored hash. */
  has(key: string, credentialId: string, passwordHash: string): boolean {
    const hit = this.entries.get(key);
    return hit !== undefined && hit.credentialId === credentialId && hit.passwordHash === passwordHash;
  }

  add(key: string, credentialId: string, passwordHash: string): void {
    this.delete(key);
    const entry = { credentialId, passwordHash, bytes: ENTRY_OVERHEAD + key.length + credentialId.length + passwordHash.length };
    this.entries.set(key, entry);
    this.bytes += entry.bytes;
    for (const [oldest, old] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= old.bytes;
    }
  }

  delete(key: string): void {
    const old = this.entries.get(key);
    if (!old) return;
    this.entries.delete(key);
    this.bytes -= old.bytes;
  }

  get size(): number {
    return this.entries.size;
  }

  get byteSize(): number {
    return this.bytes;
  }
}

export const sharedPasswordCache = new VerifiedPasswordCache();
