// A proxy listener, plain HTTP or TLS: Bun.serve with the request path written out by hand (no
// framework layer), route match → plugin chain → forward → response phase. Reads only the
// in-memory snapshot. Whether the listener is TLS is decided once for it, never per request.
// The handler is synchronous and returns the upstream promise chain itself: an async handler
// costs a promise and two microtask hops per request, a few percent of the whole proxying.
import type { Server, WebSocketHandler } from "bun";
import type { Metrics } from "../metrics.ts";
import { type AccessOutcome, runAccess, runResponse } from "../pipeline/run-chain.ts";
import { PluginRequestContext } from "../pipeline/request-context.ts";
import type { GatewayState } from "../state/gateway-state.ts";
import type { Snapshot } from "../state/snapshot.ts";
import type { AccessLog } from "./access-log.ts";
import { canonicalHost } from "./canonical-host.ts";
import { type AddressSet, clientAddress } from "./client-address.ts";
import { canonicalPath } from "./canonical-path.ts";
import { removeClientOnlyHeaders } from "./client-headers.ts";
import { type ForwardInfo, forward, upstreamPath } from "./forward.ts";
import type { ConnectionPool } from "./upstream/pool.ts";
import type { RouteMatch } from "./router.ts";
import { ClientGone, NoHealthyTarget, UpstreamTimeout, UpstreamTlsFailed } from "./upstream/errors.ts";
import type { ErrorCode } from "../errors.ts";
import { errorCodeResponse } from "./responses.ts";
import { type PemPair, type ServerCertificates, serverCertificates } from "../tls/server-certificates.ts";
import { type Tunnel, type UpgradeFlight, WebSocketRelay, asksForWebSocket, handshakeRefusal, withVersionOffer } from "./websocket/relay.ts";
import type { AccessLogEntry } from "./access-log.ts";

/** Endpoints the gateway itself serves on the proxy listener, by exact path. */
export type BuiltinEndpoint = (request: Request, snapshot: Snapshot) => Response | Promise<Response>;

export interface ProxyOptions {
  /** Keep-alive connections to the upstreams, created by the gateway. */
  pool: ConnectionPool;
  state: GatewayState;
  metrics: Metrics;
  accessLog: AccessLog;
  hostname: string;
  port: number;
  builtins?: ReadonlyMap<string, BuiltinEndpoint>;
  /** SO_REUSEPORT: the workers of `serve --workers N` each bind the same address (Linux balances connections). */
  reusePort?: boolean;
  /** `--trusted-ips`: from these peers, the client is the rightmost untrusted X-Forwarded-For hop. */
  trustedIps?: AddressSet | null;
  /** A TLS listener: the certificate for unknown or missing SNI; the others come from the state. */
  tls?: { fallback: PemPair };
  /** Plain listener: the TLS listener's port, for `https_redirect_status_code` redirects (null: none, 443 assumed). */
  httpsPort?: () => number | null;
}

const NO_ROUTE = "(none)";
const MAX_REQUEST_ID = 200;
const NO_PLUGINS: AccessOutcome = { response: undefined, ran: [] };

/** Path and query of Bun's request URL; it is relative when the request named no usable Host. */
function splitUrl(raw: string): { path: string; search: string } {
  const pathStart = raw.charCodeAt(0) === 47 ? 0 : raw.indexOf("/", raw.indexOf("//") + 2);
  if (pathStart < 0) return { path: "/", search: "" };
  const q = raw.indexOf("?", pathStart);
  return q < 0 ? { path: raw.slice(pathStart), search: "" } : { path: raw.slice(pathStart, q), search: raw.slice(q) };
}

const DIGITS = /^\d+$/;

/**
 * Why the request's framing cannot be passed on, or null. Bun reads and discards the body of a
 * GET or HEAD, so forwarding one would be framed by nothing: refused rather than passed on
 * without the body it declared. A Content-Length Bun accepted as a list of equal values
 * (`3, 3`) is collapsed to one (RFC 9110 §8.6); anything else that is not one number refused.
 */
function framingRefusal(request: Request): ErrorCode | null {
  const headers = request.headers;
  const length = headers.get("content-length");
  const method = request.method;
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

/** Sets flat name, value pairs (RequestContext.responseHeaders). */
function setPairs(headers: Headers, pairs: readonly string[]): void {
  for (let i = 0; i < pairs.length; i += 2) headers.set(pairs[i]!, pairs[i + 1]!);
}

function requestIdOf(request: Request): string {
  const given = request.headers.get("x-request-id");
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
class ProxiedRequest implements UpgradeFlight {
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
  /** For a valid `Upgrade: websocket` request: the server it came to, which upgrades it. */
  upgradeOn: Server<Tunnel> | null = null;

  constructor(
    readonly request: Request,
    /** As received until it is made canonical, then canonical. */
    public path: string,
    readonly requestId: string,
    readonly clientIp: string,
    readonly started: number,
    private readonly runtime: ListenerRuntime,
  ) {}

  /** Records the request and hands its response back. */
  finish(response: Response): Response {
    const { metrics, accessLog, draining } = this.runtime;
    metrics.recordRequest(this.routeLabel, response.status);
    if (accessLog.enabled) this.writeLog(response.status);
    if (draining) response.headers.set("connection", "close");
    return response;
  }

  /** Switched to a WebSocket: counted now, logged when the session ends. */
  upgraded(): void {
    this.runtime.metrics.recordRequest(this.routeLabel, 101);
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

  private writeLog(status: number): void {
    this.runtime.accessLog.write(this.logEntry(status));
  }

  logEntry(status: number): AccessLogEntry {
    return {
      time: new Date().toISOString(),
      request_id: this.requestId,
      method: this.request.method,
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

export interface ProxyListener {
  readonly server: Server<Tunnel>;
  readonly port: number;
  /**
   * From now on every response closes its connection. After `lingerMs` (time for a request a
   * keep-alive client sent just before it could see that to arrive) stops accepting and closes
   * idle connections; requests in flight finish. Resolves when none is left.
   */
  drain(lingerMs: number): Promise<void>;
  /** Closes every connection, in flight or not. */
  close(): Promise<void>;
  /** Requests in flight on every server of this listener (a replaced TLS server still finishing some). */
  readonly pendingRequests: number;
}

type ServeOptions = {
  hostname: string;
  port: number;
  reusePort: boolean;
  maxRequestBodySize: number;
  idleTimeout: number;
  fetch(request: Request, srv: Server<Tunnel>): Response | undefined | Promise<Response | undefined>;
  websocket: WebSocketHandler<Tunnel>;
  error(error: Error): Response;
};

/** Kong's answer to plain HTTP on a route that allows only https, or its redirect. */
function httpsRequired(route: { https_redirect_status_code: number }, host: string, received: string, search: string, httpsPort: number | null, requestId: string): Response {
  const status = route.https_redirect_status_code;
  if (status === 426) return errorCodeResponse("https_required", { connection: "Upgrade", upgrade: "TLS/1.2, HTTP/1.1", "x-request-id": requestId });
  const authority = httpsPort === null || httpsPort === 443 ? host : `${host}:${httpsPort}`;
  return new Response(null, { status, headers: { location: `https://${authority}${received}${search}`, "x-request-id": requestId } });
}

/** Refuses a port someone else holds: the TLS listener binds with SO_REUSEPORT, which would share it silently. */
function checkPortFree(hostname: string, port: number): number {
  const probe = Bun.listen({ hostname, port, socket: { data() {} } });
  const bound = probe.port;
  probe.stop(true);
  return bound;
}

export function startProxy(options: ProxyOptions): ProxyListener {
  const pool = options.pool;
  const { state, metrics, accessLog, builtins } = options;
  const trustedIps = options.trustedIps ?? null;
  const runtime: ListenerRuntime = { metrics, accessLog, draining: false };
  const websockets = new WebSocketRelay(accessLog);
  const secure = options.tls !== undefined;
  const scheme = secure ? "https" : "http";
  const httpsPort = options.httpsPort ?? (() => null);
  // Read once: every read of `server.port` is a getsockname() system call.
  let listenerPort = options.port;

  /** After the access phase: the plugin's own answer, or the upstream's response. */
  function proxy(flight: ProxiedRequest, match: RouteMatch, search: string, ctx: PluginRequestContext | null, outcome: AccessOutcome): Response | Promise<Response | undefined> {
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

    const upstreamStarted = performance.now();
    flight.proxyMs = Math.round(upstreamStarted - flight.started);
    const info: ForwardInfo = {
      pool,
      clientIp: flight.clientIp,
      peerIp: flight.peerIp,
      requestId: flight.requestId,
      listenerPort,
      scheme,
      dropQueryParams: ctx?.dropQueryParams ?? null,
      clientHeadersRemoved: ctx !== null,
      consumerId: ctx === null ? null : (ctx.consumer?.id ?? ctx.credential?.id ?? null),
      path: flight.path,
    };
    const sent = flight.upgradeOn ? websockets.connect(flight, flight.upgradeOn, match, flight.upstreamPath, search, info, ctx?.responseHeaders ?? null) : forward(flight.request, match, flight.upstreamPath, search, info);
    return sent.then(
      (upstream) => {
        // Upgraded: the session writes its own log line when it ends.
        if (upstream === undefined) return undefined;
        try {
          const upstreamMs = Math.round(performance.now() - upstreamStarted);
          flight.upstreamMs = upstreamMs;
          metrics.observeUpstreamLatency(upstreamMs);
          const headers = upstream.headers;
          headers.set("x-request-id", flight.requestId);
          headers.set("x-gateway-upstream-latency", String(upstreamMs));
          headers.set("x-gateway-proxy-latency", String(flight.proxyMs));
          if (ctx?.responseHeaders) setPairs(headers, ctx.responseHeaders);
          // Returning the upstream Response itself lets Bun pipe its body natively.
          if (!ctx || !chain.hasResponsePhase) return flight.finish(upstream);
          const answered = runResponse(outcome.ran, ctx, upstream);
          if (!(answered instanceof Promise)) return flight.finish(answered);
          return answered.then((response) => flight.finish(response), (error) => flight.internalError(error));
        } catch (error) {
          return flight.internalError(error);
        }
      },
      (error) => {
        // Nobody reads this answer; 499 (nginx's "client closed request") keeps it apart in the log and metrics.
        if (error instanceof ClientGone) return flight.refuse("client_gone");
        if (error instanceof NoHealthyTarget) return flight.refuse("no_healthy_target");
        if (error instanceof UpstreamTlsFailed) {
          flight.failure = error.message;
          return flight.refuse("upstream_tls_failed");
        }
        const timedOut = error instanceof UpstreamTimeout;
        flight.failure = timedOut ? "upstream timeout" : (error as Error).message;
        return flight.refuse(timedOut ? "upstream_timeout" : "bad_gateway");
      },
    );
  }

  const serveOptions: ServeOptions = {
    hostname: options.hostname,
    port: options.port,
    reusePort: options.reusePort ?? false,
    // Bodies stream through; the limit only guards the gateway's own endpoints.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    idleTimeout: 120,
    fetch(request: Request, srv: Server<Tunnel>) {
      const started = performance.now();
      const snapshot = state.current;
      const { path: received, search } = splitUrl(request.url);
      const peer = srv.requestIP(request)?.address ?? "";
      const flight = new ProxiedRequest(request, received, requestIdOf(request), trustedIps ? clientAddress(peer, request.headers.get("x-forwarded-for"), trustedIps) : peer, started, runtime);
      flight.peerIp = peer;
      try {
        const badFraming = framingRefusal(request);
        if (badFraming !== null) return flight.refuse(badFraming);
        const host = canonicalHost(request.headers.get("host"));
        if (host === null) return flight.refuse("invalid_host");
        const path = canonicalPath(received);
        if (path === null) return flight.refuse("invalid_path");
        flight.path = path;
        const builtin = builtins?.get(path);
        if (builtin) {
          const response = builtin(request, snapshot);
          return response instanceof Promise ? response.then((r) => flight.finish(r), (error) => flight.internalError(error)) : flight.finish(response);
        }
        const match = (secure ? snapshot.tlsRouter : snapshot.router).match(request.method, host, path, request.headers);
        if (!match) return flight.refuse("no_route");
        const { route, service, chain } = match.target;
        flight.routeLabel = route.name ?? route.id;
        flight.serviceLabel = service.name ?? service.id;
        if (!secure && match.target.httpsOnly) {
          flight.errorCode = "https_required";
          return flight.finish(httpsRequired(route, host.name, received, search, httpsPort(), flight.requestId));
        }
        const forwardedPath = upstreamPath(match, path);
        if (forwardedPath === null) return flight.refuse("invalid_path");
        flight.upstreamPath = forwardedPath;
        const upgrade = request.method === "GET" ? request.headers.get("upgrade") : null;
        if (upgrade !== null && asksForWebSocket(upgrade)) {
          const refusal = handshakeRefusal(request.headers);
          if (refusal === "websocket_version_unsupported") return withVersionOffer(flight.refuse(refusal));
          if (refusal !== null) return flight.refuse(refusal);
          flight.upgradeOn = srv;
        }
        if (chain.steps.length === 0) return proxy(flight, match, search, null, NO_PLUGINS);

        removeClientOnlyHeaders(request.headers, chain.ownedHeaders);
        const ctx = new PluginRequestContext(request, flight.requestId, flight.clientIp, snapshot, route.id, chain.authFallback, accessLog);
        ctx.identityHeadersCleared = true;
        const outcome = runAccess(chain, ctx);
        if (outcome instanceof Promise) {
          return outcome.then((settled) => proxy(flight, match, search, ctx, settled)).catch((error) => flight.internalError(error));
        }
        return proxy(flight, match, search, ctx, outcome);
      } catch (error) {
        return flight.internalError(error);
      }
    },
    websocket: websockets.handlers,
    error(error: Error) {
      accessLog.event({ level: "error", message: "internal error in the proxy listener", error: String(error) });
      return errorCodeResponse("internal");
    },
  };
  if (!options.tls) {
    const server: Server<Tunnel> = Bun.serve<Tunnel>(serveOptions);
    listenerPort = server.port ?? options.port;
    return {
      server,
      port: listenerPort,
      async drain(lingerMs) {
        runtime.draining = true;
        if (lingerMs > 0) await Bun.sleep(lingerMs);
        await websockets.closeAll();
        await server.stop(false);
      },
      async close() {
        await websockets.closeAll();
        await server.stop(true);
      },
      get pendingRequests() {
        return server.pendingRequests;
      },
    };
  }
  return startTlsServers(serveOptions, options, runtime, websockets, (port) => (listenerPort = port));
}

/**
 * The TLS listener. Bun 1.4.5 cannot change the certificates of a running server (reload()
 * ignores `tls`), so new TLS material starts a new server on the same address (SO_REUSEPORT)
 * and stops the old one gracefully: new handshakes get the new certificates at once, requests
 * in flight on old connections finish, and the old server's idle keep-alive connections are
 * closed cleanly (Bun's stop(false)), as nginx's reload does; clients reconnect.
 */
function startTlsServers(
  serveOptions: ServeOptions,
  options: ProxyOptions,
  runtime: ListenerRuntime,
  websockets: WebSocketRelay,
  setPort: (port: number) => void,
): ProxyListener {
  const { state, accessLog } = options;
  const fallback = options.tls!.fallback;
  const materialOf = (snapshot: Snapshot): ServerCertificates => serverCertificates(fallback, snapshot.data.certificates, snapshot.data.snis);
  let material = materialOf(state.current);
  const port = options.reusePort ? options.port : checkPortFree(serveOptions.hostname, serveOptions.port);
  const start = (tls: ServerCertificates) => Bun.serve({ ...serveOptions, port, reusePort: true, tls: tls.tls });
  let server = start(material);
  setPort(port);
  // A retired server stops once its WebSocket sessions end too: a certificate change drops none.
  const retiring = new Set<Server<Tunnel>>();
  let closed = false;
  state.onChange((snapshot) => {
    if (closed) return;
    const next = materialOf(snapshot);
    if (next.digest === material.digest) return;
    let fresh: Server<Tunnel>;
    try {
      fresh = start(next);
    } catch (error) {
      accessLog.event({ level: "error", message: "TLS certificates changed but the listener could not load them; keeping the previous ones", error: String(error).split("\n")[0] });
      return;
    }
    const old = server;
    server = fresh;
    material = next;
    retiring.add(old);
    void old.stop(false).then(() => retiring.delete(old));
    accessLog.event({ level: "info", message: "TLS certificates replaced", server_names: next.tls.length - 1 });
  });
  const all = () => [server, ...retiring];
  return {
    get server() {
      return server;
    },
    port,
    async drain(lingerMs) {
      closed = true;
      runtime.draining = true;
      if (lingerMs > 0) await Bun.sleep(lingerMs);
      await websockets.closeAll();
      await Promise.all(all().map((each) => each.stop(false)));
    },
    async close() {
      closed = true;
      await websockets.closeAll();
      await Promise.all(all().map((each) => each.stop(true)));
    },
    get pendingRequests() {
      return all().reduce((sum, each) => sum + each.pendingRequests, 0);
    },
  };
}
