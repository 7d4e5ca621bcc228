// Sends bodiless requests over the gateway's own keep-alive HTTP/1.1 connections. Bun's fetch
// hands every request to a separate HTTP thread; on the one core a gateway is given, that hop
// costs more than the whole proxying (bench/RESULTS.md). Requests with a body, and https
// upstreams, still go through fetch.
import type { ResponseHandler } from "./body-relay.ts";
import { ClosedBeforeResponse, type Exchange, type HeadWriter, UpstreamTimedOut } from "./connection.ts";
import {
  ClientGone,
  UpstreamClosedBeforeResponse,
  UpstreamConnectFailed,
  UpstreamConnectTimeout,
  UpstreamTimeout,
  UpstreamUnreachable,
  isConnectionRefused,
  isNameNotFound,
} from "./errors.ts";
import { ConnectTimedOut, type ConnectionPool } from "./pool.ts";

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
  /** Told how the exchange ended, without a promise of its own in between (load balancing). */
  readonly observer?: SendObserver;
}

export interface SendObserver {
  /** The response head arrived. */
  answered(response: Response): void;
  /** The exchange failed: another attempt's response (another target), or null to fail with `error`. */
  failed(error: Error): Promise<Response> | null;
}

// A reused connection the upstream has just closed is retried on a new one, but only for
// methods that are safe to send twice (RFC 9110 §9.2.2).
const IDEMPOTENT: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

export const isIdempotent = (method: string): boolean => IDEMPOTENT.has(method);
// Whether the client is still there is asked only of exchanges that have waited this long:
// reading request.signal creates it, a cost fast exchanges need not pay.
const CLIENT_CHECK_AFTER_MS = 50;

/** One bodiless request: tries a pooled connection, then new ones, and settles once. */
abstract class UpstreamRequest implements Exchange {
  resolve!: (response: Response) => void;
  reject!: (error: Error) => void;
  private refusals = 0;
  private readonly started: number;

  constructor(
    private readonly pool: ConnectionPool,
    private readonly endpoint: UpstreamEndpoint,
    readonly method: string,
    readonly head: HeadWriter,
    private readonly options: SendOptions,
    readonly handler: ResponseHandler | null,
  ) {
    this.started = pool.now();
  }

  /** Whether the client that asked has gone away. */
  protected abstract clientGone(): boolean;

  abandoned(now: number): boolean {
    return now - this.started > CLIENT_CHECK_AFTER_MS && this.clientGone();
  }

  get readTimeoutMs(): number {
    return this.options.readTimeoutMs;
  }

  start(reuse: boolean): void {
    const pooled = reuse ? this.pool.take(this.endpoint.key) : null;
    if (pooled) {
      pooled.request(this, true);
      return;
    }
    const { key, hostname, port } = this.endpoint;
    this.pool.connect(key, hostname, port, this.options.connectTimeoutMs, this).then(
      (connection) => connection.request(this, false),
      (error: Error) => {
        if (error instanceof ClientGone) this.reject(error);
        else if (error instanceof ConnectTimedOut) this.reject(new UpstreamConnectTimeout("connect timeout"));
        else if (isConnectionRefused(error) && this.refusals++ < this.options.retries) this.start(false);
        else this.reject(new UpstreamConnectFailed(error.message, isNameNotFound(error)));
      },
    );
  }

  failed(error: Error, unanswered: boolean): void {
    if (error instanceof ClientGone) this.reject(error);
    else if (unanswered && IDEMPOTENT.has(this.method)) this.start(false);
    else if (error instanceof UpstreamTimedOut) this.reject(new UpstreamTimeout("read timeout"));
    else if (error instanceof ClosedBeforeResponse) this.reject(new UpstreamClosedBeforeResponse(error.message));
    else this.reject(new UpstreamUnreachable(error.message));
  }
}

/** The exchange of a Fetch Request: the client's going away is its signal. */
class FetchClientRequest extends UpstreamRequest {
  constructor(pool: ConnectionPool, endpoint: UpstreamEndpoint, private readonly client: Request, method: string, head: HeadWriter, options: SendOptions) {
    super(pool, endpoint, method, head, options, null);
  }

  protected clientGone(): boolean {
    return this.client.signal.aborted;
  }
}

const NOTHING = (): void => {};

/** The client of a relayed exchange, as the raw engine knows it. */
export interface RelayClient {
  readonly gone: boolean;
}

class RelayedRequest extends UpstreamRequest {
  constructor(pool: ConnectionPool, endpoint: UpstreamEndpoint, private readonly client: RelayClient, method: string, head: HeadWriter, options: SendOptions, relayTo: ResponseHandler) {
    super(pool, endpoint, method, head, options, relayTo);
    this.resolve = NOTHING;
    this.reject = (error) => relayTo.failed(error);
  }

  protected clientGone(): boolean {
    return this.client.gone;
  }
}

/**
 * Sends `head` (a whole bodiless request) and hands the response to `handler` as it arrives,
 * without a Response or a promise; `handler.failed` hears why no response came (the errors
 * sendBodiless rejects with).
 */
export function relayBodiless(pool: ConnectionPool, endpoint: UpstreamEndpoint, client: RelayClient, method: string, head: HeadWriter, options: SendOptions, handler: ResponseHandler): void {
  new RelayedRequest(pool, endpoint, client, method, head, options, handler).start(true);
}

/** Sends `head` (the whole bodiless request for `client`, with the upstream's `method`) and settles with the upstream's response. */
export function sendBodiless(pool: ConnectionPool, endpoint: UpstreamEndpoint, client: Request, method: string, head: HeadWriter, options: SendOptions): Promise<Response> {
  const request = new FetchClientRequest(pool, endpoint, client, method, head, options);
  const observer = options.observer;
  return new Promise<Response>((resolve, reject) => {
    if (observer) {
      request.resolve = (response) => {
        observer.answered(response);
        resolve(response);
      };
      request.reject = (error) => {
        const again = observer.failed(error);
        if (again) resolve(again);
        else reject(error);
      };
    } else {
      request.resolve = resolve;
      request.reject = reject;
    }
    request.start(true);
  });
}
