// The request path both proxy engines run, from a parsed request to the response or the
// upstream exchange: framing refusal, canonical host and path, builtins, route match,
// https-only, upstream path, WebSocket checks, the plugin chain, forwarding, the response phase,
// error mapping, metrics and the access log. The engines differ only in how bytes become a
// request and a response becomes bytes (./server.ts: Bun.serve; ./raw/: Bun.listen).
// Synchronous unless a plugin or the upstream answers later: an async handler costs a promise
// and two microtask hops per request, a few percent of the whole proxying.
import type { ErrorCode } from "../errors.ts";
import type { Metrics } from "../metrics.ts";
import type { Chain } from "../pipeline/chains.ts";
import type { HeaderFields, PluginRequestSource } from "../pipeline/contract.ts";
import { type AccessOutcome, runAccess, runLog, runResponse } from "../pipeline/run-chain.ts";
import { type BodyMeter, BodyCrowdedOut } from "../pipeline/request-body.ts";
import { PluginRequestContext } from "../pipeline/request-context.ts";
import type { GatewayState } from "../state/gateway-state.ts";
import type { Snapshot } from "../state/snapshot.ts";
import type { AccessLog, AccessLogEntry } from "./access-log.ts";
import { canonicalHost } from "./canonical-host.ts";
import { type AddressSet, clientAddress } from "./client-address.ts";
import { canonicalPath } from "./canonical-path.ts";
import { eventNow } from "./event-clock.ts";
import { removeClientOnlyHeaders } from "./client-headers.ts";
import { type ForwardInfo, forward, upstreamPath } from "./forward.ts";
import { httpDate } from "./http-date.ts";
import { errorCodeResponse } from "./responses.ts";
import type { RouteMatch } from "./router.ts";
import { ClientGone, NoHealthyTarget, UpstreamTimeout, UpstreamTlsFailed } from "./upstream/errors.ts";
import type { ConnectionPool } from "./upstream/pool.ts";
import { type UpgradeFlight, asksForWebSocket, handshakeRefusal, withVersionOffer } from "./websocket/relay.ts";

/** Endpoints the gateway itself serves on the proxy listener, by exact path. */
export type BuiltinEndpoint = (request: Request, snapshot: Snapshot) => Response | Promise<Response>;

/** A request as the flow first sees it: Bun.serve's Request, or the raw engine's parsed head (its Fetch Request built only when needed). */
export type IncomingRequest = Request | PluginRequestSource;

/**
 * Opens the upstream WebSocket and upgrades the client on `on` (the engine's own handle for the
 * connection): resolves with the upstream's refusal, or undefined once upgraded.
 */
export type WebSocketUpgrade<U> = (flight: ProxiedRequest<U>, on: U, match: RouteMatch, path: string, search: string, info: ForwardInfo, pluginHeaders: readonly string[] | null) => Promise<Response | undefined>;

/**
 * The raw engine's own upstream exchange for a request without body or upgrade, whose plugins
 * (if any) have no response phase: true when it took the request (it answers the client
 * itself), false to leave it to `forward`. `plugins` is the access phase's context, whose
 * Request the plugins read and changed, or null when the route has none.
 */
export type DirectForward<U> = (flight: ProxiedRequest<U>, match: RouteMatch, search: string, info: ForwardInfo, plugins: PluginRequestContext | null) => boolean;

export interface FlowOptions<U> {
  pool: ConnectionPool;
  state: GatewayState;
  metrics: Metrics;
  accessLog: AccessLog;
  builtins?: ReadonlyMap<string, BuiltinEndpoint>;
  trustedIps: AddressSet | null;
  /** Whether the listener is TLS: decided once for it, never per request. */
  secure: boolean;
  /** Plain listener: the TLS listener's port, for `https_redirect_status_code` redirects (null: none, 443 assumed). */
  httpsPort: () => number | null;
  upgrade: WebSocketUpgrade<U>;
  direct?: DirectForward<U>;
}

const NO_ROUTE = "(none)";
const MAX_REQUEST_ID = 200;
const NO_PLUGINS: AccessOutcome = { response: undefined, responders: [] };
const DIGITS = /^\d+$/;

/**
 * Why the request's framing cannot be passed on, or null. Bun reads and discards the body of a
 * GET or HEAD, so forwarding one would be framed by nothing: refused rather than passed on
 * without the body it declared. A Content-Length Bun accepted as a list of equal values
 * (`3, 3`) is collapsed to one (RFC 9110 §8.6); anything else that is not one number refused.
 */
function framingRefusal(method: string, headers: HeaderFields): ErrorCode | null {
  // Not a forward proxy: a front proxy and the gateway could disagree on where a CONNECT ends.
  if (method === "CONNECT") return "connect_not_served";
  const length = headers.get("content-length");
  if (method === "GET" || method === "HEAD") {
    if ((length !== null && length !== "0") || headers.has("transfer-encoding")) return "body_on_bodiless_method";
    return null;
  }
  if (length === null || DIGITS.test(length)) return null;
  const values = new Set(length.split(",").map((value) => value.trim()));
  if (values.size !== 1) return "invalid_content_length";
  const [only] = values;
  if (!DIGITS.test(only!)) return "invalid_content_length";
  headers.set("content-length", only!);
  return null;
}

/** A declared Content-Length, or 0. */
function declaredLength(headers: Headers): number {
  const length = Number(headers.get("content-length"));
  return Number.isSafeInteger(length) && length > 0 ? length : 0;
}

/** Sets flat name, value pairs (RequestContext.responseHeaders). */
function setPairs(headers: Headers, pairs: readonly string[]): void {
  for (let i = 0; i < pairs.length; i += 2) headers.set(pairs[i]!, pairs[i + 1]!);
}

function requestIdOf(headers: HeaderFields): string {
  const given = headers.get("x-request-id");
  return given && given.length <= MAX_REQUEST_ID ? given : crypto.randomUUID();
}

/** What every request of one listener shares. */
interface ListenerRuntime {
  readonly metrics: Metrics;
  readonly accessLog: AccessLog;
  /** Set on shutdown: every response then closes its connection, so no client sends another request on it. */
  draining: boolean;
}

/** What one request has learnt on its way, for its metrics and access-log line. */
export class ProxiedRequest<U = unknown> implements UpgradeFlight {
  routeLabel = NO_ROUTE;
  serviceLabel: string | null = null;
  consumerLabel: string | null = null;
  upstreamMs: number | null = null;
  proxyMs = 0;
  failure: string | undefined;
  /** The path sent to the service (strip_path and the service's path applied). */
  upstreamPath = "";
  errorCode: ErrorCode | null = null;
  /** The connection's peer (clientIp differs only behind a trusted proxy). */
  peerIp = "";
  /** For a valid `Upgrade: websocket` request: the engine's handle of the connection that upgrades. */
  upgradeOn: U | null = null;
  /** When the request went to the upstream. */
  upstreamStarted = 0;
  /**
   * The connection closes after this answer: the client's framing was refused (what follows the
   * head cannot be trusted to be the next request), or an upgrade it asked for was not granted
   * (it may already be sending frames).
   */
  closeConnection = false;
  /** The route's chain and the plugins' context, when the chain has a log phase to run once answered. */
  logChain: Chain | null = null;
  logContext: PluginRequestContext | null = null;
  /** Counts a Fetch Request's body bytes as they are read, for the log phase (the raw engine's body counts its own). */
  bodyMeter: BodyMeter | null = null;

  constructor(
    readonly incoming: IncomingRequest,
    /** As received until it is made canonical, then canonical. */
    public path: string,
    readonly requestId: string,
    readonly clientIp: string,
    readonly started: number,
    private readonly runtime: ListenerRuntime,
  ) {}

  /** The Fetch Request (the raw engine builds it on first use). */
  get request(): Request {
    const incoming = this.incoming;
    return incoming instanceof Request ? incoming : incoming.request();
  }

  /** The upstream's head arrived: its latency, recorded, in milliseconds. */
  upstreamAnswered(): number {
    const upstreamMs = Math.round(eventNow() - this.upstreamStarted);
    this.upstreamMs = upstreamMs;
    this.runtime.metrics.observeUpstreamLatency(upstreamMs);
    return upstreamMs;
  }

  /** Records the request and hands its response back. */
  finish(response: Response): Response {
    this.record(response.status, this.logChain === null ? 0 : declaredLength(response.headers));
    if (this.runtime.draining || this.closeConnection) response.headers.set("connection", "close");
    return response;
  }

  /**
   * Counts and logs the request answered with `status` and a declared body of `responseBytes`
   * (the raw engine's direct exchange has no Response), and runs the plugins' log phase.
   */
  record(status: number, responseBytes = 0): void {
    const { metrics, accessLog } = this.runtime;
    metrics.recordRequest(this.routeLabel, status);
    if (accessLog.enabled) accessLog.write(this.logEntry(status));
    if (this.logChain !== null) this.runLogPhase(status, responseBytes);
  }

  /** Switched to a WebSocket: counted now, logged when the session ends. */
  upgraded(): void {
    this.runtime.metrics.recordRequest(this.routeLabel, 101);
    if (this.logChain !== null) this.runLogPhase(101, 0);
  }

  private runLogPhase(status: number, responseBytes: number): void {
    const proxied = this.upstreamMs !== null && this.errorCode === null;
    runLog(this.logChain!, this.logContext!, {
      status,
      source: proxied ? "service" : "kong",
      upstreamMs: proxied ? this.upstreamMs : null,
      kongMs: proxied ? this.proxyMs : Math.round(performance.now() - this.started),
      responseBytes,
      requestBytes: this.requestBytes(),
    });
  }

  private requestBytes(): number {
    const incoming = this.incoming;
    if (!(incoming instanceof Request)) return incoming.bodyBytesRead;
    return this.bodyMeter === null ? 0 : this.bodyMeter.bytes;
  }

  /** The gateway's own answer for a request it cannot serve; the code goes to the log too. */
  refuse(code: ErrorCode): Response {
    this.errorCode = code;
    return this.finish(errorCodeResponse(code, { "x-request-id": this.requestId }));
  }

  /** A fault in the gateway itself: logged with its stack, answered with a bare 500. */
  internalError(error: unknown): Response {
    this.failure = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    this.runtime.accessLog.event({ level: "error", request_id: this.requestId, message: "internal error while proxying", error: this.failure, stack: error instanceof Error ? error.stack : undefined });
    return this.refuse("internal");
  }

  /** The answer for an upstream exchange that failed. */
  upstreamFailed(error: unknown): Response {
    // Nobody reads this answer; 499 (nginx's "client closed request") keeps it apart in the log and metrics.
    if (error instanceof ClientGone) return this.refuse("client_gone");
    if (error instanceof NoHealthyTarget) return this.refuse("no_healthy_target");
    if (error instanceof UpstreamTlsFailed) {
      this.failure = error.message;
      return this.refuse("upstream_tls_failed");
    }
    const timedOut = error instanceof UpstreamTimeout;
    this.failure = timedOut ? "upstream timeout" : (error as Error).message;
    return this.refuse(timedOut ? "upstream_timeout" : "bad_gateway");
  }

  logEntry(status: number): AccessLogEntry {
    return {
      time: new Date().toISOString(),
      request_id: this.requestId,
      method: this.incoming.method,
      path: this.path,
      status,
      route: this.routeLabel === NO_ROUTE ? null : this.routeLabel,
      service: this.serviceLabel,
      consumer: this.consumerLabel,
      client_ip: this.clientIp,
      upstream_latency_ms: this.upstreamMs,
      proxy_latency_ms: this.proxyMs,
      total_latency_ms: Math.round(performance.now() - this.started),
      ...(this.errorCode ? { error_code: this.errorCode } : {}),
      ...(this.failure ? { error: this.failure } : {}),
    };
  }
}

/** Kong's answer to plain HTTP on a route that allows only https, or its redirect. */
function httpsRequired(route: { https_redirect_status_code: number }, host: string, received: string, search: string, httpsPort: number | null, requestId: string): Response {
  const status = route.https_redirect_status_code;
  if (status === 426) return errorCodeResponse("https_required", { connection: "Upgrade", upgrade: "TLS/1.2, HTTP/1.1", "x-request-id": requestId });
  const authority = httpsPort === null || httpsPort === 443 ? host : `${host}:${httpsPort}`;
  return new Response(null, { status, headers: { location: `https://${authority}${received}${search}`, "x-request-id": requestId } });
}

/** One listener's request path; `U` is what its engine upgrades a WebSocket on. */
export class RequestFlow<U> {
  readonly runtime: ListenerRuntime;
  /** The listener's bound port, told to upstreams as X-Forwarded-Port. */
  listenerPort = 0;
  private readonly scheme: "http" | "https";

  constructor(private readonly options: FlowOptions<U>) {
    this.runtime = { metrics: options.metrics, accessLog: options.accessLog, draining: false };
    this.scheme = options.secure ? "https" : "http";
  }

  /**
   * A request from its arrival to its answer. `received` and `search` are the target's path
   * and query as sent; `upgradeOn` is where a WebSocket upgrade would happen. Undefined: the
   * engine's own path answers (upgraded, or the direct exchange).
   */
  handle(incoming: IncomingRequest, received: string, search: string, peer: string, upgradeOn: U | null): Response | undefined | Promise<Response | undefined> {
    const started = eventNow();
    const { state, builtins, trustedIps, secure } = this.options;
    const snapshot = state.current;
    const headers = incoming.headers;
    const flight = new ProxiedRequest<U>(incoming, received, requestIdOf(headers), trustedIps ? clientAddress(peer, headers.get("x-forwarded-for"), trustedIps) : peer, started, this.runtime);
    flight.peerIp = peer;
    try {
      // No peer address: the client reset the connection before it was read (the runtimes then
      // give none). Nobody reads the answer, and ip-restriction or trusted_ips cannot judge it.
      if (peer === "") return flight.refuse("client_gone");
      const method = incoming.method;
      const badFraming = framingRefusal(method, headers);
      if (badFraming !== null) {
        flight.closeConnection = true;
        return flight.refuse(badFraming);
      }
      const host = canonicalHost(headers.get("host"));
      if (host === null) return flight.refuse("invalid_host");
      const path = canonicalPath(received);
      if (path === null) return flight.refuse("invalid_path");
      flight.path = path;
      const builtin = builtins?.get(path);
      if (builtin) {
        const response = builtin(flight.request, snapshot);
        return response instanceof Promise ? response.then((r) => flight.finish(r), (error) => flight.internalError(error)) : flight.finish(response);
      }
      const match = (secure ? snapshot.tlsRouter : snapshot.router).match(method, host, path, headers);
      if (!match) return flight.refuse("no_route");
      const { route, service, chain } = match.target;
      flight.routeLabel = route.name ?? route.id;
      flight.serviceLabel = service.name ?? service.id;
      if (!secure && match.target.httpsOnly) {
        flight.errorCode = "https_required";
        return flight.finish(httpsRequired(route, host.name, received, search, this.options.httpsPort(), flight.requestId));
      }
      const forwardedPath = upstreamPath(match, path);
      if (forwardedPath === null) return flight.refuse("invalid_path");
      flight.upstreamPath = forwardedPath;
      const upgrade = method === "GET" ? headers.get("upgrade") : null;
      if (upgrade !== null && asksForWebSocket(upgrade)) {
        flight.closeConnection = true;
        const refusal = handshakeRefusal(headers);
        if (refusal === "websocket_version_unsupported") return withVersionOffer(flight.refuse(refusal));
        if (refusal !== null) return flight.refuse(refusal);
        flight.upgradeOn = upgradeOn;
      }
      if (chain.steps.length === 0) return this.proxy(flight, match, search, null, NO_PLUGINS);

      removeClientOnlyHeaders(headers, chain.ownedHeaders);
      const ctx = new PluginRequestContext(incoming, flight.requestId, flight.clientIp, snapshot, route.id, chain.authFallback, this.options.accessLog, flight.path);
      ctx.identityHeadersCleared = true;
      if (chain.hasLogPhase) {
        flight.logChain = chain;
        flight.logContext = ctx;
        if (incoming instanceof Request && incoming.body !== null) ctx.bodyMeter = flight.bodyMeter = { bytes: 0 };
      }
      const outcome = runAccess(chain, ctx);
      if (outcome instanceof Promise) {
        // A plugin reading the body learns first that the client went away.
        return outcome
          .then((settled) => this.proxy(flight, match, search, ctx, settled))
          .catch((error) => (error instanceof ClientGone ? flight.refuse("client_gone") : error instanceof BodyCrowdedOut ? flight.refuse("request_body_too_slow") : flight.internalError(error)));
      }
      return this.proxy(flight, match, search, ctx, outcome);
    } catch (error) {
      return flight.internalError(error);
    }
  }

  /** After the access phase: the plugin's own answer, or the upstream's response. */
  private proxy(flight: ProxiedRequest<U>, match: RouteMatch, search: string, ctx: PluginRequestContext | null, outcome: AccessOutcome): Response | Promise<Response | undefined> | undefined {
    const { metrics, pool } = this.options;
    if (ctx) flight.consumerLabel = ctx.consumer?.username ?? ctx.consumer?.id ?? null;
    if (outcome.response) {
      if (ctx?.authFailureMetric) metrics.recordAuthFailure(ctx.authFailureMetric);
      const headers = outcome.response.headers;
      headers.set("x-request-id", flight.requestId);
      if (ctx?.responseHeaders) setPairs(headers, ctx.responseHeaders);
      return flight.finish(outcome.response);
    }
    const { service, chain } = match.target;
    if (!service.enabled) return flight.refuse("service_disabled");

    if (ctx?.upstreamPath) flight.upstreamPath = ctx.upstreamPath;
    // After plugins, the clock itself: their run is the gateway's latency too.
    const upstreamStarted = ctx === null ? eventNow() : performance.now();
    flight.upstreamStarted = upstreamStarted;
    flight.proxyMs = Math.round(upstreamStarted - flight.started);
    const body = ctx === null ? null : ctx.upstreamBody();
    const info: ForwardInfo = {
      pool,
      clientIp: flight.clientIp,
      peerIp: flight.peerIp,
      requestId: flight.requestId,
      listenerPort: this.listenerPort,
      scheme: this.scheme,
      query: ctx === null ? null : ctx.editedQuery(),
      method: ctx?.upstreamMethod ?? flight.incoming.method,
      body,
      bodyMeter: body === null ? flight.bodyMeter : null,
      clientHeadersRemoved: ctx !== null,
      consumerId: ctx === null ? null : (ctx.consumer?.id ?? ctx.credential?.id ?? null),
      path: flight.path,
    };
    const upgradeOn = flight.upgradeOn;
    const direct = upgradeOn === null && (ctx === null || !chain.hasResponsePhase) ? this.options.direct : undefined;
    if (direct?.(flight, match, search, info, ctx)) return undefined;
    const sent = upgradeOn !== null ? this.options.upgrade(flight, upgradeOn, match, flight.upstreamPath, search, info, ctx?.responseHeaders ?? null) : forward(flight.request, match, flight.upstreamPath, search, info);
    return sent.then(
      (upstream) => {
        // Upgraded: the session writes its own log line when it ends.
        if (upstream === undefined) return undefined;
        try {
          const upstreamMs = flight.upstreamAnswered();
          const headers = upstream.headers;
          headers.set("x-request-id", flight.requestId);
          headers.set("x-gateway-upstream-latency", String(upstreamMs));
          headers.set("x-gateway-proxy-latency", String(flight.proxyMs));
          // A forwarded answer without Date gets one (RFC 9110 §6.6.1); Bun.serve adds it to every answer but HEAD's.
          if (flight.incoming.method === "HEAD" && !headers.has("date")) headers.set("date", httpDate());
          if (ctx?.responseHeaders) setPairs(headers, ctx.responseHeaders);
          // Returning the upstream Response itself lets the engine pipe its body natively.
          if (!ctx || !chain.hasResponsePhase) return flight.finish(upstream);
          const answered = runResponse(outcome.responders, ctx, upstream);
          if (!(answered instanceof Promise)) return flight.finish(answered);
          return answered.then((response) => flight.finish(response), (error) => flight.internalError(error));
        } catch (error) {
          return flight.internalError(error);
        }
      },
      (error) => flight.upstreamFailed(error),
    );
  }
}
