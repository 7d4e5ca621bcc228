// Sends a matched request to its service and returns the upstream response, streaming both
// bodies. Owns timeouts, connect retries and the header rewriting of SPEC §4.2. Bodiless
// requests to http services go over the gateway's own keep-alive connections
// (./upstream/client.ts); requests with a body, and https services, go through fetch.
import type { RouteMatch } from "./router.ts";
import { sendBodiless } from "./upstream/client.ts";
import { UpstreamTimeout, UpstreamUnreachable, isConnectionRefused } from "./upstream/errors.ts";

// Hop-by-hop headers (RFC 9110 §7.6.1). `keep-alive`, `te`, `trailer` and `upgrade` only mean
// something alongside a Connection header, so the common request without one costs two deletes.
const CONNECTION_OPTIONS = ["connection", "keep-alive", "te", "trailer", "upgrade"];

// Request headers the gateway replaces or that end at this hop, when it writes the request itself.
const NOT_FORWARDED: ReadonlySet<string> = new Set([
  "host", "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
  "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "x-real-ip", "x-request-id",
]);
// A request target must not carry whitespace or controls into the request line; Bun's URL
// parsing already encodes them, and anything else takes the fetch path, which encodes too.
const UNSAFE_TARGET = /[\x00-\x20\x7f]/;

export interface ForwardInfo {
  clientIp: string;
  requestId: string;
  listenerPort: number;
  /** Query parameters a plugin asked to drop (hide_credentials). */
  dropQueryParams: string[] | null;
}

function dropConnectionOptions(headers: Headers, connection: string): void {
  for (const name of connection.split(",")) {
    const trimmed = name.trim();
    if (trimmed) headers.delete(trimmed);
  }
  for (const name of CONNECTION_OPTIONS) headers.delete(name);
}

/** Removes the hop-by-hop headers of a client request, including those Connection names. */
function dropRequestHopByHop(headers: Headers): void {
  headers.delete("transfer-encoding");
  headers.delete("proxy-connection");
  const connection = headers.get("connection");
  if (connection !== null) dropConnectionOptions(headers, connection);
}

/** Removes the hop-by-hop headers of an upstream response; Bun frames the reply itself. */
function dropResponseHopByHop(headers: Headers): void {
  headers.delete("transfer-encoding");
  const connection = headers.get("connection");
  if (connection !== null) dropConnectionOptions(headers, connection);
}

/** `host:port` → `host`, IPv6 literals kept whole. */
function withoutPort(host: string): string {
  const colon = host.lastIndexOf(":");
  return colon > host.lastIndexOf("]") ? host.slice(0, colon) : host;
}

export function upstreamPath(match: RouteMatch, path: string): string {
  const { route } = match.target;
  const base = match.target.basePath;
  if (!route.strip_path) return base + path;
  const rest = path.slice(match.matched.length);
  if (!rest) return base || "/";
  return base + (rest.startsWith("/") ? rest : `/${rest}`);
}

function stripQuery(search: string, names: readonly string[]): string {
  const params = new URLSearchParams(search);
  for (const name of names) params.delete(name);
  const text = params.toString();
  return text ? `?${text}` : "";
}

/**
 * Forwards the request with the headers of SPEC §4.2. Connect failures are retried
 * `service.retries` times when the request has no body, because a body stream cannot be replayed.
 */
export function forward(request: Request, match: RouteMatch, path: string, search: string, info: ForwardInfo): Promise<Response> {
  const { service } = match.target;
  const query = info.dropQueryParams && search ? stripQuery(search, info.dropQueryParams) : search;
  const target = upstreamPath(match, path) + query;
  const endpoint = match.target.endpoint;
  if (endpoint && request.body === null && !UNSAFE_TARGET.test(target)) {
    const head = requestHead(request, target, match, info);
    return sendBodiless(endpoint, request.method, head, { connectTimeoutMs: service.connect_timeout, readTimeoutMs: service.read_timeout, retries: service.retries });
  }
  rewriteHeaders(request.headers, match, info);
  const hasBody = request.body !== null && request.method !== "GET" && request.method !== "HEAD";
  const url = match.target.origin + target;
  return send(url, request.method, request.headers, hasBody ? request.body : undefined, service.read_timeout, hasBody ? 0 : service.retries);
}

/** The request line and headers, written out for the gateway's own client. */
function requestHead(request: Request, target: string, match: RouteMatch, info: ForwardInfo): string {
  const { route } = match.target;
  const fields = request.headers.toJSON() as Record<string, string | string[]>;
  const clientHost = (fields.host as string | undefined) ?? "";
  const connection = fields.connection as string | undefined;
  const listed = connection ? connection.toLowerCase().split(",").map((name) => name.trim()) : null;
  const prefix = route.strip_path && match.matched ? match.matched : null;
  const host = route.preserve_host && clientHost ? clientHost : match.target.upstreamHost;
  let head = `${request.method} ${target} HTTP/1.1\r\nhost: ${host}\r\n`;
  for (const name in fields) {
    if (NOT_FORWARDED.has(name) || (prefix !== null && name === "x-forwarded-prefix") || (listed !== null && listed.includes(name))) continue;
    const value = fields[name]!;
    if (typeof value === "string") head += `${name}: ${value}\r\n`;
    else for (const each of value) head += `${name}: ${each}\r\n`;
  }
  const priorFor = fields["x-forwarded-for"];
  const ip = info.clientIp;
  head += `x-forwarded-for: ${priorFor ? `${priorFor}, ${ip}` : ip}\r\nx-forwarded-proto: http\r\nx-forwarded-host: ${withoutPort(clientHost)}\r\nx-forwarded-port: ${info.listenerPort}\r\nx-real-ip: ${ip}\r\nx-request-id: ${info.requestId}\r\n`;
  if (prefix !== null) head += `x-forwarded-prefix: ${prefix}\r\n`;
  return `${head}\r\n`;
}

/** Rewrites the request's headers in place (they are not used again) for fetch. */
function rewriteHeaders(headers: Headers, match: RouteMatch, info: ForwardInfo): void {
  const { route } = match.target;
  const clientHost = headers.get("host") ?? "";
  dropRequestHopByHop(headers);
  const priorFor = headers.get("x-forwarded-for");
  headers.set("x-forwarded-for", priorFor ? `${priorFor}, ${info.clientIp}` : info.clientIp);
  headers.set("x-forwarded-proto", "http");
  headers.set("x-forwarded-host", withoutPort(clientHost));
  headers.set("x-forwarded-port", String(info.listenerPort));
  headers.set("x-real-ip", info.clientIp);
  headers.set("x-request-id", info.requestId);
  if (route.strip_path && match.matched) headers.set("x-forwarded-prefix", match.matched);
  if (!route.preserve_host) headers.set("host", match.target.upstreamHost);
}

async function send(url: string, method: string, headers: Headers, body: ReadableStream | undefined, timeoutMs: number, retries: number): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const response = await fetch(url, { method, headers, body, redirect: "manual", signal: controller.signal, decompress: false } as RequestInit);
      dropResponseHopByHop(response.headers);
      return response;
    } catch (error) {
      if (controller.signal.aborted) throw new UpstreamTimeout();
      if (attempt < retries && isConnectionRefused(error)) continue;
      throw new UpstreamUnreachable((error as Error).message);
    } finally {
      clearTimeout(timer);
    }
  }
}
