// The raw engine's proxy listener (`--proxy-engine raw`): Bun.listen for plain HTTP, node:tls
// for TLS (its SNICallback picks each handshake's certificate from the state's certificates, so
// a certificate change swaps the contexts in place: new handshakes get the new material at
// once; as with the serve engine's replaced server, older connections finish their request and close). Each socket gets a ClientConnection; one sweep a second
// enforces every connection's head and idle deadline.
import type { Socket, TCPSocketListener } from "bun";
import { type SecureContext, type TLSSocket, createSecureContext, createServer } from "node:tls";
import type { Snapshot } from "../../state/snapshot.ts";
import { type ServerCertificates, hardened, serverCertificates } from "../../tls/server-certificates.ts";
import { RequestFlow } from "../request-flow.ts";
import type { ProxyListener, ProxyOptions } from "../server.ts";
import { ClientConnection, type ConnectionHost, DEFAULT_RAW_TIMEOUTS, type RawTimeouts } from "./connection.ts";
import { directForward } from "./direct.ts";
import { BunTransport, TlsTransport } from "./transport.ts";
import { WebSocketRelay } from "../websocket/relay.ts";
import { eventNow, receiveAsEvent } from "../event-clock.ts";

export interface RawProxyOptions extends ProxyOptions {
  /** Tests shorten them. */
  timeouts?: RawTimeouts;
}

const SWEEP_MS = 1000;

/** The listener's connections, their deadlines and its pending-request count. */
class ConnectionSet implements ConnectionHost {
  readonly connections = new Set<ClientConnection>();
  pending = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  private whenIdle: (() => void) | null = null;

  constructor(
    readonly flow: RequestFlow<ClientConnection>,
    readonly scheme: string,
    readonly timeouts: RawTimeouts,
  ) {}

  now(): number {
    return eventNow();
  }

  add(connection: ClientConnection): void {
    this.connections.add(connection);
    if (this.timer === null) {
      this.timer = setInterval(() => this.sweep(), Math.min(SWEEP_MS, this.timeouts.headMs / 2));
      this.timer.unref();
    }
  }

  requestStarted(): void {
    this.pending++;
  }

  requestEnded(): void {
    this.pending--;
  }

  closed(connection: ClientConnection): void {
    this.connections.delete(connection);
    if (this.connections.size === 0) {
      if (this.timer !== null) clearInterval(this.timer);
      this.timer = null;
      this.whenIdle?.();
    }
  }

  /** Resolves once every connection has closed. */
  allClosed(): Promise<void> {
    if (this.connections.size === 0) return Promise.resolve();
    return new Promise((resolve) => (this.whenIdle = resolve));
  }

  private sweep(): void {
    const now = this.now();
    for (const connection of this.connections) if (connection.deadline !== 0 && connection.deadline <= now) connection.timedOut();
  }
}

export function startRawProxy(options: RawProxyOptions): ProxyListener {
  const secure = options.tls !== undefined;
  const websockets = new WebSocketRelay(options.accessLog);
  const flow: RequestFlow<ClientConnection> = new RequestFlow<ClientConnection>({
    pool: options.pool,
    state: options.state,
    metrics: options.metrics,
    accessLog: options.accessLog,
    builtins: options.builtins,
    trustedIps: options.trustedIps ?? null,
    secure,
    httpsPort: options.httpsPort ?? (() => null),
    upgrade: (flight, connection, match, path, search, info, pluginHeaders) => websockets.connect(flight, connection, match, path, search, info, pluginHeaders),
    direct: (flight, match, search, info, plugins) => directForward(flight, match, search, info, plugins),
  });
  const set = new ConnectionSet(flow, secure ? "https://" : "http://", options.timeouts ?? DEFAULT_RAW_TIMEOUTS);
  const listening = secure ? listenTls(options, set) : listenPlain(options, set);
  flow.listenerPort = listening.port;
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    listening.stop();
  };
  return {
    port: listening.port,
    async drain(lingerMs) {
      flow.runtime.draining = true;
      if (lingerMs > 0) await Bun.sleep(lingerMs);
      stop();
      await websockets.closeAll();
      for (const connection of set.connections) connection.retire();
      await set.allClosed();
    },
    async close() {
      stop();
      await websockets.closeAll();
      for (const connection of [...set.connections]) connection.destroy();
      await set.allClosed();
    },
    get pendingRequests() {
      return set.pending;
    },
  };
}

interface Listening {
  readonly port: number;
  stop(): void;
}

function listenPlain(options: RawProxyOptions, set: ConnectionSet): Listening {
  const listener: TCPSocketListener<ClientConnection> = Bun.listen<ClientConnection>({
    hostname: options.hostname,
    port: options.port,
    // Bun 1.4.5 honours it on Bun.listen; its type declarations leave it out.
    ...({ reusePort: options.reusePort ?? false } as object),
    socket: {
      open(socket: Socket<ClientConnection>) {
        const connection = new ClientConnection(set);
        socket.data = connection;
        socket.setNoDelay(true);
        connection.opened(new BunTransport(socket as Socket<unknown>));
        set.add(connection);
      },
      data(socket, bytes) {
        receiveAsEvent(socket.data, bytes);
      },
      drain(socket) {
        if ((socket.data.transport as BunTransport).flush()) socket.data.drained();
      },
      end(socket) {
        socket.data.peerEnded();
      },
      close(socket) {
        socket.data.closed();
      },
      error(socket) {
        socket.data.closed();
      },
    },
  });
  return { port: listener.port, stop: () => listener.stop(false) };
}

/** The contexts of one set of TLS material: the default one, and one per server name. */
interface TlsContexts {
  readonly material: ServerCertificates;
  readonly byName: Map<string, SecureContext>;
}

function contextsOf(material: ServerCertificates): TlsContexts {
  const byName = new Map<string, SecureContext>();
  for (const entry of material.tls.slice(1)) byName.set(entry.serverName!.toLowerCase(), createSecureContext(entry as never));
  return { material, byName };
}

/**
 * Kong's order: the exact name (a trailing dot is no other name), then a wildcard for its first
 * label (`*.example.com`), then one for its last (`example.*`), as the serve engine matches them.
 */
export function contextFor<C>(contexts: { byName: ReadonlyMap<string, C> }, name: string): C | undefined {
  let lower = name.toLowerCase();
  if (lower.endsWith(".")) lower = lower.slice(0, -1);
  const exact = contexts.byName.get(lower);
  if (exact) return exact;
  const first = lower.indexOf(".");
  if (first <= 0) return undefined;
  return contexts.byName.get(`*${lower.slice(first)}`) ?? contexts.byName.get(`${lower.slice(0, lower.lastIndexOf("."))}.*`);
}

/** Refuses a port someone else holds with the error Bun.listen gives (node:tls reports it only later, as an event). */
function checkPortFree(hostname: string, port: number): number {
  const probe = Bun.listen({ hostname, port, socket: { data() {} } });
  const bound = probe.port;
  probe.stop(true);
  return bound;
}

function listenTls(options: RawProxyOptions, set: ConnectionSet): Listening {
  const { state, accessLog } = options;
  const fallback = options.tls!.fallback;
  const materialOf = (snapshot: Snapshot): ServerCertificates => serverCertificates(fallback, snapshot.data.certificates, snapshot.data.snis);
  let contexts = contextsOf(materialOf(state.current));
  let closed = false;
  state.onChange((snapshot) => {
    if (closed) return;
    const next = materialOf(snapshot);
    if (next.digest === contexts.material.digest) return;
    try {
      contexts = contextsOf(next);
    } catch (error) {
      accessLog.event({ level: "error", message: "TLS certificates changed but the listener could not load them; keeping the previous ones", error: String(error).split("\n")[0] });
      return;
    }
    // As the serve engine's retired server does: connections made with the old material finish their request and close.
    for (const connection of set.connections) connection.retire();
    accessLog.event({ level: "info", message: "TLS certificates replaced", server_names: next.tls.length - 1 });
  });
  const server = createServer(
    {
      ...(hardened(fallback) as object),
      SNICallback: (name: string, answer: (error: Error | null, context?: SecureContext) => void) => answer(null, contextFor(contexts, name)),
      // The connection's own head deadline starts once it is secure: before, this one bounds it.
      handshakeTimeout: set.timeouts.headMs,
    },
    (socket: TLSSocket) => {
      const connection = new ClientConnection(set);
      socket.setNoDelay(true);
      connection.opened(new TlsTransport(socket, connection));
      socket.on("end", () => connection.peerEnded());
      set.add(connection);
    },
  );
  // A failed or timed-out handshake: Bun reports it but leaves the socket open, holding a descriptor.
  server.on("tlsClientError", (_error: Error, socket: TLSSocket) => socket.destroy());
  const port = options.reusePort ? options.port : checkPortFree(options.hostname, options.port);
  server.listen({ host: options.hostname, port, reusePort: true });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error(`TLS listener ${options.hostname}:${port}: could not listen`);
  return {
    port: address.port,
    stop: () => {
      closed = true;
      server.close();
    },
  };
}
