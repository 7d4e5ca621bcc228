// The 13 JWS algorithms the jwt plugin accepts, and which key type each one needs.
export const ALGORITHMS = [
  "HS256", "HS384", "HS512",
  "RS256", "RS384", "RS512",
  "PS256", "PS384", "PS512",
  "ES256", "ES384", "ES512",
  "EdDSA",
] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

const algorithmSet: ReadonlySet<string> = new Set(ALGORITHMS);
export function isAlgorithm(value: unknown): value is Algorithm {
  return typeof value === "string" && algorithmSet.has(value);
}

export function isHmac(alg: string): boolean {
  return alg.startsWith("HS");
}

/** The key family an algorithm verifies with: algorithms of one family can share a key. */
export function keyFamily(alg: Algorithm): string {
  switch (alg) {
    case "ES256": return "ec:P-256";
    case "ES384": return "ec:P-384";
    case "ES512": return "ec:P-521";
    case "EdDSA": return "okp:Ed25519";
    default: return isHmac(alg) ? "oct" : "rsa";
  }
}

/** The digest an algorithm signs with (EdDSA hashes internally). */
export function hashOf(alg: Algorithm): "sha256" | "sha384" | "sha512" | null {
  if (alg === "EdDSA") return null;
  const bits = alg.slice(2);
  return bits === "256" ? "sha256" : bits === "384" ? "sha384" : "sha512";
}
