// Splits and decodes a compact JWS with exactly jose's structure rules (its base64url decoder,
// strict UTF-8, JSON objects only, `crit`/`b64` as jwtVerify treats them), reporting failures
// in Kong's order: header and payload JSON, then `alg`, then the signature segment.
import { base64url } from "jose";
import { type Algorithm, isAlgorithm } from "./algorithms.ts";

export interface ParsedToken {
  readonly header: Record<string, unknown>;
  readonly claims: Record<string, unknown>;
  readonly alg: Algorithm;
  /** `<header>.<payload>` exactly as sent: what the signature covers. */
  readonly signingInput: string;
  readonly signature: Uint8Array;
}

export type ParseFailure = "invalidJson" | "invalidAlg" | "unsupportedCrit" | "invalidSignatureEncoding";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

// Clients of one issuer send the same header segment with every token, so decoded headers are
// kept (frozen, bounded) and only the payload is decoded per request. The segment is the key,
// so a cached header is exactly what decoding it again would give.
const MAX_CACHED_HEADERS = 256;
const headers = new Map<string, Readonly<Record<string, unknown>> | null>();

function decodeHeader(segment: string): Record<string, unknown> | null {
  const cached = headers.get(segment);
  if (cached !== undefined) return cached;
  const decoded = decodeObject(segment);
  if (segment.length <= 1024) {
    if (headers.size >= MAX_CACHED_HEADERS) headers.clear();
    headers.set(segment, decoded && Object.freeze(decoded));
  }
  return decoded;
}

function decodeObject(segment: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(strictUtf8.decode(base64url.decode(segment)));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * jose understands only the `b64` extension, and jwtVerify refuses `b64: false` (unencoded
 * payloads are not JWTs); any other critical header makes the token unusable (RFC 7515 §4.1.11).
 */
function critIsSupported(header: Record<string, unknown>): boolean {
  const crit = header.crit;
  if (crit === undefined) return true;
  if (!Array.isArray(crit) || crit.length === 0) return false;
  for (const name of crit) if (name !== "b64") return false;
  return header.b64 === true;
}

export function parseToken(token: string): ParsedToken | ParseFailure {
  const first = token.indexOf(".");
  const second = first < 0 ? -1 : token.indexOf(".", first + 1);
  if (second < 0) return "invalidJson";
  const header = decodeHeader(token.slice(0, first));
  if (header === null) return "invalidJson";
  const claims = decodeObject(token.slice(first + 1, second));
  if (claims === null) return "invalidJson";
  const alg = header.alg;
  if (!isAlgorithm(alg)) return "invalidAlg";
  if (!critIsSupported(header)) return "unsupportedCrit";
  const encodedSignature = token.slice(second + 1);
  // A fourth segment is not base64url (Kong keeps it in the signature, jose refuses the token).
  if (encodedSignature.includes(".")) return "invalidSignatureEncoding";
  let signature: Uint8Array;
  try {
    signature = base64url.decode(encodedSignature);
  } catch {
    return "invalidSignatureEncoding";
  }
  return { header, claims, alg, signingInput: token.slice(0, second), signature };
}
