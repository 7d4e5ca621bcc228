// WebSocket proxying for the proxy listener: after the access phase has let an upgrade through,
// opens the service's own WebSocket (ws, or wss for https services), upgrades the client's
// connection only once the upstream has accepted, and relays messages, pings, pongs and close
// codes both ways, each direction paused while the other side cannot take more. One access-log
// line per session, written when both sides are closed.
import type { Server, TLSOptions, WebSocketHandler } from "bun";
import type { ErrorCode } from "../../errors.ts";
import type { AccessLog, AccessLogEntry, WebSocketSessionLog } from "../access-log.ts";
import { type ForwardInfo, upgradeRequestHead } from "../forward.ts";
import type { HeaderLookup, RouteMatch } from "../router.ts";
import type { Peer } from "../../balancer/peer.ts";
import { NoHealthyTarget, UpstreamConnectFailed, UpstreamConnectTimeout, UpstreamTimeout, UpstreamTlsFailed, UpstreamUnreachable } from "../upstream/errors.ts";
import { NO_STATUS, Opcode } from "./frames.ts";
import { CLOSE_WAIT_MS, type UpgradeAnswer, UpstreamWebSocket, type UpstreamEvents, handshakeKey } from "./upstream.ts";

/** Bun's own default for a received message, kept for both sides. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** Room for what is already read when a direction pauses; past it Bun would drop a message. */
const BACKPRESSURE_LIMIT = 2 * MAX_MESSAGE_BYTES;
const KEY = /^[A-Za-z0-9+/]{22}==$/;
const NOTHING = (): void => {};

function once(action: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    action();
  };
}

/**
 * Per-service TLS options for `wss` (CA, client certificate, verification opt-out), merged over
 * the secure defaults: verification on, the service's host as the name to verify.
 */
/**
 * The wss connection's TLS options: the service's own (src/state/upstream-tls.ts: trust store,
 * client certificate, an explicit opt-out) over verification of the host it connects to.
 */
function upstreamTls(match: RouteMatch, hostname: string): TLSOptions {
  const settings = match.target.tls;
  if (settings?.refusal) throw new UpstreamTlsFailed(settings.refusal);
  return { rejectUnauthorized: true, serverName: hostname, ...settings } as TLSOptions;
}

/** True for `Upgrade: websocket`; other upgrades (h2c…) stay plain HTTP requests, as today. */
export function asksForWebSocket(upgrade: string): boolean {
  return upgrade.length === 9 && upgrade.toLowerCase() === "websocket";
}

/** Why a request that asks for a WebSocket cannot have one (RFC 6455 §4.1), or null. */
export function handshakeRefusal(headers: HeaderLookup): ErrorCode | null {
  const connection = headers.get("connection");
  if (connection === null || !connection.toLowerCase().split(",").some((option) => option.trim() === "upgrade")) return "invalid_websocket_upgrade";
  if (!KEY.test(headers.get("sec-websocket-key") ?? "")) return "invalid_websocket_upgrade";
  if (headers.get("sec-websocket-version") !== "13") return "websocket_version_unsupported";
  return null;
}

/** RFC 6455 §4.4: a refused version is answered with the one the gateway speaks. */
export function withVersionOffer(refusal: Response): Response {
  refusal.headers.set("sec-websocket-version", "13");
  return refusal;
}

/** The client's side of an upgrade: the engine answers 101 and carries the session's frames. */
export interface WebSocketClientSide {
  /**
   * Upgrades the client's connection for `tunnel` (its open goes to `tunnel.clientOpened`),
   * answering 101 with `headers`; false when the client is gone.
   */
  accept(request: Request, tunnel: Tunnel, headers: Headers, protocol: string | null): boolean;
}

/** What a tunnel needs of its client's WebSocket (Bun's ServerWebSocket has it; the raw engine has its own). */
export interface TunnelClient {
  /** As ServerWebSocket.send: -1 queued behind what the client has not read, 0 dropped, else sent. */
  send(message: string | Uint8Array): number;
  ping(payload: Uint8Array): number;
  pong(payload: Uint8Array): number;
  close(code?: number, reason?: string): void;
  terminate(): void;
  pause(): void;
  resume(): void;
}

/** Bun.serve's side: the server the request came to upgrades it. */
export class BunServerUpgrade implements WebSocketClientSide {
  constructor(private readonly server: Server<Tunnel>) {}

  accept(request: Request, tunnel: Tunnel, headers: Headers, protocol: string | null): boolean {
    // The access phase removed the client's hop-by-hop headers; Bun reads the handshake from them.
    request.headers.set("upgrade", "websocket");
    request.headers.set("connection", "Upgrade");
    // Without one in the answer, Bun would answer the client with the first sub-protocol it offered.
    if (protocol === null) request.headers.delete("sec-websocket-protocol");
    return !request.signal.aborted && this.server.upgrade(request, { data: tunnel, headers });
  }
}

/** What the relay needs of the request's flight through the proxy. */
export interface UpgradeFlight {
  readonly request: Request;
  readonly requestId: string;
  upstreamMs: number | null;
  /** The request is counted as answered with 101. */
  upgraded(): void;
  /** The request's access-log line as it stands, with `status`. */
  logEntry(status: number): AccessLogEntry;
}

export class WebSocketRelay {
  private readonly open = new Set<Tunnel>();
  private whenEmpty: (() => void) | null = null;
  /** False once shut down: the access log may be closed. */
  logging = true;
  readonly handlers: WebSocketHandler<Tunnel>;

  constructor(readonly accessLog: AccessLog) {
    this.handlers = {
      maxPayloadLength: MAX_MESSAGE_BYTES,
      backpressureLimit: BACKPRESSURE_LIMIT,
      closeOnBackpressureLimit: false,
      // The service's read_timeout ends idle sessions (nginx's meaning, which Kong has); Bun's
      // own idle pings would reach the upstream as pongs nobody asked for.
      idleTimeout: 0,
      sendPings: false,
      // Messages are relayed as they are; compressing them again would cost the gateway CPU per
      // message, and compressed secrets beside attacker text leak (CRIME). Neither side offers it.
      perMessageDeflate: false,
      open: (ws) => ws.data.clientOpened(ws),
      message: (ws, message) => ws.data.fromClient(message),
      ping: (ws, payload) => ws.data.toUpstream(Opcode.Ping, payload),
      pong: (ws, payload) => ws.data.toUpstream(Opcode.Pong, payload),
      drain: (ws) => ws.data.clientDrained(),
      close: (ws, code, reason) => ws.data.clientClosed(code, reason),
    };
  }

  /**
   * Opens the upstream WebSocket for a request the access phase let through and, once the
   * upstream accepted, upgrades the client (its 101 carries the upstream's headers and
   * `pluginHeaders`). Resolves with the upstream's refusal, or undefined
   * once upgraded; rejects as `forward` does (UpstreamTimeout, UpstreamUnreachable).
   */
  async connect(flight: UpgradeFlight, client: WebSocketClientSide, match: RouteMatch, path: string, search: string, info: ForwardInfo, pluginHeaders: readonly string[] | null): Promise<Response | undefined> {
    const { request } = flight;
    const started = performance.now();
    const { answer, release } = await this.handshake(request, match, path, search, info);
    flight.upstreamMs = Math.round(performance.now() - started);
    if (!answer.upgraded) {
      release();
      return answer.response;
    }
    const { connection } = answer;
    const headers = new Headers(answer.headers);
    if (answer.protocol !== null) headers.set("sec-websocket-protocol", answer.protocol);
    headers.set("x-request-id", flight.requestId);
    // What plugins set on the response from the access phase (rate-limiting's headers): flat name, value pairs.
    if (pluginHeaders) for (let i = 0; i < pluginHeaders.length; i += 2) headers.set(pluginHeaders[i]!, pluginHeaders[i + 1]!);
    const tunnel = new Tunnel(connection, flight, this, match.target.service.write_timeout, release);
    // Counted before the client's side opens: the raw engine opens it within accept.
    this.open.add(tunnel);
    if (!client.accept(request, tunnel, headers, answer.protocol)) {
      this.open.delete(tunnel);
      release();
      connection.terminate();
      throw new UpstreamUnreachable("the client left before its upgrade");
    }
    flight.upgraded();
    return undefined;
  }

  /**
   * The upstream's answer to the handshake: from the service's host, or from a target its
   * upstream picks (each target's health told of the outcome; one that cannot be connected to
   * is left for another, up to `retries` times). `release` ends the session's count on a
   * least-connections or latency target.
   */
  private async handshake(request: Request, match: RouteMatch, path: string, search: string, info: ForwardInfo): Promise<{ answer: UpgradeAnswer; release: () => void }> {
    const { service, balancer, route } = match.target;
    const https = service.protocol === "https";
    const offered = (request.headers.get("sec-websocket-protocol") ?? "").split(",").map((name) => name.trim()).filter(Boolean);
    const timeouts = { connectMs: service.connect_timeout, readMs: service.read_timeout, writeMs: service.write_timeout };
    const hashInput = balancer?.hashing ? { headers: request.headers, clientIp: info.clientIp, consumerId: info.consumerId, path: info.path, search, route } : null;
    let tried: Peer[] | null = null;
    for (;;) {
      const peer = balancer ? balancer.pick(hashInput, tried) : null;
      if (balancer && peer === null) throw new NoHealthyTarget();
      const hostname = peer ? peer.hostname : service.host;
      const { key, accept } = handshakeKey();
      const upstreamHost = peer ? (https ? peer.httpsHost : peer.httpHost) : match.target.upstreamHost;
      const head = upgradeRequestHead(request, match, path, search, info, upstreamHost, `upgrade: websocket\r\nconnection: upgrade\r\nsec-websocket-key: ${key}\r\nsec-websocket-version: 13\r\n`);
      if (head === null) throw new UpstreamUnreachable("the request target cannot be sent upstream");
      const tls = https ? upstreamTls(match, hostname) : null;
      const counted = peer !== null && balancer!.tracksLoad;
      if (counted) peer.inFlight++;
      const release = counted ? once(() => peer.inFlight--) : NOTHING;
      try {
        const answer = await UpstreamWebSocket.open({ hostname, port: peer ? peer.port : service.port, tls }, head, accept, offered, timeouts, MAX_MESSAGE_BYTES);
        if (peer?.health.countsResponses) peer.health.passiveStatus(answer.upgraded ? 101 : answer.response.status);
        return { answer, release };
      } catch (error) {
        release();
        if (peer === null) throw error;
        if (error instanceof UpstreamTimeout) peer.health.passiveTimeout();
        else if (error instanceof UpstreamConnectFailed && error.unresolved) peer.health.nameNotFound();
        else peer.health.passiveTcpFailure();
        (tried ??= []).push(peer);
        const unsent = error instanceof UpstreamConnectFailed || error instanceof UpstreamConnectTimeout;
        if (!unsent || tried.length > service.retries) throw error;
      }
    }
  }

  /**
   * Shutdown: every session is closed with 1001 (going away) on both sides. Resolves once each
   * has ended and written its log line (the log closes after this); a session whose peers do
   * not answer within the Close grace period is cut.
   */
  async closeAll(): Promise<void> {
    if (this.open.size > 0) {
      for (const tunnel of this.open) tunnel.shutDown();
      if (!(await this.allEnded(CLOSE_WAIT_MS + 500))) {
        for (const tunnel of this.open) tunnel.cut();
        await this.allEnded(500);
      }
    }
    // A line written after the log's file is closed would go to whatever file took its descriptor.
    this.logging = false;
  }

  ended(tunnel: Tunnel): void {
    this.open.delete(tunnel);
    if (this.open.size === 0) this.whenEmpty?.();
  }

  private allEnded(ms: number): Promise<boolean> {
    if (this.open.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.whenEmpty = null;
        resolve(false);
      }, ms);
      this.whenEmpty = () => {
        clearTimeout(timer);
        this.whenEmpty = null;
        resolve(true);
      };
    });
  }
}

/** One relayed session: the client's ServerWebSocket on one side, the upstream connection on the other. */
class Tunnel implements UpstreamEvents {
  private client: TunnelClient | null = null;
  private readonly started = performance.now();
  private fromClientCount = 0;
  private fromUpstreamCount = 0;
  private closeCode: number | null = null;
  private closedBy: WebSocketSessionLog["closed_by"] | null = null;
  private error: string | undefined;
  private clientClosing = false;
  /** Runs while the client is not taking what the upstream sends: write_timeout, as for the upstream. */
  private clientStall: ReturnType<typeof setTimeout> | null = null;
  private clientDone = false;
  private upstreamDone = false;

  constructor(
    readonly upstream: UpstreamWebSocket,
    private readonly flight: UpgradeFlight,
    private readonly relay: WebSocketRelay,
    private readonly writeTimeoutMs: number,
    /** Ends the session's count on its target (least-connections, latency). */
    private readonly release: () => void,
  ) {}

  clientOpened(ws: TunnelClient): void {
    this.client = ws;
    this.upstream.attach(this);
  }

  fromClient(message: string | Buffer): void {
    this.fromClientCount++;
    this.toUpstream(typeof message === "string" ? Opcode.Text : Opcode.Binary, message);
  }

  /** Pings and pongs wait behind what the upstream has not taken as messages do: a ping flood must not queue without end. */
  toUpstream(opcode: Opcode, payload: string | Buffer): void {
    if (!this.upstream.send(opcode, payload)) this.client?.pause();
  }

  clientDrained(): void {
    if (this.clientStall) clearTimeout(this.clientStall);
    this.clientStall = null;
    this.upstream.resumeReading();
  }

  clientClosed(code: number, reason: string): void {
    if (this.clientStall) clearTimeout(this.clientStall);
    this.clientDone = true;
    this.clientClosing = true;
    if (this.closedBy === null) {
      this.closedBy = "client";
      this.closeCode = code;
      // A client that vanished without a Close frame (1006) is shown to the upstream the same way.
      if (code === 1006) this.upstream.terminate();
      else this.upstream.close(code, reason);
    }
    this.finishIfDone();
  }

  // Upstream → client.
  text(message: string): void {
    this.fromUpstreamCount++;
    this.delivered(this.client!.send(message));
  }

  binary(message: Uint8Array): void {
    this.fromUpstreamCount++;
    this.delivered(this.client!.send(message));
  }

  ping(payload: Uint8Array): void {
    this.delivered(this.client!.ping(payload));
  }

  pong(payload: Uint8Array): void {
    this.delivered(this.client!.pong(payload));
  }

  close(code: number, reason: string): void {
    if (this.closedBy === null) {
      this.closedBy = "upstream";
      this.closeCode = code;
    }
    // The client's Close goes first: answering the upstream's may end its socket at once.
    this.closeClient(code, reason);
    this.upstream.close(code, reason);
  }

  drained(): void {
    this.client?.resume();
  }

  violated(code: number, why: string): void {
    this.endByGateway(`invalid frame from the upstream (closed with ${code}): ${why}`, 1014, "invalid frame from the upstream");
  }

  timedOut(which: "read" | "write"): void {
    this.endByGateway(`upstream ${which} timeout`, 1001, `upstream ${which} timeout`);
    this.upstream.close(1001, "");
  }

  ended(why: string | null): void {
    this.upstreamDone = true;
    if (why !== null && this.closedBy === null) {
      this.closedBy = "upstream";
      this.error = why;
    }
    // The upstream went without a Close frame: the client sees its connection drop (1006) too.
    if (!this.clientClosing) {
      this.clientClosing = true;
      this.client?.terminate();
    }
    this.finishIfDone();
  }

  shutDown(): void {
    this.endByGateway("gateway shutting down", 1001, "gateway shutting down");
    this.upstream.close(1001, "");
  }

  /** Both connections dropped, for peers that did not answer the shutdown's Close. */
  cut(): void {
    this.client?.terminate();
    this.upstream.terminate();
  }

  private delivered(status: number): void {
    // -1: queued behind what the client has not read yet; 0: dropped (past the backpressure limit).
    if (status === -1) {
      this.upstream.pauseReading();
      this.clientStall ??= setTimeout(this.clientStalled, this.writeTimeoutMs);
    }
    else if (status === 0 && !this.clientClosing) {
      this.endByGateway("client too slow: message dropped", 1011, "client too slow");
      this.upstream.close(1001, "");
    }
  }

  /** A client that takes nothing for write_timeout is gone or stuck: its Close could not get through either. */
  private readonly clientStalled = (): void => {
    this.clientStall = null;
    if (this.closedBy === null) {
      this.closedBy = "gateway";
      this.closeCode = 1006;
      this.error = "client write timeout";
    }
    this.clientClosing = true;
    this.client?.terminate();
    this.upstream.close(1001, "");
  };

  private endByGateway(why: string, clientCode: number, reason: string): void {
    if (this.closedBy === null) {
      this.closedBy = "gateway";
      this.closeCode = clientCode;
      this.error = why;
    }
    this.closeClient(clientCode, reason);
  }

  private closeClient(code: number, reason: string): void {
    if (this.clientClosing) return;
    this.clientClosing = true;
    if (code === NO_STATUS) this.client?.close();
    else this.client?.close(code, reason);
  }

  private finishIfDone(): void {
    if (!this.clientDone || !this.upstreamDone) return;
    this.release();
    this.relay.ended(this);
    const log = this.relay.accessLog;
    if (!log.enabled || !this.relay.logging) return;
    const session: WebSocketSessionLog = {
      duration_ms: Math.round(performance.now() - this.started),
      messages_from_client: this.fromClientCount,
      messages_from_upstream: this.fromUpstreamCount,
      close_code: this.closeCode,
      closed_by: this.closedBy ?? "gateway",
      ...(this.error ? { error: this.error } : {}),
    };
    log.write({ ...this.flight.logEntry(101), websocket: session });
  }
}

export type { Tunnel };
