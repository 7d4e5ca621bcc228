// Sends bodiless requests over the gateway's own keep-alive HTTP/1.1 connections. Bun's fetch
// hands every request to a separate HTTP thread; on the one core a gateway is given, that hop
// costs more than the whole proxying (bench/RESULTS.md). Requests with a body, and https
// upstreams, still go through fetch.
import { ClosedBeforeResponse, UpstreamTimedOut, type UpstreamConnection } from "./connection.ts";
import { UpstreamTimeout, UpstreamUnreachable, isConnectionRefused } from "./errors.ts";
import { ConnectTimedOut, upstreamPool } from "./pool.ts";

export interface UpstreamEndpoint {
  /** `host:port`, the pool key. */
  readonly key: string;
  readonly hostname: string;
  readonly port: number;
}

export interface SendOptions {
  readonly connectTimeoutMs: number;
  readonly readTimeoutMs: number;
  /** Further attempts after a refused connection. */
  readonly retries: number;
}

// A reused connection the upstream has just closed is retried on a new one, but only for
// methods that are safe to send twice (RFC 9110 §9.2.2).
const IDEMPOTENT: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

export async function sendBodiless(endpoint: UpstreamEndpoint, method: string, head: Buffer, options: SendOptions): Promise<Response> {
  let refusals = 0;
  for (;;) {
    let connection: UpstreamConnection | null = upstreamPool.take(endpoint.key);
    const reused = connection !== null;
    if (!connection) {
      try {
        connection = await upstreamPool.connect(endpoint.key, endpoint.hostname, endpoint.port, options.connectTimeoutMs);
      } catch (error) {
        if (error instanceof ConnectTimedOut) throw new UpstreamTimeout("connect timeout");
        if (isConnectionRefused(error) && refusals++ < options.retries) continue;
        throw new UpstreamUnreachable((error as Error).message);
      }
    }
    try {
      return await connection.request(method, head, options.readTimeoutMs);
    } catch (error) {
      if (error instanceof UpstreamTimedOut) throw new UpstreamTimeout("read timeout");
      if (error instanceof ClosedBeforeResponse && reused && IDEMPOTENT.has(method)) continue;
      throw new UpstreamUnreachable((error as Error).message);
    }
  }
}
