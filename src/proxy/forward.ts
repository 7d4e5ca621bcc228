// Sends a matched request to its service and returns the upstream response, streaming both
// bodies. Owns timeouts, connect retries and the header rewriting of SPEC §4.2.
import type { RouteMatch } from "./router.ts";

// Hop-by-hop headers (RFC 9110 §7.6.1). `keep-alive`, `te`, `trailer` and `upgrade` only mean
// something alongside a Connection header, so the common request without one costs two deletes.
const CONNECTION_OPTIONS = ["connection", "keep-alive", "te", "trailer", "upgrade"];

export class UpstreamTimeout extends Error {}
export class UpstreamUnreachable extends Error {}

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
export function dropRequestHopByHop(headers: Headers): void {
  headers.delete("transfer-encoding");
  headers.delete("proxy-connection");
  const connection = headers.get("connection");
  if (connection !== null) dropConnectionOptions(headers, connection);
}

/** Removes the hop-by-hop headers of an upstream response; Bun frames the reply itself. */
export function dropResponseHopByHop(headers: Headers): void {
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

function isConnectFailure(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? "";
  return code === "ECONNREFUSED" || code === "ConnectionRefused" || code === "FailedToOpenSocket";
}

/**
 * Rewrites the request's headers in place (they are not used again) and forwards it.
 * Connect failures are retried `service.retries` times when the request has no body,
 * because a body stream cannot be replayed.
 */
export function forward(request: Request, match: RouteMatch, path: string, search: string, info: ForwardInfo): Promise<Response> {
  const { route, service } = match.target;
  const headers = request.headers;
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

  const query = info.dropQueryParams && search ? stripQuery(search, info.dropQueryParams) : search;
  const url = match.target.origin + upstreamPath(match, path) + query;
  const hasBody = request.body !== null && request.method !== "GET" && request.method !== "HEAD";
  return send(url, request.method, headers, hasBody ? request.body : undefined, service.read_timeout, hasBody ? 0 : service.retries);
}

async function send(url: string, method: string, headers: Headers, body: ReadableStream | undefined, timeoutMs: number, retries: number): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      return await fetch(url, { method, headers, body, redirect: "manual", signal: controller.signal, decompress: false } as RequestInit);
    } catch (error) {
      if (controller.signal.aborted) throw new UpstreamTimeout();
      if (attempt < retries && isConnectFailure(error)) continue;
      throw new UpstreamUnreachable((error as Error).message);
    } finally {
      clearTimeout(timer);
    }
  }
}
