// Deterministic corpus of hostile tokens derived from valid ones, shared by the differential
// test (node:crypto path vs jose) and the proxy fuzz test: bit flips, truncation, re-encoded
// headers with other algs (none included), random and non-object JSON, huge values, non-string
// key claims, odd base64url (padding, whitespace, the standard alphabet), critical headers.
import { base64url } from "jose";
import { ALGORITHMS } from "../../src/jose/algorithms.ts";

export type Random = () => number;

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const int = (random: Random, max: number) => Math.floor(random() * max);

const encodeText = (text: string) => base64url.encode(text);
const segments = (token: string) => token.split(".");

function decodeText(segment: string): string | null {
  try {
    return new TextDecoder().decode(base64url.decode(segment));
  } catch {
    return null;
  }
}

const TRICKY_KEYS = ["alg", "iss", "kid", "exp", "nbf", "iat", "aud", "sub", "crit", "b64", "__proto__", "constructor", "toString", "typ", "jwk", "jku", "x5u", "x5c"];
const TRICKY_STRINGS = ["", " ", "none", "HS256", "RS256", "ES256", "EdDSA", "é", "日本", "\u0000", "\uffff", "a\nb", "x".repeat(300), "\"", "\\"];
const RAW_NUMBERS = ["0", "-0", "1e400", "-1e400", "1e-400", "9007199254740993", "1.5", "-1", "4294967296", "2e9"];

/** Random JSON text: values, nesting, tricky keys, numbers JSON.parse turns into Infinity. */
export function randomJson(random: Random, depth = 0): string {
  const roll = random();
  if (depth > 3 || roll < 0.3) {
    return pick(random, [
      () => "null",
      () => pick(random, ["true", "false"]),
      () => pick(random, RAW_NUMBERS),
      () => String(Math.floor(random() * 4e9)),
      () => JSON.stringify(pick(random, TRICKY_STRINGS)),
      () => JSON.stringify(Array.from({ length: int(random, 20) }, () => String.fromCharCode(32 + int(random, 95))).join("")),
    ])();
  }
  if (roll < 0.5) return `[${Array.from({ length: int(random, 4) }, () => randomJson(random, depth + 1)).join(",")}]`;
  const entries = Array.from({ length: int(random, 5) }, () => `${JSON.stringify(pick(random, TRICKY_KEYS))}:${randomJson(random, depth + 1)}`);
  return `{${entries.join(",")}}`;
}

function replaceSegment(token: string, index: number, segment: string): string {
  const parts = segments(token);
  parts[index] = segment;
  return parts.join(".");
}

/** Edits the header's (0) or payload's (1) JSON object, keeping the other segments as they are. */
function editJson(token: string, index: 0 | 1, edit: (value: Record<string, unknown>) => void): string {
  const text = decodeText(segments(token)[index] ?? "");
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text ?? "{}") as Record<string, unknown>;
  } catch {
    value = {};
  }
  if (typeof value !== "object" || value === null) value = {};
  edit(value);
  return replaceSegment(token, index, encodeText(JSON.stringify(value)));
}

const ALG_VALUES: unknown[] = [...ALGORITHMS, "none", "None", "NONE", "", "HS256 ", "hs256", "RS1", null, 1, ["HS256"], { alg: "HS256" }, true];
const KEY_CLAIM_VALUES: unknown[] = [42, 0, -1, 1e300, null, true, false, [], ["x"], {}, { iss: "x" }, "", " ", "x".repeat(2000)];

type Mutation = (token: string, random: Random, others: readonly string[]) => string;

const MUTATIONS: Mutation[] = [
  // A bit of one character, anywhere (stays within Latin-1: every client can send it).
  (token, random) => {
    const at = int(random, token.length);
    const code = token.charCodeAt(at) ^ (1 << int(random, 8));
    return token.slice(0, at) + String.fromCharCode(code) + token.slice(at + 1);
  },
  // A bit of the decoded bytes of one segment, re-encoded canonically.
  (token, random) => {
    const index = int(random, 3);
    const parts = segments(token);
    let bytes: Uint8Array;
    try {
      bytes = base64url.decode(parts[index] ?? "");
    } catch {
      return token;
    }
    if (bytes.length === 0) return token;
    const copy = new Uint8Array(bytes);
    copy[int(random, copy.length)]! ^= 1 << int(random, 8);
    return replaceSegment(token, index, base64url.encode(copy));
  },
  (token, random) => token.slice(0, int(random, token.length)),
  (token, random) => token.slice(int(random, token.length)),
  (token, random) => editJson(token, 0, (header) => (header.alg = pick(random, ALG_VALUES))),
  (token, random) => editJson(token, 0, (header) => delete header.alg),
  (token, random) => replaceSegment(token, 0, encodeText(randomJson(random))),
  (token, random) => replaceSegment(token, 1, encodeText(randomJson(random))),
  (token, random) => replaceSegment(token, int(random, 2), encodeText(pick(random, ["null", "42", "[]", '"x"', "true", "", "{", "\ufeff{}"]))),
  (token, random) => editJson(token, 1, (claims) => (claims.iss = pick(random, KEY_CLAIM_VALUES))),
  (token, random) => editJson(token, 1, (claims) => (claims[pick(random, TRICKY_KEYS)] = "x".repeat(int(random, 9000)))),
  (token, random) => editJson(token, 1, (claims) => (claims.exp = pick(random, [1, -1, "2e9", null, 1e308, 2e9]))),
  (token, random) =>
    editJson(token, 0, (header) => {
      header.crit = pick(random, [["b64"], ["exp"], [], "b64", [1], ["b64", "b64"], [""]]);
      if (random() < 0.7) header.b64 = pick(random, [true, false, "true", 0]);
    }),
  (token, random) => editJson(token, 0, (header) => (header[pick(random, ["jwk", "jku", "x5u", "x5c", "kid"])] = pick(random, [{ kty: "oct", k: "AAAA" }, "http://127.0.0.1:1/jwks", ["MIIB"], 7]))),
  // Odd base64url: padding, whitespace, the standard alphabet.
  (token, random) => token + pick(random, ["=", "==", "===", ".", "..", " ", "\t"]),
  (token, random) => {
    const at = int(random, token.length);
    return token.slice(0, at) + pick(random, ["=", " ", "\n", "\t", "+", "/", "%", "*", ".", "é", "\u0000"]) + token.slice(at);
  },
  (token) => token.replace(/-/g, "+").replace(/_/g, "/"),
  (token, random) => replaceSegment(token, 2, pick(random, ["", "A", "AA", "AAA", "AAAA", "A".repeat(int(random, 900))])),
  (token, random) => replaceSegment(token, 2, base64url.encode(Uint8Array.from({ length: pick(random, [1, 31, 32, 48, 63, 64, 65, 96, 132, 255, 256, 257, 512]) }, () => int(random, 256)))),
  (token, random, others) => replaceSegment(token, 2, segments(pick(random, others))[2] ?? ""),
  (token, random, others) => replaceSegment(token, 1, segments(pick(random, others))[1] ?? ""),
  (token, random, others) => replaceSegment(token, 0, segments(pick(random, others))[0] ?? ""),
  (token, random) => segments(token).filter((_, i) => i !== int(random, 3)).join("."),
  (token, random) => Array.from({ length: int(random, 300) }, () => String.fromCharCode(32 + int(random, 95))).join(""),
  (token, random) => `${token}.${token}`.slice(0, token.length + int(random, token.length)),
];

/** One random mutation (sometimes two or three stacked) of a valid token. */
export function mutate(token: string, random: Random, others: readonly string[]): string {
  let result = token;
  const rounds = random() < 0.8 ? 1 : 2 + int(random, 2);
  for (let i = 0; i < rounds; i++) result = pick(random, MUTATIONS)(result, random, others);
  return result;
}

export function buildCorpus(valid: readonly string[], count: number, seed: number): string[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => mutate(pick(random, valid), random, valid));
}

/** The malformations of the Kong reference table (§3) applied to one valid token. */
export function referenceCases(token: string): string[] {
  const [header = "", payload = "", signature = ""] = segments(token);
  return [
    "",
    "abc",
    `${header}.${payload}`,
    `${header}.${payload}.`,
    `${encodeText("{not json")}.${payload}.${signature}`,
    `${header}.${encodeText("nope")}.${signature}`,
    `${encodeText("null")}.${payload}.${signature}`,
    `${encodeText("42")}.${payload}.${signature}`,
    `${header}.${encodeText("null")}.${signature}`,
    `${header}.${encodeText("[1]")}.${signature}`,
    editJson(token, 0, (h) => delete h.alg),
    editJson(token, 0, (h) => (h.alg = "none")),
    editJson(token, 0, (h) => (h.alg = 256)),
    `${header}.${payload}.a+b/c`,
    `${header}.${payload}.${signature}.extra`,
    `${header}.${payload}.@@@`,
    editJson(token, 1, (c) => delete c.iss),
    editJson(token, 1, (c) => (c.iss = "")),
    editJson(token, 1, (c) => (c.iss = 42)),
    editJson(token, 1, (c) => (c.iss = ["a"])),
    editJson(token, 1, (c) => (c.exp = 1)),
    `${header}.${payload}.${"A".repeat(43)}`,
    `${header}.${payload}.AAAA`,
  ];
}

/** True when `candidate` carries the same signed bytes and the same signature as `original`. */
export function sameSignedContent(candidate: string, original: string): boolean {
  const a = segments(candidate);
  const b = segments(original);
  if (a.length !== 3 || a[0] !== b[0] || a[1] !== b[1]) return false;
  try {
    return Buffer.from(base64url.decode(a[2]!)).equals(Buffer.from(base64url.decode(b[2]!)));
  } catch {
    return false;
  }
}
