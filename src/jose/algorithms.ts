// The JWS algorithms the gateway knows (RFC 7518, RFC 8037): one table of what each needs — key
// family, digest, curve, smallest key — read by verification, key checks, generation and the
// schemas. jose refuses RSA keys under 2048 bits for RS*/PS*, so the table does too, on write.

interface AlgorithmFacts {
  /** Algorithms of one family can share a key: "oct", "rsa", "ec:<curve>", "okp:Ed25519". */
  readonly family: string;
  /** The digest it signs with; EdDSA hashes internally. */
  readonly hash: "sha256" | "sha384" | "sha512" | null;
  /** The curve of an EC or OKP key. */
  readonly curve: "P-256" | "P-384" | "P-521" | "Ed25519" | null;
  /** The fewest key bits: the RSA modulus, or an HMAC secret as long as the hash (RFC 7518 §3.2). */
  readonly minBits: number | null;
}

export const MIN_RSA_BITS = 2048;

const TABLE = {
  HS256: { family: "oct", hash: "sha256", curve: null, minBits: 256 },
  HS384: { family: "oct", hash: "sha384", curve: null, minBits: 384 },
  HS512: { family: "oct", hash: "sha512", curve: null, minBits: 512 },
  RS256: { family: "rsa", hash: "sha256", curve: null, minBits: MIN_RSA_BITS },
  RS384: { family: "rsa", hash: "sha384", curve: null, minBits: MIN_RSA_BITS },
  RS512: { family: "rsa", hash: "sha512", curve: null, minBits: MIN_RSA_BITS },
  PS256: { family: "rsa", hash: "sha256", curve: null, minBits: MIN_RSA_BITS },
  PS384: { family: "rsa", hash: "sha384", curve: null, minBits: MIN_RSA_BITS },
  PS512: { family: "rsa", hash: "sha512", curve: null, minBits: MIN_RSA_BITS },
  ES256: { family: "ec:P-256", hash: "sha256", curve: "P-256", minBits: null },
  ES384: { family: "ec:P-384", hash: "sha384", curve: "P-384", minBits: null },
  ES512: { family: "ec:P-521", hash: "sha512", curve: "P-521", minBits: null },
  EdDSA: { family: "okp:Ed25519", hash: null, curve: "Ed25519", minBits: null },
} as const satisfies Record<string, AlgorithmFacts>;

export type Algorithm = keyof typeof TABLE;
export const ALGORITHMS = Object.keys(TABLE) as Algorithm[];

/** The asymmetric algorithms: what the keystore holds and jwt-signer signs with. */
export const SIGNING_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"] as const satisfies readonly Algorithm[];
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

export function isAlgorithm(value: unknown): value is Algorithm {
  return typeof value === "string" && Object.hasOwn(TABLE, value);
}

export function factsOf(alg: Algorithm): AlgorithmFacts {
  return TABLE[alg];
}

export function isHmac(alg: string): boolean {
  return alg.startsWith("HS");
}

/** The key family an algorithm verifies with: algorithms of one family can share a key. */
export function keyFamily(alg: Algorithm): string {
  return TABLE[alg].family;
}

/** The digest an algorithm signs with (EdDSA hashes internally). */
export function hashOf(alg: Algorithm): "sha256" | "sha384" | "sha512" | null {
  return TABLE[alg].hash;
}
