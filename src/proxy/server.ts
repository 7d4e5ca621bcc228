// A proxy listener of the serve engine, plain HTTP or TLS: Bun.serve handing each request to the
// shared request flow (./request-flow.ts) with no framework layer between. Whether the listener
// is TLS is decided once for it, never per request.
import type { Server, WebSocketHandler } from "bun";
import type { Metrics } from "../metrics.ts";
import type { GatewayState } from "../state/gateway-state.ts";
import type { Snapshot } from "../state/snapshot.ts";
import type { AccessLog } from "./access-log.ts";
import type { AddressSet } from "./client-address.ts";
import { type BuiltinEndpoint, RequestFlow } from "./request-flow.ts";
import type { ConnectionPool } from "./upstream/pool.ts";
import { errorCodeResponse } from "./responses.ts";
import { type PemPair, type ServerCertificates, serverCertificates } from "../tls/server-certificates.ts";
import { BunServerUpgrade, type Tunnel, WebSocketRelay } from "./websocket/relay.ts";

export type { BuiltinEndpoint };

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

/** Path and query of Bun's request URL; it is relative when the request named no usable Host. */
function splitUrl(raw: string): { path: string; search: string } {
  const pathStart = raw.charCodeAt(0) === 47 ? 0 : raw.indexOf("/", raw.indexOf("//") + 2);
  if (pathStart < 0) return { path: "/", search: "" };
  const q = raw.indexOf("?", pathStart);
  return q < 0 ? { path: raw.slice(pathStart), search: "" } : { path: raw.slice(pathStart, q), search: raw.slice(q) };
}

export interface ProxyListener {
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

/** Refuses a port someone else holds: the TLS listener binds with SO_REUSEPORT, which would share it silently. */
function checkPortFree(hostname: string, port: number): number {
  const probe = Bun.listen({ hostname, port, socket: { data() {} } });
  const bound = probe.port;
  probe.stop(true);
  return bound;
}

export function startProxy(options: ProxyOptions): ProxyListener {
  const websockets = new WebSocketRelay(options.accessLog);
  const flow = new RequestFlow<Server<Tunnel>>({
    pool: options.pool,
    state: options.state,
    metrics: options.metrics,
    accessLog: options.accessLog,
    builtins: options.builtins,
    trustedIps: options.trustedIps ?? null,
    secure: options.tls !== undefined,
    httpsPort: options.httpsPort ?? (() => null),
    upgrade: (flight, server, match, path, search, info, pluginHeaders) => websockets.connect(flight, new BunServerUpgrade(server), match, path, search, info, pluginHeaders),
  });
  const runtime = flow.runtime;
  const accessLog = options.accessLog;
  // Read once: every read of `server.port` is a getsockname() system call.
  flow.listenerPort = options.port;

  const serveOptions: ServeOptions = {
    hostname: options.hostname,
    port: options.port,
    reusePort: options.reusePort ?? false,
    // Bodies stream through; the limit only guards the gateway's own endpoints.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    idleTimeout: 120,
    fetch(request: Request, srv: Server<Tunnel>) {
      const { path, search } = splitUrl(request.url);
      return flow.handle(request, path, search, srv.requestIP(request)?.address ?? "", srv);
    },
    websocket: websockets.handlers,
    error(error: Error) {
      accessLog.event({ level: "error", message: "internal error in the proxy listener", error: String(error) });
      return errorCodeResponse("internal");
    },
  };
  if (!options.tls) {
    const server: Server<Tunnel> = Bun.serve<Tunnel>(serveOptions);
    flow.listenerPort = server.port ?? options.port;
    return {
      port: flow.listenerPort,
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
  return startTlsServers(serveOptions, options, runtime, websockets, (port) => (flow.listenerPort = port));
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
  runtime: { draining: boolean },
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
