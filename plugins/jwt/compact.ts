// Splits and decodes a compact JWS with exactly jose's structure rules (its base64url decoder,
// strict UTF-8, JSON objects only, `crit`/`b64` as jwtVerify treats them), reporting failures
// in Kong's order: header and payload JSON, then `alg`, then the signature segment.
import { base64url } from "jose";
import { type Algorithm, isAlgorithm } from "../../src/jose/algorithms.ts";

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
// kept (frozen) and only the payload is decoded per request. The segment is the key, so a cached
// header is exactly what decoding it again would give; only segments up to 1 KB are kept, short
// enough to key by themselves. Segments are attacker-chosen, so the cache is bounded in entries
// and in estimated bytes, and emptied when full: an issuer's header is back after one request,
// and a flood of distinct ones never holds more than the bounds.
const MAX_CACHED_HEADERS = 256;
const MAX_CACHED_SEGMENT = 1024;
const HEADER_BUDGET = 256 * 1024;
/** The Map entry and the key string's cell. */
const HEADER_OVERHEAD = 64;
const headers = new Map<string, Readonly<Record<string, unknown>> | null>();
let headerBytes = 0;

function decodeHeader(segment: string): Record<string, unknown> | null {
  const cached = headers.get(segment);
  if (cached !== undefined) return cached;
  const decoded = decodeObject(segment);
  if (segment.length <= MAX_CACHED_SEGMENT) {
    const bytes = HEADER_OVERHEAD + segment.length + heldBytes(decoded, HEADER_BUDGET);
    if (headers.size >= MAX_CACHED_HEADERS || headerBytes + bytes > HEADER_BUDGET) {
      headers.clear();
      headerBytes = 0;
    }
    headers.set(segment, decoded && Object.freeze(decoded));
    headerBytes += bytes;
  }
  return decoded;
}

/** Estimated bytes the decoded-header cache holds, at most its budget of 256 KiB. */
export function cachedHeaderBytes(): number {
  return headerBytes;
}

/**
 * Roughly what JSC holds for parsed JSON, measured with bun:jsc's heapStats: a slot per element
 * or property, a cell for each string, array and object, a byte per character (two for text
 * beyond Latin-1, so the estimate is within 2× there) and a property-table entry per key. A walk
 * rather than the text's length, as `[[],[],…]` holds 24× its JSON text. Iterative, since JSON
 * nests as deep as JSON.parse allows; stops once past `limit`.
 */
export function heldBytes(value: unknown, limit: number): number {
  let bytes = 0;
  const pending: unknown[] = [value];
  while (pending.length > 0 && bytes <= limit) {
    const next = pending.pop();
    bytes += 8;
    if (typeof next === "string") bytes += 24 + next.length;
    else if (Array.isArray(next)) {
      bytes += 64;
      for (const item of next) pending.push(item);
    } else if (typeof next === "object" && next !== null) {
      bytes += 64;
      for (const key of Object.keys(next)) {
        bytes += 24 + key.length;
        pending.push((next as Record<string, unknown>)[key]);
      }
    }
  }
  return bytes;
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
