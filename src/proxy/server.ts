// The proxy listener: Bun.serve with the request path written out by hand (no framework layer),
// route match → plugin chain → forward → response phase. Reads only the in-memory snapshot.
import type { Server } from "bun";
import type { Metrics } from "../metrics.ts";
import { type AccessOutcome, runAccess, runResponse } from "../pipeline/run-chain.ts";
import { PluginRequestContext } from "../pipeline/request-context.ts";
import type { GatewayState } from "../state/gateway-state.ts";
import type { Snapshot } from "../state/snapshot.ts";
import type { AccessLog } from "./access-log.ts";
import { forward } from "./forward.ts";
import { UpstreamTimeout } from "./upstream/errors.ts";
import { MESSAGES, messageResponse } from "./responses.ts";

/** Endpoints the gateway itself serves on the proxy listener, by exact path. */
export type BuiltinEndpoint = (request: Request, snapshot: Snapshot) => Response | Promise<Response>;

export interface ProxyOptions {
  state: GatewayState;
  metrics: Metrics;
  accessLog: AccessLog;
  hostname: string;
  port: number;
  builtins?: ReadonlyMap<string, BuiltinEndpoint>;
}

const NO_ROUTE = "(none)";
const MAX_REQUEST_ID = 200;

function splitUrl(raw: string): { path: string; search: string } {
  const pathStart = raw.indexOf("/", raw.indexOf("//") + 2);
  if (pathStart < 0) return { path: "/", search: "" };
  const q = raw.indexOf("?", pathStart);
  return q < 0 ? { path: raw.slice(pathStart), search: "" } : { path: raw.slice(pathStart, q), search: raw.slice(q) };
}

function requestIdOf(request: Request): string {
  const given = request.headers.get("x-request-id");
  return given && given.length <= MAX_REQUEST_ID ? given : crypto.randomUUID();
}

export function startProxy(options: ProxyOptions): Server<undefined> {
  const { state, metrics, accessLog, builtins } = options;
  // Read once: every read of `server.port` is a getsockname() system call.
  let listenerPort = options.port;

  const server: Server<undefined> = Bun.serve({
    hostname: options.hostname,
    port: options.port,
    // Bodies stream through; the limit only guards the gateway's own endpoints.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    idleTimeout: 120,
    async fetch(request, srv) {
      const started = performance.now();
      const snapshot = state.current;
      const { path, search } = splitUrl(request.url);
      const requestId = requestIdOf(request);
      const clientIp = srv.requestIP(request)?.address ?? "";
      let routeLabel = NO_ROUTE;
      let serviceLabel: string | null = null;
      let consumerLabel: string | null = null;
      let upstreamMs: number | null = null;
      let proxyMs = 0;
      let status = 500;
      let failure: string | undefined;
      try {
        const builtin = builtins?.get(path);
        if (builtin) {
          const response = await builtin(request, snapshot);
          status = response.status;
          return response;
        }
        const match = snapshot.router.match(request.method, request.headers.get("host") ?? "", path);
        if (!match) {
          status = 404;
          return messageResponse(404, MESSAGES.noRoute, { "x-request-id": requestId });
        }
        const { route, service, chain } = match.target;
        routeLabel = route.name ?? route.id;
        serviceLabel = service.name ?? service.id;

        let ctx: PluginRequestContext | null = null;
        let ran: AccessOutcome["ran"] = [];
        if (chain.steps.length > 0) {
          ctx = new PluginRequestContext(request, requestId, clientIp, snapshot, route.id, chain.configs, accessLog);
          const pending = runAccess(chain, ctx);
          const outcome = pending instanceof Promise ? await pending : pending;
          ran = outcome.ran;
          consumerLabel = ctx.consumer?.username ?? ctx.consumer?.id ?? null;
          if (outcome.response) {
            if (ctx.authFailureMetric) metrics.recordAuthFailure(ctx.authFailureMetric);
            outcome.response.headers.set("x-request-id", requestId);
            status = outcome.response.status;
            return outcome.response;
          }
        }
        if (!service.enabled) {
          status = 503;
          return messageResponse(503, MESSAGES.unavailable, { "x-request-id": requestId });
        }

        const upstreamStarted = performance.now();
        proxyMs = Math.round(upstreamStarted - started);
        let upstream: Response;
        try {
          upstream = await forward(request, match, path, search, {
            clientIp,
            requestId,
            listenerPort,
            dropQueryParams: ctx?.dropQueryParams ?? null,
          });
        } catch (error) {
          const timedOut = error instanceof UpstreamTimeout;
          status = timedOut ? 504 : 502;
          failure = timedOut ? "upstream timeout" : (error as Error).message;
          return messageResponse(status, timedOut ? MESSAGES.timeout : MESSAGES.badGateway, { "x-request-id": requestId });
        }
        upstreamMs = Math.round(performance.now() - upstreamStarted);
        metrics.observeUpstreamLatency(upstreamMs);

        const headers = upstream.headers;
        headers.set("x-request-id", requestId);
        headers.set("x-gateway-upstream-latency", String(upstreamMs));
        headers.set("x-gateway-proxy-latency", String(proxyMs));
        // Returning fetch's own Response lets Bun pipe the body natively.
        let response = upstream;
        if (ctx && chain.hasResponsePhase) response = await runResponse(ran, ctx, response);
        status = response.status;
        return response;
      } catch (error) {
        status = 500;
        failure = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        accessLog.event({ level: "error", request_id: requestId, message: "internal error while proxying", error: failure, stack: error instanceof Error ? error.stack : undefined });
        return messageResponse(500, MESSAGES.internal, { "x-request-id": requestId });
      } finally {
        metrics.recordRequest(routeLabel, status);
        if (accessLog.enabled) accessLog.write({
          time: new Date().toISOString(),
          request_id: requestId,
          method: request.method,
          path,
          status,
          route: routeLabel === NO_ROUTE ? null : routeLabel,
          service: serviceLabel,
          consumer: consumerLabel,
          client_ip: clientIp,
          upstream_latency_ms: upstreamMs,
          proxy_latency_ms: proxyMs,
          total_latency_ms: Math.round(performance.now() - started),
          ...(failure ? { error: failure } : {}),
        });
      }
    },
    error(error) {
      accessLog.event({ level: "error", message: "internal error in the proxy listener", error: String(error) });
      return messageResponse(500, MESSAGES.internal);
    },
  });
  listenerPort = server.port ?? options.port;
  return server;
}
