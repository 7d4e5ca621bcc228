// Sends a matched request to its service and returns the upstream response, streaming both
// bodies. Owns timeouts, connect retries and the header rewriting of SPEC §4.2.
import type { RouteMatch } from "./router.ts";

const HOP_BY_HOP = ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"];

export class UpstreamTimeout extends Error {}
export class UpstreamUnreachable extends Error {}

export interface ForwardInfo {
  clientIp: string;
  requestId: string;
  listenerPort: number;
  /** Query parameters a plugin asked to drop (hide_credentials). */
  dropQueryParams: string[] | null;
}

/** Removes hop-by-hop headers, including those the Connection header names. */
export function dropHopByHop(headers: Headers): void {
  const connection = headers.get("connection");
  if (connection) for (const name of connection.split(",")) headers.delete(name.trim());
  for (const name of HOP_BY_HOP) headers.delete(name);
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
export async function forward(request: Request, match: RouteMatch, path: string, search: string, info: ForwardInfo): Promise<Response> {
  const { route, service } = match.target;
  const headers = request.headers;
  const clientHost = headers.get("host") ?? "";
  dropHopByHop(headers);
  const priorFor = headers.get("x-forwarded-for");
  headers.set("x-forwarded-for", priorFor ? `${priorFor}, ${info.clientIp}` : info.clientIp);
  headers.set("x-forwarded-proto", "http");
  headers.set("x-forwarded-host", clientHost.replace(/:\d+$/, ""));
  headers.set("x-forwarded-port", String(info.listenerPort));
  headers.set("x-real-ip", info.clientIp);
  headers.set("x-request-id", info.requestId);
  if (route.strip_path && match.matched) headers.set("x-forwarded-prefix", match.matched);
  if (!route.preserve_host) headers.set("host", match.target.upstreamHost);

  const query = info.dropQueryParams && search ? stripQuery(search, info.dropQueryParams) : search;
  const url = match.target.origin + upstreamPath(match, path) + query;
  const hasBody = request.body !== null && request.method !== "GET" && request.method !== "HEAD";
  const attempts = hasBody ? 1 : service.retries + 1;

  for (let attempt = 1; ; attempt++) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), service.read_timeout);
    try {
      return await fetch(url, {
        method: request.method,
        headers,
        body: hasBody ? request.body : undefined,
        redirect: "manual",
        signal: controller.signal,
        decompress: false,
      } as RequestInit);
    } catch (error) {
      if (controller.signal.aborted) throw new UpstreamTimeout();
      if (attempt < attempts && isConnectFailure(error)) continue;
      throw new UpstreamUnreachable((error as Error).message);
    } finally {
      clearTimeout(timer);
    }
  }
}
