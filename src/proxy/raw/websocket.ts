// The raw engine's side of a relayed WebSocket session (src/proxy/websocket/relay.ts does the
// upstream handshake, the frames towards the upstream and the session's log line): the client's
// masked frames are read and checked as the upstream's are, and what the upstream sends is
// written to the client unmasked, with backpressure both ways, as Bun's ServerWebSocket does
// for the serve engine.
import type { Tunnel, TunnelClient } from "../websocket/relay.ts";
import { CLOSE_WAIT_MS } from "../websocket/upstream.ts";
import { FrameReader, NO_STATUS, Opcode, ProtocolViolation, closePayload, encodeServerFrame } from "../websocket/frames.ts";
import type { ClientTransport } from "./transport.ts";

/** Bun's own default for a received message, as the relay keeps for both sides. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** The code a client that vanished without a Close frame is reported with. */
const ABNORMAL = 1006;

export class RawWebSocketClient implements TunnelClient {
  private readonly reader: FrameReader;
  private closeSent = false;
  /** The client's Close frame: its code and reason, reported when the socket is gone. */
  private closeCode = ABNORMAL;
  private closeReason = "";
  private reported = false;
  private closeTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly transport: ClientTransport,
    private readonly tunnel: Tunnel,
  ) {
    this.reader = new FrameReader(
      MAX_MESSAGE_BYTES,
      {
        text: (message) => tunnel.fromClient(message),
        binary: (message) => tunnel.fromClient(Buffer.from(message.buffer, message.byteOffset, message.byteLength)),
        ping: (payload) => tunnel.toUpstream(Opcode.Ping, Buffer.from(payload)),
        pong: (payload) => tunnel.toUpstream(Opcode.Pong, Buffer.from(payload)),
        close: (code, reason) => this.closeReceived(code, reason),
      },
      true,
    );
  }

  received(bytes: Uint8Array): void {
    try {
      this.reader.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    } catch (error) {
      if (!(error instanceof ProtocolViolation)) throw error;
      // A client that breaks the protocol is closed with the code that says how (RFC 6455 §7.4.1).
      this.closeCode = error.code;
      this.close(error.code, "");
      this.transport.end();
    }
  }

  /** Everything queued is written: the upstream may send again. */
  drained(): void {
    this.tunnel.clientDrained();
  }

  /** The client's connection is gone. */
  closed(): void {
    if (this.closeTimer) clearTimeout(this.closeTimer);
    if (this.reported) return;
    this.reported = true;
    this.tunnel.clientClosed(this.closeCode, this.closeReason);
  }

  send(message: string | Uint8Array): number {
    return this.frame(typeof message === "string" ? Opcode.Text : Opcode.Binary, message);
  }

  ping(payload: Uint8Array): number {
    return this.frame(Opcode.Ping, payload);
  }

  pong(payload: Uint8Array): number {
    return this.frame(Opcode.Pong, payload);
  }

  /** Sends a Close frame (once); the socket closes when the client answers, or after the grace period. */
  close(code?: number, reason = ""): void {
    if (this.closeSent) return;
    this.closeSent = true;
    this.transport.write(encodeServerFrame(Opcode.Close, closePayload(code ?? NO_STATUS, reason)));
    if (this.closeCode !== ABNORMAL || this.reported) this.transport.end();
    else this.closeTimer = setTimeout(() => this.transport.destroy(), CLOSE_WAIT_MS);
  }

  terminate(): void {
    this.transport.destroy();
  }

  pause(): void {
    this.transport.pause();
  }

  resume(): void {
    this.transport.resume();
  }

  private frame(opcode: Opcode, payload: Uint8Array | string): number {
    if (this.closeSent) return 0;
    const frame = encodeServerFrame(opcode, payload);
    return this.transport.write(frame) ? frame.length : -1;
  }

  /** The client's Close: answered with the same code (unless the gateway's own went first), then the socket ends. */
  private closeReceived(code: number, reason: string): void {
    this.closeCode = code;
    this.closeReason = reason;
    if (!this.closeSent) {
      this.closeSent = true;
      this.transport.write(encodeServerFrame(Opcode.Close, closePayload(code, "")));
    }
    this.transport.end();
  }
}
