// Test support for the authentication plugins: a gateway with an echo upstream behind one
// route, and tokens signed with jose (or crafted byte by byte for malformed cases).
import { CompactSign, base64url, exportJWK, exportSPKI, generateKeyPair, generateSecret } from "jose";
import { KeyObject, constants, createHmac, sign as nodeSign } from "node:crypto";
import { type TestGateway, startTestGateway } from "./gateway.ts";
import { type Echo, type TestUpstream, startUpstream } from "./upstream.ts";
import { type Algorithm, hashOf } from "../../src/jose/algorithms.ts";

export interface AuthRig {
  gateway: TestGateway;
  upstream: TestUpstream;
  /** id of the route `/api` (service `echo`). */
  routeId: string;
  get(path: string, headers?: Record<string, string>, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

/** A gateway with service `echo` and route `/api`, and the given route plugins. */
export function startAuthRig(plugins: { name: string; config?: Record<string, unknown> }[] = [], options: { file?: boolean } = {}): AuthRig {
  const upstream = startUpstream();
  const gateway = startTestGateway({ file: options.file });
  gateway.store.create("services", { name: "echo", url: upstream.url });
  const route = gateway.store.create("routes", { name: "api", service: { name: "echo" }, paths: ["/api"] });
  for (const plugin of plugins) gateway.store.create("plugins", { ...plugin, route: { id: route.id } });
  return {
    gateway,
    upstream,
    routeId: route.id,
    get: (path, headers = {}, init = {}) => gateway.request(path, { ...init, headers }),
    async close() {
      await gateway.close();
      await upstream.stop();
    },
  };
}

export async function echoOf(response: Response): Promise<Echo> {
  if (response.status !== 200) throw new Error(`expected 200, got ${response.status}: ${await response.text()}`);
  return (await response.json()) as Echo;
}

export interface SigningKey {
  alg: Algorithm;
  /** What signs: a CryptoKey, or the secret bytes for HS*. */
  privateKey: CryptoKey | Uint8Array;
  /** The credential fields that verify it. */
  credential: { algorithm: Algorithm; secret?: string; rsa_public_key?: string };
  publicJwk?: Record<string, unknown>;
  /** For jose/node:crypto comparisons: the public KeyObject or the secret bytes. */
  verifyKey: KeyObject | Uint8Array;
}

const HMAC_SECRET_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

export async function signingKey(alg: Algorithm): Promise<SigningKey> {
  if (alg.startsWith("HS")) {
    const bytes = (await generateSecret(alg, { extractable: true })) as CryptoKey;
    const raw = new Uint8Array(await crypto.subtle.exportKey("raw", bytes));
    const secret = Array.from(raw, (b) => HMAC_SECRET_CHARS[b % HMAC_SECRET_CHARS.length]).join("");
    const encoded = new TextEncoder().encode(secret);
    return { alg, privateKey: encoded, credential: { algorithm: alg, secret }, verifyKey: encoded };
  }
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, modulusLength: 2048 });
  const pem = await exportSPKI(publicKey);
  return { alg, privateKey, credential: { algorithm: alg, rsa_public_key: pem }, publicJwk: { ...(await exportJWK(publicKey)) }, verifyKey: KeyObject.from(publicKey) };
}

export async function sign(key: SigningKey, payload: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload))).setProtectedHeader({ alg: key.alg, ...header }).sign(key.privateKey);
}

/**
 * Signs raw header and payload text (anything: BOMs, duplicate keys, non-objects) with the key,
 * independently of the code under test.
 */
export function signRaw(key: SigningKey, headerText: string, payloadText: string, signAs: Algorithm = key.alg): string {
  const input = `${base64url.encode(headerText)}.${base64url.encode(payloadText)}`;
  const hash = hashOf(signAs);
  let signature: Uint8Array;
  if (key.privateKey instanceof Uint8Array) signature = createHmac(hash!, key.privateKey).update(input).digest();
  else {
    const privateKey = KeyObject.from(key.privateKey);
    const options = signAs.startsWith("PS")
      ? { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }
      : signAs.startsWith("ES")
        ? { key: privateKey, dsaEncoding: "ieee-p1363" as const }
        : privateKey;
    signature = nodeSign(hash, Buffer.from(input), options);
  }
  return `${input}.${base64url.encode(signature)}`;
}

/** `<b64(header)>.<b64(payload)>.<signature>` from arbitrary JSON values or raw text. */
export function craft(header: unknown, payload: unknown, signature = "c2ln"): string {
  const encode = (part: unknown) => base64url.encode(typeof part === "string" ? part : JSON.stringify(part));
  return `${encode(header)}.${encode(payload)}.${signature}`;
}

export const ALL_ALGORITHMS: readonly Algorithm[] = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];

export const inSeconds = (seconds: number) => Math.floor(Date.now() / 1000) + seconds;
