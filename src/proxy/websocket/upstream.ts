// The gateway's WebSocket client to a service: connects (TCP, or TLS for wss), sends the upgrade
// request the proxy built, reads the answer, then carries frames with backpressure and the
// service's timeouts. Written over Bun.connect rather than Bun's WebSocket client, which (Bun
// 1.4.5) hands back a refused upgrade only as an error message, without its status or body,
// and answers the upstream's pings itself instead of letting the client's pongs through.
import type { Socket, SocketHandler, TLSOptions } from "bun";
import { ChunkedDecoder } from "../upstream/chunked.ts";
import { UpstreamConnectFailed, UpstreamConnectTimeout, UpstreamTimeout, UpstreamTlsFailed, UpstreamUnreachable, isNameNotFound } from "../upstream/errors.ts";
import { MAX_HEAD_BYTES, MalformedResponse, type ResponseHead, lineEndIn, parseResponseHead, statusOf } from "../upstream/response-head.ts";
import { FrameReader, type FrameSink, Opcode, ProtocolViolation, closePayload, encodeFrame } from "./frames.ts";

export interface UpstreamAddress {
  readonly hostname: string;
  readonly port: number;
  /** For wss: verification options (serverName set); null for ws. */
  readonly tls: TLSOptions | null;
}

export interface UpstreamTimeouts {
  /** Connect, TLS and the upgrade answer together (the service's connect_timeout). */
  readonly connectMs: number;
  /** Longest silence of the upstream (read_timeout, as nginx's proxy_read_timeout for an upgraded connection). */
  readonly readMs: number;
  /** Longest time a frame may wait for the upstream to take it (write_timeout). */
  readonly writeMs: number;
}

export interface UpstreamEvents extends FrameSink {
  /** The upstream takes frames again after `send` returned false. */
  drained(): void;
  /** The upstream broke the protocol; it has been sent a Close frame with `code`. */
  violated(code: number, why: string): void;
  timedOut(which: "read" | "write"): void;
  /** The connection is gone; `why` is null after a Close frame from each side. */
  ended(why: string | null): void;
}

export type UpgradeAnswer =
  | { readonly upgraded: true; readonly connection: UpstreamWebSocket; readonly protocol: string | null; readonly headers: [string, string][] }
  | { readonly upgraded: false; readonly response: Response };

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** A refusal's body is handed to the client whole; more than this is not an answer but a stream. */
const MAX_REFUSAL_BODY = 1024 * 1024;
/** How long a Close frame the gateway sent waits for the upstream's before the socket is closed. */
export const CLOSE_WAIT_MS = 2000;
// Headers of a 101 that are the handshake's own, not the client's business; Bun writes the client's.
const HANDSHAKE_ONLY: ReadonlySet<string> = new Set(["sec-websocket-accept", "sec-websocket-extensions", "sec-websocket-protocol"]);

/** The Sec-WebSocket-Accept that answers `key` (RFC 6455 §4.2.2). */
export function acceptOf(key: string): string {
  return new Bun.CryptoHasher("sha1").update(key + GUID).digest("base64");
}

/** A fresh Sec-WebSocket-Key and the Sec-WebSocket-Accept that must come back (RFC 6455 §4.1). */
export function handshakeKey(): { key: string; accept: string } {
  const key = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64");
  return { key, accept: acceptOf(key) };
}

const enum Phase { Connecting, Handshake, Refused, Open, Closed }

const handlers: SocketHandler<UpstreamWebSocket> = {
  open: (socket) => socket.data.opened(socket),
  handshake: (socket, success, error) => socket.data.secured(socket, success, error),
  data: (socket, chunk) => socket.data.received(chunk),
  drain: (socket) => socket.data.writable(),
  end: (socket) => void socket.end(),
  close: (socket) => socket.data.gone(),
  error: (socket, error) => socket.data.broke(error),
};

export class UpstreamWebSocket {
  private socket: Socket<UpstreamWebSocket> | null = null;
  private phase = Phase.Connecting;
  private headText = "";
  private resolve!: (answer: UpgradeAnswer) => void;
  private reject!: (error: Error) => void;
  private connectTimer: ReturnType<typeof setTimeout> | null = null;
  private failure: string | null = null;
  /** The failure is the upstream's certificate (a 502 `upstream_tls_failed`, as for HTTP). */
  private tlsFailed = false;
  /** The answer promise is settled: later failures belong to the relay, not the handshake. */
  private settled = false;
  // The refusal being read.
  private refusal: { status: number; headers: [string, string][]; body: Buffer[]; bytes: number; length: number; chunked: ChunkedDecoder | null } | null = null;
  // Open.
  private events: UpstreamEvents | null = null;
  private reader: FrameReader | null = null;
  private early: Buffer | null = null;
  private outbox: Buffer[] = [];
  private paused = false;
  private lastRead = 0;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;
  private writeTimer: ReturnType<typeof setTimeout> | null = null;
  private closeSent = false;
  private closeReceived = false;

  private constructor(
    private readonly secure: boolean,
    private readonly verify: boolean,
    private readonly head: string,
    private readonly accept: string,
    private readonly offered: readonly string[],
    private readonly timeouts: UpstreamTimeouts,
    private readonly maxMessageBytes: number,
  ) {}

  /**
   * Connects and sends `head` (a complete request head carrying `Sec-WebSocket-Key` whose
   * answer is `accept`). Resolves with the open connection, paused until `attach`, or with the
   * upstream's refusal; rejects with UpstreamTimeout or UpstreamUnreachable.
   */
  static open(address: UpstreamAddress, head: string, accept: string, offered: readonly string[], timeouts: UpstreamTimeouts, maxMessageBytes: number): Promise<UpgradeAnswer> {
    const connection = new UpstreamWebSocket(address.tls !== null, address.tls?.rejectUnauthorized !== false, head, accept, offered, timeouts, maxMessageBytes);
    const answer = new Promise<UpgradeAnswer>((resolve, reject) => {
      connection.resolve = resolve;
      connection.reject = reject;
    });
    // Before the socket is open nothing was sent (another target may be tried); after, the upgrade went unanswered.
    connection.connectTimer = setTimeout(() => connection.fail(connection.socket === null ? new UpstreamConnectTimeout("connect timeout") : new UpstreamTimeout("no answer to the upgrade within connect_timeout")), timeouts.connectMs);
    Bun.connect<UpstreamWebSocket>({ hostname: address.hostname, port: address.port, tls: address.tls ?? undefined, data: connection, socket: handlers } as never).then(
      (socket) => {
        if (connection.phase === Phase.Closed) (socket as Socket<UpstreamWebSocket>).terminate();
      },
      (error: Error) => connection.fail(new UpstreamConnectFailed(`connect failed: ${error.message}`, isNameNotFound(error))),
    );
    return answer;
  }

  opened(socket: Socket<UpstreamWebSocket>): void {
    if (this.phase === Phase.Closed) return void socket.terminate();
    this.socket = socket;
    // A TLS socket is written to once its handshake is through (`secured`).
    if (!this.secure) this.sendHead();
  }

  secured(socket: Socket<UpstreamWebSocket>, success: boolean, error: Error | null): void {
    this.socket = socket;
    // With verification opted out (rejectUnauthorized: false) Bun reports the error and succeeds.
    if (!success || (error && this.verify)) {
      this.failure = `TLS verification failed: ${(error as { code?: string } | null)?.code ?? error?.message ?? "handshake failed"}`;
      this.tlsFailed = true;
      return void socket.terminate();
    }
    this.sendHead();
  }

  private sendHead(): void {
    if (this.phase !== Phase.Connecting || !this.socket) return;
    this.phase = Phase.Handshake;
    this.write(Buffer.from(this.head, "latin1"));
  }

  received(chunk: Buffer): void {
    try {
      if (this.phase === Phase.Open) {
        this.lastRead = performance.now();
        this.reader!.push(chunk);
      } else if (this.phase === Phase.Handshake) this.readHead(chunk);
      else if (this.phase === Phase.Refused) this.readRefusal(chunk, 0);
    } catch (error) {
      if (error instanceof ProtocolViolation) return this.violation(error.code, error.message);
      this.fail(new UpstreamUnreachable(error instanceof MalformedResponse ? `invalid upgrade answer: ${error.message}` : String(error)));
    }
  }

  private readHead(chunk: Buffer): void {
    const before = this.headText.length;
    this.headText += chunk.toString("latin1");
    const end = this.headText.indexOf("\r\n\r\n");
    if (end < 0) {
      if (this.headText.length > MAX_HEAD_BYTES) throw new MalformedResponse("answer head too large");
      return;
    }
    const text = this.headText.slice(0, end);
    const rest = end + 4 - before;
    this.headText = "";
    const head = Buffer.from(text, "latin1");
    const status = statusOf(head, 0, lineEndIn(head, 0, head.length));
    if (status === 101) return this.upgraded(text, parseResponseHead(head, 0, head.length, "GET"), chunk.subarray(rest));
    // Interim answers (100, 103) precede the real one.
    if (status < 200) return rest < chunk.length ? this.readHead(chunk.subarray(rest)) : undefined;
    const parsed = parseResponseHead(head, 0, head.length, "GET");
    this.phase = Phase.Refused;
    this.refusal = { status, headers: parsed.headers, body: [], bytes: 0, length: parsed.framing === "length" ? parsed.length : -1, chunked: parsed.framing === "chunked" ? new ChunkedDecoder() : null };
    if (parsed.framing === "none" || parsed.length === 0 && parsed.framing === "length") return this.refused();
    if (parsed.length > MAX_REFUSAL_BODY) throw new MalformedResponse("refusal body too large");
    if (rest < chunk.length) this.readRefusal(chunk, rest);
  }

  private readRefusal(chunk: Buffer, from: number): void {
    const refusal = this.refusal!;
    const keep = (bytes: Buffer) => {
      refusal.body.push(Buffer.from(bytes));
      refusal.bytes += bytes.length;
      if (refusal.bytes > MAX_REFUSAL_BODY) throw new MalformedResponse("refusal body too large");
    };
    if (refusal.chunked) {
      refusal.chunked.decode(chunk, from, keep);
      if (refusal.chunked.done) this.refused();
      return;
    }
    const wanted = refusal.length < 0 ? chunk.length - from : Math.min(chunk.length - from, refusal.length - refusal.bytes);
    keep(chunk.subarray(from, from + wanted));
    if (refusal.bytes === refusal.length) this.refused();
  }

  private refused(): void {
    const { status, headers, body, bytes } = this.refusal!;
    this.settle();
    this.phase = Phase.Closed;
    this.socket?.end();
    const content = bytes === 0 ? null : Buffer.concat(body, bytes);
    // The body is whole now, so the upstream's length header (or none) is replaced by Bun's own.
    const kept = headers.filter(([name]) => name.toLowerCase() !== "content-length");
    this.resolve({ upgraded: false, response: new Response(content, { status, headers: kept }) });
  }

  private upgraded(text: string, parsed: ResponseHead, early: Buffer): void {
    const fields = handshakeFields(text);
    if (fields.get("upgrade")?.toLowerCase() !== "websocket") throw new MalformedResponse("101 without Upgrade: websocket");
    if (!fields.get("connection")?.toLowerCase().split(",").some((option) => option.trim() === "upgrade")) throw new MalformedResponse("101 without Connection: upgrade");
    if (fields.get("sec-websocket-accept") !== this.accept) throw new MalformedResponse("wrong Sec-WebSocket-Accept");
    if (fields.has("sec-websocket-extensions")) throw new MalformedResponse("an extension the gateway did not offer");
    const protocol = fields.get("sec-websocket-protocol") ?? null;
    if (protocol !== null && !this.offered.includes(protocol)) throw new MalformedResponse(`sub-protocol "${protocol}" was not offered`);
    const headers = parsed.headers.filter(([name]) => !HANDSHAKE_ONLY.has(name.toLowerCase()));
    this.settle();
    this.phase = Phase.Open;
    // Frames that came with the answer wait, and the socket is not read, until the client's side is open.
    if (early.length > 0) this.early = Buffer.from(early);
    this.socket!.pause();
    this.paused = true;
    this.resolve({ upgraded: true, connection: this, protocol, headers });
  }

  /** Starts relaying to `events`: the frames held since the upgrade first. */
  attach(events: UpstreamEvents): void {
    this.events = events;
    if (this.phase === Phase.Closed) return events.ended("upstream connection lost");
    this.reader = new FrameReader(this.maxMessageBytes, {
      text: (message) => events.text(message),
      binary: (message) => events.binary(message),
      ping: (payload) => events.ping(payload),
      pong: (payload) => events.pong(payload),
      close: (code, reason) => {
        this.closeReceived = true;
        if (this.closeSent) this.socket?.end();
        events.close(code, reason);
      },
    });
    this.lastRead = performance.now();
    this.idleTimer = setTimeout(this.checkIdle, this.timeouts.readMs);
    const early = this.early;
    this.early = null;
    if (early) this.received(early);
    this.resumeReading();
  }

  /** False when the frame had to be queued: the caller stops reading its side until `drained`. */
  send(opcode: Opcode, payload: Uint8Array | string): boolean {
    if (this.phase !== Phase.Open || this.closeSent) return true;
    return this.write(encodeFrame(opcode, payload));
  }

  /** Sends a Close frame (once) and closes the socket when the upstream answers or after a grace period. */
  close(code: number, reason: string): void {
    if (this.phase !== Phase.Open || this.closeSent) return;
    this.closeSent = true;
    this.write(encodeFrame(Opcode.Close, closePayload(code, reason)));
    if (this.closeReceived) this.socket?.end();
    else setTimeout(() => this.socket?.terminate(), CLOSE_WAIT_MS).unref();
  }

  /** Ends the connection without a Close frame (the client vanished, as a plain TCP proxy would show it). */
  terminate(): void {
    if (this.phase === Phase.Closed) return;
    this.socket?.end();
  }

  pauseReading(): void {
    if (this.paused || this.phase !== Phase.Open) return;
    this.paused = true;
    this.socket?.pause();
  }

  resumeReading(): void {
    if (!this.paused || this.phase !== Phase.Open || !this.events) return;
    this.paused = false;
    this.lastRead = performance.now();
    this.socket?.resume();
  }

  writable(): void {
    const socket = this.socket;
    if (!socket) return;
    while (this.outbox.length > 0) {
      const first = this.outbox[0]!;
      const written = socket.write(first);
      if (written < first.length) {
        this.outbox[0] = first.subarray(Math.max(written, 0));
        return;
      }
      this.outbox.shift();
    }
    if (this.writeTimer) clearTimeout(this.writeTimer);
    this.writeTimer = null;
    if (this.phase === Phase.Open) this.events?.drained();
  }

  gone(): void {
    const phase = this.phase;
    this.phase = Phase.Closed;
    // Closed already: nothing is left to end or terminate.
    this.socket = null;
    this.clearTimers();
    if (phase === Phase.Open) return this.events?.ended(this.closeReceived && this.closeSent ? null : "upstream connection lost");
    // A refusal without a length ends with the connection.
    if (phase === Phase.Refused && this.refusal!.length < 0 && !this.refusal!.chunked) return this.refused();
    if (this.tlsFailed) return this.fail(new UpstreamTlsFailed(this.failure!));
    this.fail(new UpstreamUnreachable(this.failure ?? "the upstream closed the connection before answering the upgrade"));
  }

  broke(error: Error): void {
    this.failure ??= error.message;
  }

  private write(bytes: Buffer): boolean {
    const socket = this.socket!;
    if (this.outbox.length > 0) {
      this.outbox.push(bytes);
      return false;
    }
    const written = socket.write(bytes);
    if (written >= bytes.length) return true;
    this.outbox.push(bytes.subarray(Math.max(written, 0)));
    this.writeTimer ??= setTimeout(() => this.events?.timedOut("write"), this.timeouts.writeMs);
    return false;
  }

  private violation(code: number, why: string): void {
    this.reader = null;
    this.close(code, "");
    this.events?.violated(code, why);
  }

  private readonly checkIdle = (): void => {
    if (this.phase !== Phase.Open) return;
    const readMs = this.timeouts.readMs;
    // A paused socket is the client's doing (backpressure): the upstream is not silent.
    const idle = this.paused ? 0 : performance.now() - this.lastRead;
    if (idle >= readMs) return this.events?.timedOut("read");
    this.idleTimer = setTimeout(this.checkIdle, readMs - idle);
  };

  private settle(): void {
    this.settled = true;
    this.clearConnectTimer();
  }

  private clearConnectTimer(): void {
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = null;
  }

  private clearTimers(): void {
    this.clearConnectTimer();
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.writeTimer) clearTimeout(this.writeTimer);
    this.idleTimer = this.writeTimer = null;
  }

  private fail(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.phase = Phase.Closed;
    this.clearTimers();
    this.socket?.terminate();
    this.reject(error);
  }
}

/** The fields of a 101 head the handshake checks, by lower-case name (repeated ones joined). */
function handshakeFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split("\r\n").slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    const before = fields.get(name);
    fields.set(name, before === undefined ? value : `${before}, ${value}`);
  }
  return fields;
}
