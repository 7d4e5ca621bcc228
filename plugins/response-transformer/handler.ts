// The response-transformer plugin's response phase: the header plan on the client's response,
// then, for a JSON object body of at most MAX_BUFFERED_BODY_BYTES (declared by Content-Length), Kong's
// JSON operations. Other bodies (not JSON, compressed, larger, or of unknown length) stream
// through untouched, so a transformer never buffers an unbounded answer.
import type { PluginInstance, RequestContext } from "../../src/pipeline/contract.ts";
import { applyHeaderPlan, headerPlan, isEmptyPlan, splitPair } from "../../src/pipeline/header-operations.ts";
import { MAX_BUFFERED_BODY_BYTES } from "../../src/pipeline/request-body.ts";
import type { ResponseTransformerConfig } from "./schema.ts";

type JsonType = "string" | "boolean" | "number";
type Valued = [key: string, value: unknown][];

function cast(value: string, type: JsonType | undefined): unknown {
  if (type === "number") {
    const number = Number(value);
    return Number.isFinite(number) ? number : value;
  }
  if (type === "boolean") return value === "true";
  return value;
}

function valued(section: { json?: string[]; json_types?: JsonType[] } | undefined): Valued {
  return (section?.json ?? []).map((item, i) => {
    const [key, value] = splitPair(item);
    return [key, cast(value, section?.json_types?.[i])];
  });
}

const isJson = (contentType: string | null) => contentType !== null && /^application\/(?:[\w.+-]*\+)?json\b/i.test(contentType.trim());

export function createResponseTransformerInstance(config: ResponseTransformerConfig): PluginInstance {
  const headers = headerPlan(config);
  const json = {
    remove: config.remove.json ?? [],
    rename: (config.rename.json ?? []).map(splitPair),
    replace: valued(config.replace),
    add: valued(config.add),
    append: valued(config.append),
  };
  const transformsJson = json.remove.length + json.rename.length + json.replace.length + json.add.length + json.append.length > 0;
  const transformsHeaders = !isEmptyPlan(headers);

  /** Kong's body_transformer: remove, rename, replace (if present), add (if absent), append. */
  function transform(body: Record<string, unknown>): void {
    for (const key of json.remove) delete body[key];
    for (const [from, to] of json.rename) {
      if (!Object.hasOwn(body, from)) continue;
      body[to] = body[from];
      delete body[from];
    }
    for (const [key, value] of json.replace) if (Object.hasOwn(body, key)) body[key] = value;
    for (const [key, value] of json.add) if (!Object.hasOwn(body, key)) body[key] = value;
    for (const [key, value] of json.append) {
      const current = body[key];
      body[key] = current === undefined ? [value] : Array.isArray(current) ? [...current, value] : [current, value];
    }
  }

  async function transformBody(response: Response): Promise<Response> {
    const length = Number(response.headers.get("content-length") ?? Number.NaN);
    if (!isJson(response.headers.get("content-type")) || response.headers.has("content-encoding") || !(length >= 0 && length <= MAX_BUFFERED_BODY_BYTES)) return response;
    const text = await response.text();
    const rebuilt = (body: string) => {
      const headers = new Headers(response.headers);
      headers.delete("content-length");
      headers.delete("etag");
      return new Response(body, { status: response.status, statusText: response.statusText, headers });
    };
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return rebuilt(text);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return rebuilt(text);
    transform(parsed as Record<string, unknown>);
    return rebuilt(JSON.stringify(parsed));
  }

  return {
    response(_ctx: RequestContext, response: Response): Response | Promise<Response> {
      if (transformsHeaders) applyHeaderPlan(response.headers, headers);
      return transformsJson ? transformBody(response) : response;
    },
  };
}
