// Request bodies of the admin API: read with a size limit (checked against Content-Length and
// while streaming), then JSON, or Kong-style form fields (`paths[]=/a`, `config.allow=x`,
// `service.id=...`) turned into the same JSON shape with values coerced as the schema says.
import type { TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { BadRequestError, GatewayError, PayloadTooLargeError, ValidationError } from "../errors.ts";
import { clip, clipQuoted, quote } from "../entities/quote.ts";

export const ENTITY_BODY_LIMIT = 1024 * 1024;
/** A whole configuration is larger than any one entity: thousands of consumers fit here. */
export const CONFIG_BODY_LIMIT = 32 * 1024 * 1024;

const utf8 = new TextDecoder("utf-8", { fatal: true });

export async function readLimited(request: Request, limit: number): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw new PayloadTooLargeError(limit);
  if (!request.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  // A chunked body has no Content-Length: stop reading as soon as it passes the limit.
  for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > limit) throw new PayloadTooLargeError(limit);
    chunks.push(chunk);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

function decode(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new BadRequestError("request body is not valid UTF-8");
  }
}

type MediaKind = "json" | "form" | "multipart" | "yaml" | "text";

function mediaKind(request: Request): MediaKind | undefined {
  const type = (request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type === "" || type === "application/json" || /^application\/[\w.-]+\+json$/.test(type)) return "json";
  if (type === "application/x-www-form-urlencoded") return "form";
  if (type === "multipart/form-data") return "multipart";
  if (type === "application/yaml" || type === "application/x-yaml" || type === "text/yaml" || type === "text/x-yaml") return "yaml";
  if (type === "text/plain") return "text";
  return undefined;
}

function unsupported(request: Request, accepted: string): GatewayError {
  return new GatewayError("unsupported_media_type", `unsupported Content-Type ${quote(request.headers.get("content-type"))}: send ${accepted}`);
}

function parseJson(text: string): unknown {
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BadRequestError(`request body is not valid JSON (${clipQuoted((error as Error).message.split("\n")[0] ?? "")})`);
  }
}

async function formEntries(request: Request, bytes: Uint8Array, kind: "form" | "multipart"): Promise<[string, string][]> {
  if (kind === "form") return [...new URLSearchParams(decode(bytes))];
  const form = await new Response(bytes, { headers: { "content-type": request.headers.get("content-type")! } }).formData().catch(() => {
    throw new BadRequestError("request body is not valid multipart/form-data");
  });
  const entries: [string, string][] = [];
  for (const [name, value] of form.entries()) {
    entries.push([name, typeof value === "string" ? value : decode(new Uint8Array(await value.arrayBuffer()))]);
  }
  return entries;
}

const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** `a.b=1`, `list[]=x`, `list[0]=x` and repeated keys, as Kong's admin API reads form fields. */
export function formToObject(entries: Iterable<[string, string]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [rawKey, value] of entries) {
    const asArray = /\[\d*\]$/.test(rawKey);
    const key = rawKey.replace(/\[\d*\]$/, "");
    const path = key.split(".");
    if (path.some((segment) => FORBIDDEN_KEYS.has(segment) || segment === "")) throw new ValidationError({ [clip(key)]: "unknown field" });
    let node = out;
    for (const segment of path.slice(0, -1)) {
      const next = node[segment] ?? (node[segment] = {});
      if (!isObject(next)) throw new ValidationError({ [clip(key)]: "given both as a value and as an object" });
      node = next;
    }
    const last = path[path.length - 1]!;
    const existing = node[last];
    if (existing === undefined) node[last] = asArray ? [value] : value;
    else if (Array.isArray(existing)) existing.push(value);
    else if (typeof existing === "string") node[last] = [existing, value];
    else throw new ValidationError({ [clip(key)]: "given both as a value and as an object" });
  }
  return out;
}

/** Form fields are all strings: turn them into the numbers, booleans, arrays and nulls the schema expects. */
export function coerceToSchema(schema: TSchema | undefined, value: unknown): unknown {
  if (!schema) return value;
  if (Array.isArray(schema.anyOf)) {
    const variants = schema.anyOf as TSchema[];
    if (value === "" && variants.some((variant) => variant.type === "null")) return null;
    // A form value is always a string: try the typed readings (number, boolean, list) first.
    const typedFirst = [...variants.filter((variant) => variant.type !== "string"), ...variants.filter((variant) => variant.type === "string")];
    for (const variant of typedFirst) {
      const coerced = coerceToSchema(variant, value);
      if (Value.Check(variant, coerced)) return coerced;
    }
    return value;
  }
  switch (schema.type) {
    case "integer":
    case "number":
      return typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value)) ? Number(value) : value;
    case "boolean":
      return value === "true" ? true : value === "false" ? false : value;
    case "null":
      return value === "" ? null : value;
    case "array":
      return (Array.isArray(value) ? value : [value]).map((item) => coerceToSchema(schema.items as TSchema | undefined, item));
    case "object": {
      if (!isObject(value)) return value;
      const properties = (schema.properties ?? {}) as Record<string, TSchema>;
      const patterns = Object.values((schema.patternProperties ?? {}) as Record<string, TSchema>);
      const rest = isObject(schema.additionalProperties) ? (schema.additionalProperties as TSchema) : patterns[0];
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, coerceToSchema(properties[key] ?? rest, item)]));
    }
  }
  return value;
}

/**
 * An entity body: JSON, or form fields converted by `fromForm` (which knows the entity's
 * schema). An empty body is `{}`, so the schema names what is missing.
 */
export async function readEntityBody(request: Request, fromForm: (fields: Record<string, unknown>) => unknown): Promise<unknown> {
  const kind = mediaKind(request);
  if (kind !== "json" && kind !== "form" && kind !== "multipart") {
    throw unsupported(request, "application/json, application/x-www-form-urlencoded or multipart/form-data");
  }
  const bytes = await readLimited(request, ENTITY_BODY_LIMIT);
  if (kind === "json") return parseJson(decode(bytes));
  return fromForm(formToObject(await formEntries(request, bytes, kind)));
}

/**
 * A declarative configuration: the body itself (YAML or JSON), or Kong's `config` field of a
 * form (`curl -F config=@kong.yml`) or of a JSON object `{"config": "<yaml>"}`.
 */
export async function readConfigBody(request: Request): Promise<string> {
  const kind = mediaKind(request);
  if (!kind) throw unsupported(request, "application/yaml, application/json, text/plain or a form with a 'config' field");
  const bytes = await readLimited(request, CONFIG_BODY_LIMIT);
  if (kind === "form" || kind === "multipart") {
    const config = (await formEntries(request, bytes, kind)).find(([name]) => name === "config");
    if (!config) throw new ValidationError({ config: "required field missing" });
    return config[1];
  }
  const body = decode(bytes);
  if (kind === "json") {
    const parsed = parseJson(body);
    if (isObject(parsed) && Object.keys(parsed).length === 1 && typeof parsed.config === "string") return parsed.config;
  }
  return body;
}
