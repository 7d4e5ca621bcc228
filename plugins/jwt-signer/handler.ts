// jwt-signer's response phase: in a 2xx JSON response from the upstream, each object under a
// key of `keys_to_sign` is replaced by a JWS over its JSON. Everything else passes untouched.
// Logs name keys and types, never values: those are the tokens' claims.
import { CompactSign, FlattenedSign } from "jose";
import type { PluginInstance, RequestContext, StateLookups } from "../../src/pipeline/contract.ts";
import { errorCodeResponse } from "../../src/proxy/responses.ts";
import { type KeySource, keystoreSource, sharedJwkSets } from "./keys.ts";
import { type SignerConfig, jwkFileOf } from "./schema.ts";
import { type SigningAlgorithm, isHmac } from "../../src/jose/algorithms.ts";

const JSON_MEDIA_TYPE = /^\s*application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;
/** Statuses without a whole body to sign: no content, reset content, a byte range. */
const BODILESS_OR_PARTIAL = new Set([204, 205, 206]);
/** Headers that describe the upstream's bytes, wrong once the body is rewritten. */
const STALE_AFTER_REWRITE = ["content-length", "etag", "content-md5", "digest", "content-digest", "repr-digest"];

/** The most of a body buffered for signing; a larger one streams through unsigned. */
export const MAX_SIGNED_BODY_BYTES = 8 * 1024 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

function keySourceFor(config: SignerConfig, state: StateLookups): KeySource {
  const file = jwkFileOf(config);
  if (file !== null) return sharedJwkSets.source({ file }, config.kid!, config.alg, config.cache_duration);
  if (config.jwk_url !== null) return sharedJwkSets.source({ url: config.jwk_url }, config.kid!, config.alg, config.cache_duration);
  if (isHmac(config.alg)) return { current: () => ({ ok: false, reason: `${config.alg} needs an "oct" key of a JWK set; the keystore holds asymmetric keys only` }) };
  return keystoreSource(state.keys, config.alg as SigningAlgorithm, config.kid);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function typeOf(body: Record<string, unknown>, key: string): string {
  if (!Object.hasOwn(body, key)) return "missing";
  const value = body[key];
  return value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
}

/**
 * The whole body when it is at most `limit` bytes; otherwise a stream of all of it: the chunks
 * already read, then the rest as it comes.
 */
async function readBounded(body: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array | ReadableStream<Uint8Array>> {
  const reader = body.getReader();
  const chunks: (Uint8Array | undefined)[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(chunks as Uint8Array[], size);
    chunks.push(value);
    size += value.byteLength;
    if (size > limit) break;
  }
  let next = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (next < chunks.length) {
        controller.enqueue(chunks[next]!);
        chunks[next++] = undefined;
        return;
      }
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/** A response with the upstream's status and headers and the body already read from it. */
function withBody(response: Response, body: Uint8Array | ReadableStream<Uint8Array>, headers: Headers = response.headers): Response {
  return new Response(body, { status: response.status, statusText: response.statusText, headers });
}

export function createSignerInstance(config: SignerConfig, state: StateLookups): PluginInstance {
  const source = keySourceFor(config, state);
  const log = (ctx: RequestContext, fields: Record<string, unknown>) => ctx.log({ plugin: "jwt-signer", ...fields });

  const sign = async (claims: Record<string, unknown>, kid: string, key: CryptoKey | Uint8Array): Promise<unknown> => {
    const payload = encoder.encode(JSON.stringify(claims));
    if (config.full) return new FlattenedSign(payload).setProtectedHeader({ alg: config.alg, kid }).sign(key);
    return new CompactSign(payload).setProtectedHeader({ alg: config.alg, kid, typ: "JWT" }).sign(key);
  };

  return {
    async response(ctx, response) {
      if (response.status < 200 || response.status > 299 || BODILESS_OR_PARTIAL.has(response.status) || ctx.method === "HEAD") return response;
      if (!JSON_MEDIA_TYPE.test(response.headers.get("content-type") ?? "")) return response;
      const encoding = response.headers.get("content-encoding");
      if (encoding && encoding.toLowerCase() !== "identity") {
        log(ctx, { level: "warn", message: "upstream response is compressed; passed unsigned", content_encoding: encoding });
        return response;
      }

      const tooLarge = (passed: Response) => {
        log(ctx, { level: "warn", message: "upstream response is too large to sign; passed unsigned", limit_bytes: MAX_SIGNED_BODY_BYTES });
        return passed;
      };
      if (Number(response.headers.get("content-length") ?? 0) > MAX_SIGNED_BODY_BYTES) return tooLarge(response);
      const read = response.body === null ? new Uint8Array(0) : await readBounded(response.body, MAX_SIGNED_BODY_BYTES);
      if (!(read instanceof Uint8Array)) return tooLarge(withBody(response, read));
      const bytes = read;
      let parsed: unknown;
      try {
        parsed = JSON.parse(decoder.decode(bytes));
      } catch {
        log(ctx, { level: "warn", message: "upstream response is not valid JSON; passed unsigned" });
        return withBody(response, bytes);
      }
      if (!isPlainObject(parsed)) {
        log(ctx, { level: "warn", message: "upstream response is not a JSON object; passed unsigned" });
        return withBody(response, bytes);
      }
      const body = parsed;
      const targets = config.keys_to_sign.filter((key) => Object.hasOwn(body, key) && isPlainObject(body[key]));
      if (targets.length < config.keys_to_sign.length) {
        const skipped = config.keys_to_sign.filter((key) => !targets.includes(key)).map((key) => ({ key, type: typeOf(body, key) }));
        log(ctx, { level: "warn", message: "keys_to_sign not signed: missing or not an object", keys: skipped });
      }
      if (targets.length === 0) return withBody(response, bytes);

      const signer = await source.current((fields) => log(ctx, fields));
      if (!signer.ok) {
        log(ctx, { level: "error", message: "no key to sign with", reason: signer.reason });
        return errorCodeResponse("internal", { "x-request-id": ctx.requestId });
      }
      const signed = await Promise.all(targets.map((key) => sign(body[key] as Record<string, unknown>, signer.kid, signer.key)));
      targets.forEach((key, i) => (body[key] = signed[i]));

      const out = encoder.encode(JSON.stringify(body));
      const headers = new Headers(response.headers);
      for (const name of STALE_AFTER_REWRITE) headers.delete(name);
      headers.set("content-length", String(out.byteLength));
      return withBody(response, out, headers);
    },
  };
}
