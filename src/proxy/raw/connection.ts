// One client connection of the raw engine: bytes are buffered and parsed into requests, served
// one at a time in the order they came (a pipelined request waits, and reading pauses once too
// much waits behind it), keep-alive or not as the client asked, with the head and idle
// deadlines the listener's sweep enforces. Each request goes through the shared request flow;
// its answer is written with backpressure, then the next request is read.
import { ERRORS, type ErrorCode, messageOf } from "../../errors.ts";
import type { RequestFlow } from "../request-flow.ts";
import { JSON_CONTENT_TYPE, errorCodeResponse } from "../responses.ts";
import { headRefusal } from "./hardening.ts";
import { RawRequest, type RequestConnection } from "./incoming.ts";
import { type BodySource, RequestBody } from "./request-body.ts";
import { DEFAULT_PARSE_LIMITS, type RequestHead, parseRequestHead } from "./request-parser.ts";
import { type Answering, type ResponseSink, dateHeader, statusLine, writeResponse } from "./response-writer.ts";
import type { ClientEvents, ClientTransport } from "./transport.ts";
import type { Tunnel, WebSocketClientSide } from "../websocket/relay.ts";
import { acceptOf } from "../websocket/upstream.ts";
import { RawWebSocketClient } from "./websocket.ts";

export interface RawTimeouts {
  /** A request head must be complete this long after its first byte. */
  readonly headMs: number;
  /** The longest silence of a client: between requests, mid-body, or not reading its answer. */
  readonly idleMs: number;
}

/** Bun.serve's idleTimeout (120 s); a head gets 30 s, as nginx's client_header_timeout 60 s halved. */
export const DEFAULT_RAW_TIMEOUTS: RawTimeouts = { headMs: 30_000, idleMs: 120_000 };

/** Bytes of pipelined requests held while one is served; past it, reading pauses. */
const MAX_WAITING_BYTES = 64 * 1024;
const EMPTY = Buffer.alloc(0);
const CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n";
const NON_ASCII = /[\x80-\xff]/g;
const ABSOLUTE_AUTHORITY = /^https?:\/\/[^/?]*/i;
const QUERY_ENCODED = /["'<>]/;
const QUERY_ENCODED_ALL = /["'<>]/g;

/** What a connection needs of its listener. */
export interface ConnectionHost {
  readonly flow: RequestFlow<ClientConnection>;
  /** `http://` or `https://`, for the URL of a Fetch Request built from a head. */
  readonly scheme: string;
  readonly timeouts: RawTimeouts;
  now(): number;
  /** A request started or ended (the listener's pendingRequests). */
  requestStarted(): void;
  requestEnded(): void;
  closed(connection: ClientConnection): void;
}

/** The origin-form path and query of a request target, or null when it has none (`*`, an authority). */
function splitTarget(raw: string): { path: string; search: string } | null {
  let target = raw;
  if (target.charCodeAt(0) !== 47) {
    // absolute-form: the authority ends at the first "/" or "?" (RFC 3986 §3.2); a "/" in the query starts no path.
    const authority = ABSOLUTE_AUTHORITY.exec(target);
    if (!authority) return null;
    const rest = target.slice(authority[0].length);
    target = rest.charCodeAt(0) === 47 ? rest : `/${rest}`;
  }
  // Bytes beyond ASCII travel percent-encoded, as a URL parser would have them.
  if (NON_ASCII.test(target)) target = target.replace(NON_ASCII, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const q = target.indexOf("?");
  if (q < 0) return { path: target, search: "" };
  let search = target.slice(q);
  // The WHATWG special-query percent-encode set, as the serve engine's URL sends the query on.
  if (QUERY_ENCODED.test(search)) search = search.replace(QUERY_ENCODED_ALL, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return { path: target.slice(0, q), search };
}

/**
 * An answer nobody will read: its body is cancelled, so an upstream connection still sending it
 * is closed rather than left paused (with no read deadline) behind a reader that never comes.
 */
function dropAnswer(response: Response): void {
  void response.body?.cancel().catch(() => {});
}

export class ClientConnection implements ClientEvents, BodySource, ResponseSink, RequestConnection, WebSocketClientSide {
  transport!: ClientTransport;
  /** The listener clock's reading past which the connection is closed (0: none). */
  deadline = 0;
  private buffer: Buffer = EMPTY;
  private start = 0;
  private current: RawRequest | null = null;
  private head: RequestHead | null = null;
  /** Set when the request in flight ends the connection (the client's wish, a refusal, a drain). */
  private closeAfter = false;
  /** The answer's head is out: a `100 Continue` would come too late. */
  private answered = false;
  private headStarted = false;
  private readPaused = false;
  private waiters: (() => void)[] = [];
  private gone = false;
  private peer = "";
  /** Once upgraded: the session's side of the connection, which gets every byte from then on. */
  private websocket: RawWebSocketClient | null = null;
  /** Inside advance(): a body's pull that comes synchronously from an enqueue must not feed the same bytes again. */
  private advancing = false;

  constructor(private readonly host: ConnectionHost) {}

  opened(transport: ClientTransport): void {
    this.transport = transport;
    this.peer = transport.remoteAddress;
    this.deadline = this.host.now() + this.host.timeouts.idleMs;
  }

  get clientGone(): boolean {
    return this.gone;
  }

  received(bytes: Uint8Array): void {
    if (this.gone) return;
    if (this.websocket) return this.websocket.received(bytes);
    const buffered = this.buffer.length - this.start;
    this.buffer = buffered > 0 ? Buffer.concat([this.buffer.subarray(this.start), bytes]) : (bytes as Buffer);
    this.start = 0;
    this.advance();
  }

  drained(): void {
    if (this.websocket) return this.websocket.drained();
    const waiters = this.waiters;
    if (waiters.length === 0) return;
    this.waiters = [];
    if (this.current) this.deadline = 0;
    for (const wake of waiters) wake();
  }

  closed(): void {
    if (this.gone) return;
    this.gone = true;
    this.deadline = 0;
    this.current?.clientGone();
    if (this.websocket) this.websocket.closed();
    else this.drained();
    this.host.closed(this);
  }

  write(bytes: Uint8Array | string): boolean {
    if (this.gone) return true;
    return this.transport.write(bytes);
  }

  writeTransient(bytes: Uint8Array, length: number): boolean {
    if (this.gone) return true;
    return this.transport.writeTransient(bytes, length);
  }

  writable(): Promise<void> {
    if (this.gone) return Promise.resolve();
    // A client that does not read its answer is as silent as one that sends nothing.
    this.deadline = this.host.now() + this.host.timeouts.idleMs;
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  bodyWanted(): void {
    if (this.gone || this.advancing) return;
    this.resumeReading();
    this.advance();
  }

  sendContinue(): void {
    if (!this.answered && !this.gone) this.transport.write(CONTINUE);
  }

  /** The sweep found the deadline passed: a head that came too slowly gets 408, a silent connection is closed. */
  timedOut(): void {
    this.deadline = 0;
    if (this.current === null && this.headStarted) return this.refuse("request_timeout");
    this.transport.destroy();
    this.closed();
  }

  /**
   * The client sent its last byte (a half-close). Both listeners leave half-open connections off,
   * so the socket closes right after and a request still in flight is a client abort (499), as
   * nginx (and so Kong) treats a client's FIN while it proxies.
   */
  peerEnded(): void {
    if (this.current !== null) this.closeAfter = true;
    else if (!this.gone) this.transport.end();
  }

  /** Closes at once, whatever is in flight. */
  destroy(): void {
    if (this.gone) return;
    this.transport.destroy();
    this.closed();
  }

  /** No further request on this connection: closed now when idle, else once its request is answered. */
  retire(): void {
    // A WebSocket session is closed by the relay's own shutdown, with 1001 on both sides.
    if (this.gone || this.websocket) return;
    if (this.current === null) this.transport.end();
    else this.closeAfter = true;
  }

  /** Reads requests from the buffer while nothing is in flight, and body bytes into the request's body. */
  private advance(): void {
    this.advancing = true;
    try {
      this.readBuffered();
    } finally {
      this.advancing = false;
    }
  }

  private readBuffered(): void {
    for (;;) {
      if (this.gone) return;
      const end = this.buffer.length;
      const body = this.current?.body;
      if (body && !body.done && body.failed === null) {
        if (!body.wanted) return this.pauseReading();
        this.start += body.push(this.buffer, this.start, end);
        if (!body.done) {
          if (body.failed === null) this.deadline = this.host.now() + this.host.timeouts.idleMs;
          return;
        }
        this.deadline = 0;
      }
      if (this.current) {
        if (end - this.start > MAX_WAITING_BYTES) this.pauseReading();
        return;
      }
      if (this.start >= end) {
        this.buffer = EMPTY;
        this.start = 0;
        return;
      }
      const result = parseRequestHead(this.buffer, this.start, end, DEFAULT_PARSE_LIMITS);
      if (result.kind === "incomplete") {
        if (!this.headStarted) {
          this.headStarted = true;
          this.deadline = this.host.now() + this.host.timeouts.headMs;
        }
        return;
      }
      if (result.kind === "error") return this.refuseMalformed(result.status, result.reason);
      this.start += result.consumed;
      this.begin(result.head);
    }
  }

  private begin(head: RequestHead): void {
    this.headStarted = false;
    this.deadline = 0;
    const refusal = headRefusal(head);
    if (refusal !== null) return this.refuseMalformed(400, refusal);
    // Beyond 2^53 - 1 the count of body bytes would be rounded: Bun.serve's limit, answered alike.
    if (head.body.kind === "length" && head.body.length > Number.MAX_SAFE_INTEGER) return this.refuse("payload_too_large", `request body is larger than ${Number.MAX_SAFE_INTEGER} bytes`);
    const target = splitTarget(head.target);
    if (target === null) return this.refuseMalformed(400, `request target ${JSON.stringify(head.target.slice(0, 100))}: expected a path`);
    const framing = head.body;
    const body = framing.kind === "none" || (framing.kind === "length" && framing.length === 0) ? null : new RequestBody(framing, this, head.expectContinue);
    const request = new RawRequest(head.method, target.path + target.search, head.headers, `${this.host.scheme}${head.host ?? "localhost"}`, body, this);
    this.current = request;
    this.head = head;
    // HTTP/1.0 keep-alive is the server's to grant, and Bun.serve does not: one answer, then close, on both engines.
    this.closeAfter = !head.keepAlive || head.minorVersion === 0;
    this.answered = false;
    this.host.requestStarted();
    let result: ReturnType<RequestFlow<ClientConnection>["handle"]>;
    try {
      result = this.host.flow.handle(request, target.path, target.search, this.peer, this);
    } catch {
      result = errorCodeResponse("internal");
    }
    if (result instanceof Promise) {
      result.then(
        (response) => response && this.respond(request, response),
        () => this.respond(request, errorCodeResponse("internal")),
      );
    } else if (result) this.respond(request, result);
  }

  /** Writes the flow's answer to `request`, then reads the next request (or closes). */
  respond(request: RawRequest, response: Response): void {
    if (request !== this.current || this.gone) {
      dropAnswer(response);
      if (request === this.current) this.end(request, false);
      return;
    }
    const head = this.head!;
    const body = request.body;
    if (body !== null && body.malformed !== null) {
      // The body's own framing broke (whatever the upstream made of the part it got): the client's error.
      dropAnswer(response);
      this.current = null;
      this.head = null;
      this.host.requestEnded();
      return this.refuse("malformed_request", `invalid HTTP request: ${body.malformed}`);
    }
    // An unread body is skipped when it is all here already; else the connection cannot be reused.
    if (body && !body.done) this.start += body.discard(this.buffer, this.start, this.buffer.length);
    const unread = body !== null && !body.done;
    // The flow asks for the close in the answer's head (a refused upgrade or framing, a drain).
    const closing = this.closeAfter || unread || this.host.flow.runtime.draining || response.headers.get("connection") === "close";
    if (closing) this.closeAfter = true;
    this.answered = true;
    const answering: Answering = { method: head.method, minorVersion: head.minorVersion, announceClose: unread };
    writeResponse(this, response, answering).then(
      (reusable) => this.end(request, reusable),
      () => this.end(request, false),
    );
  }

  /**
   * The upstream accepted the upgrade of the request in flight: 101 with `headers`, then the
   * connection carries the session's frames (those the client sent early included).
   */
  accept(request: Request, tunnel: Tunnel, headers: Headers): boolean {
    const current = this.current;
    if (this.gone || current === null) return false;
    let head = `HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${acceptOf(request.headers.get("sec-websocket-key") ?? "")}\r\n`;
    for (const [name, value] of headers) head += `${name}: ${value}\r\n`;
    this.transport.write(`${head}\r\n`);
    this.answered = true;
    this.current = null;
    this.head = null;
    this.host.requestEnded();
    // The session's own timeouts (the service's read and write timeouts) govern from now on.
    this.deadline = 0;
    const client = new RawWebSocketClient(this.transport, tunnel);
    this.websocket = client;
    tunnel.clientOpened(client);
    const early = this.buffer.subarray(this.start);
    this.buffer = EMPTY;
    this.start = 0;
    if (early.length > 0) client.received(early);
    this.resumeReading();
    return true;
  }

  /** The direct exchange is about to write the answer's head: how the request asked to be answered. */
  startAnswer(): { minorVersion: 0 | 1; method: string; draining: boolean } {
    this.answered = true;
    const draining = this.host.flow.runtime.draining;
    if (draining) this.closeAfter = true;
    const head = this.head!;
    return { minorVersion: head.minorVersion, method: head.method, draining };
  }

  /** The request's answer is written (or abandoned): on to the next one, or close. */
  end(request: RawRequest, reusable: boolean): void {
    if (request !== this.current) return;
    this.current = null;
    this.head = null;
    this.host.requestEnded();
    if (this.gone) return;
    if (!reusable || this.closeAfter) {
      this.transport.end();
      return;
    }
    // A client that leaves its answers unread gets no further answer queued behind them (its
    // pipelined requests would otherwise grow the queue as fast as it sends).
    if (this.transport.queued) {
      this.pauseReading();
      void this.writable().then(() => this.next());
      return;
    }
    this.next();
  }

  private next(): void {
    if (this.gone || this.current !== null) return;
    this.deadline = this.host.now() + this.host.timeouts.idleMs;
    this.resumeReading();
    this.advance();
  }

  private refuseMalformed(status: number, reason: string): void {
    const code: ErrorCode = status === 431 ? "request_header_too_large" : status === 414 ? "uri_too_long" : status === 501 ? "unsupported_transfer_encoding" : status === 413 ? "payload_too_large" : "malformed_request";
    this.refuse(code, code === "malformed_request" || code === "payload_too_large" ? `invalid HTTP request: ${reason}` : messageOf(code));
  }

  /** Answers what cannot be read as a request with a JSON message, then closes: the rest of the bytes cannot be trusted. */
  private refuse(code: ErrorCode, message = messageOf(code)): void {
    const status = ERRORS[code].status;
    const body = JSON.stringify({ message });
    this.buffer = EMPTY;
    this.start = 0;
    this.pauseReading();
    this.transport.write(`${statusLine(status, "")}content-type: ${JSON_CONTENT_TYPE}\r\n${dateHeader()}Connection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    this.transport.end();
  }

  private pauseReading(): void {
    if (this.readPaused) return;
    this.readPaused = true;
    this.transport.pause();
  }

  private resumeReading(): void {
    if (!this.readPaused) return;
    this.readPaused = false;
    this.transport.resume();
  }
}
