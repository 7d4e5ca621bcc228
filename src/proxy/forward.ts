// Sends a matched request to its service and returns the upstream response, streaming both
// bodies. Owns timeouts, connect retries and the header rewriting of SPEC §4.2. Bodiless
// requests to http services go over the gateway's own keep-alive connections
// (./upstream/client.ts); requests with a body, and https services, go through fetch.
import type { Balancer } from "../balancer/balancer.ts";
import type { Service } from "../entities/service.ts";
import type { BodyMeter, UpstreamBody } from "../pipeline/request-body.ts";
import { type OwnedHeaders, connectionOptions, isClientOnly, removeClientOnlyHeaders } from "./client-headers.ts";
import { HOP_BY_HOP } from "./hop-by-hop.ts";
import { CRLF, latin1Text, writeFieldLine, writeLatin1 } from "./latin1.ts";
import type { HeaderLookup, RouteMatch } from "./router.ts";
import { TargetAttempts } from "./target-attempts.ts";
import { type SendObserver, sendBodiless } from "./upstream/client.ts";
import type { HeadWriter } from "./upstream/connection.ts";
import type { ConnectionPool } from "./upstream/pool.ts";
import {
  ClientGone,
  NoHealthyTarget,
  UpstreamConnectFailed,
  UpstreamTimeout,
  UpstreamTlsFailed,
  UpstreamUnreachable,
  isConnectionRefused,
  isNameNotFound,
  tlsFailureReason,
} from "./upstream/errors.ts";
import type { UpstreamTls } from "../state/upstream-tls.ts";

// Request headers the gateway writes itself when it writes the request: framing (a bodiless
// request never carries the client's), Host, and the ones SPEC §4.2 sets from the client's.
const WRITTEN_BY_GATEWAY: ReadonlySet<string> = new Set(["host", "content-length", "x-forwarded-for", "x-request-id"]);
// The gateway's WebSocket handshake with the upstream is its own: its key, its version, no extensions.
const WRITTEN_FOR_UPGRADE: ReadonlySet<string> = new Set([...WRITTEN_BY_GATEWAY, "sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions"]);
// A request target must not carry whitespace or controls into the request line; Bun's URL
// parsing already encodes them, and anything else takes the fetch path, which encodes too.
const UNSAFE_TARGET = /[\x00-\x20\x7f]/;

export interface ForwardInfo {
  pool: ConnectionPool;
  clientIp: string;
  /** The connection's peer, appended to X-Forwarded-For (the client behind trusted proxies is clientIp). */
  peerIp?: string;
  requestId: string;
  listenerPort: number;
  /** The listener's scheme, told to the upstream as X-Forwarded-Proto. */
  scheme: "http" | "https";
  /** The query the plugins made (`?…` or empty), or null: the client's goes as sent. */
  query: string | null;
  /** The method the upstream gets: the client's, or the one a plugin set. */
  method: string;
  /** The body a plugin read or replaced, sent instead of the request's own (null: that one). */
  body: UpstreamBody | null;
  /** Counts the client's own body stream as fetch reads it (the serve engine's log-phase routes). */
  bodyMeter?: BodyMeter | null;
  /** The client's own hop-by-hop and gateway-set headers were removed before the plugins ran. */
  clientHeadersRemoved: boolean;
  /** The consumer (or, without one, the credential) a plugin identified: consistent hashing on consumer. */
  consumerId: string | null;
  /** The request's canonical path before strip_path: consistent hashing on path and uri_capture. */
  path: string;
}

/**
 * Removes the hop-by-hop headers of a fetch response; Bun frames the reply itself. The others
 * than Transfer-Encoding only mean something alongside a Connection header, so the common
 * response without one costs two native calls.
 */
function dropResponseHopByHop(headers: Headers): void {
  headers.delete("transfer-encoding");
  const listed = connectionOptions(headers.get("connection"));
  if (listed === null) return;
  for (const name of listed) headers.delete(name);
  for (const name of HOP_BY_HOP) headers.delete(name);
}

/**
 * What the gateway tells the upstream about the request (SPEC §4.2), decided once per request
 * and written by either upstream client: the Host it sends, and the forwarding headers.
 */
class ForwardingHeaders {
  readonly host: string;
  // One field per FORWARDING name, in its order (no array per request).
  private readonly forwardedFor: string;
  private readonly proto: string;
  private readonly forwardedHost: string;
  private readonly port: string;
  private readonly realIp: string;
  private readonly requestId: string;
  private readonly prefix: string | null;

  /** `upstreamHost`: the Host for the service's (or the chosen target's) address. */
  constructor(match: RouteMatch, info: ForwardInfo, clientHost: string, priorFor: string | null, upstreamHost: string) {
    const { route } = match.target;
    const ip = info.clientIp;
    this.host = route.preserve_host && clientHost ? clientHost : upstreamHost;
    const peer = info.peerIp || ip;
    this.forwardedFor = priorFor ? `${priorFor}, ${peer}` : peer;
    this.proto = info.scheme;
    this.forwardedHost = withoutPort(clientHost);
    this.port = String(info.listenerPort);
    this.realIp = ip;
    this.requestId = info.requestId;
    this.prefix = route.strip_path && match.matched ? match.matched : null;
  }

  /** The values in FORWARDING's order. */
  private value(index: number): string {
    return index === 0 ? this.forwardedFor : index === 1 ? this.proto : index === 2 ? this.forwardedHost : index === 3 ? this.port : index === 4 ? this.realIp : this.requestId;
  }

  /** The most bytes `writeInto` writes. */
  get maxBytes(): number {
    const valueBytes = this.forwardedFor.length + this.proto.length + this.forwardedHost.length + this.port.length + this.realIp.length + this.requestId.length;
    return FORWARDING_LINE_BYTES + valueBytes + (this.prefix === null ? 0 : PREFIX.length + 4 + this.prefix.length);
  }

  /** As header lines of a request head, into `bytes` at `at`; returns where they end. */
  writeInto(bytes: Buffer, at: number): number {
    for (let i = 0; i < FORWARDING.length; i++) at = writeFieldLine(bytes, at, FORWARDING[i]!, this.value(i));
    return this.prefix === null ? at : writeFieldLine(bytes, at, PREFIX, this.prefix);
  }

  /** Onto a Headers object, replacing what is there. */
  applyTo(headers: Headers): void {
    for (let i = 0; i < FORWARDING.length; i++) headers.set(FORWARDING[i]!, this.value(i));
    if (this.prefix !== null) headers.set(PREFIX, this.prefix);
    headers.set("host", this.host);
  }
}

const FORWARDING = ["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "x-real-ip", "x-request-id"] as const;
const PREFIX = "x-forwarded-prefix";
/** The forwarding lines' names, ": " and CRLF. */
const FORWARDING_LINE_BYTES = FORWARDING.reduce((bytes, name) => bytes + name.length + 4, 0);

/** `host:port` → `host`, IPv6 literals kept whole. */
function withoutPort(host: string): string {
  const colon = host.lastIndexOf(":");
  return colon > host.lastIndexOf("]") ? host.slice(0, colon) : host;
}

const SLASH = 47;
/** A `.` or `..` segment: only joining can make one, as the request path is canonical. */
const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/;

/**
 * The path the upstream gets, joined from the service's path, the route's match and the
 * request's path exactly as Kong's `path_handling` v0 and v1 do (README "Route fields"), or
 * null when the join would make a `.` or `..` segment: a prefix that ends inside a segment
 * (`/pub` of `/pub../admin`) leaves a remainder that v0 makes a segment of its own, and it
 * would step out of the service's path at the upstream.
 */
export function upstreamPath(match: RouteMatch, path: string): string | null {
  const { route } = match.target;
  const base = match.target.upstreamBase;
  // Without a path match the postfix is the whole path without its first slash, as in Kong.
  const postfix = match.matched ? path.slice(match.matched.length) : path.slice(1);
  const joined = route.path_handling === "v1" ? joinV1(base, route.strip_path, postfix, path) : joinV0(base, route.strip_path, postfix, path);
  return DOT_SEGMENT.test(joined) ? null : joined;
}

function joinV1(base: string, strip: boolean, postfix: string, path: string): string {
  if (!strip) return base + path.slice(1);
  if (base.charCodeAt(base.length - 1) === SLASH && postfix.charCodeAt(0) === SLASH) return base.slice(0, -1) + postfix;
  return base + postfix;
}

function joinV0(base: string, strip: boolean, postfix: string, path: string): string {
  const endsWithSlash = path.charCodeAt(path.length - 1) === SLASH;
  if (base.charCodeAt(base.length - 1) === SLASH) {
    if (!strip) return base + path.slice(1);
    if (postfix === "") return base === "/" || endsWithSlash ? base : base.slice(0, -1);
    return postfix.charCodeAt(0) === SLASH ? base.slice(0, -1) + postfix : base + postfix;
  }
  if (strip) {
    if (postfix === "") return path.length > 1 && endsWithSlash ? `${base}/` : base;
    return postfix.charCodeAt(0) === SLASH ? base + postfix : `${base}/${postfix}`;
  }
  return path === "/" ? base : base + path;
}

/**
 * Forwards the request with the headers of SPEC §4.2. Connect failures are retried
 * `service.retries` times when the request has no body, because a body stream cannot be replayed.
 */
/** `path` is the upstream's (upstreamPath), `search` the client's query. */
export function forward(request: Request, match: RouteMatch, path: string, search: string, info: ForwardInfo): Promise<Response> {
  const { service } = match.target;
  const target = path + (info.query ?? search);
  const balancer = match.target.balancer;
  if (balancer !== null) return forwardBalanced(balancer, request, match, target, search, info);
  const endpoint = match.target.endpoint;
  const body = info.body ?? request.body;
  if (endpoint && body === null && !UNSAFE_TARGET.test(target)) {
    const head = requestHeadFromRequest(request, info.method, target, match, info, match.target.upstreamHost);
    return sendBodiless(info.pool, endpoint, request, info.method, head, { connectTimeoutMs: service.connect_timeout, readTimeoutMs: service.read_timeout, retries: service.retries });
  }
  rewriteHeaders(request.headers, match, info, match.target.upstreamHost);
  const sent = bodyToSend(request, info.method, body);
  const url = match.target.origin + target;
  return send(url, request, info, sent, service, sent ? 0 : service.retries, match.target.tls);
}

/**
 * The body fetch sends, with the framing headers to match: none for a bodiless request, or for
 * a GET or HEAD upstream, which fetch cannot send one with (the flow lets a client's GET or HEAD
 * through only without one; a plugin that made a POST a GET leaves its body behind); a buffered
 * body with its own Content-Length, never the client's Transfer-Encoding.
 */
function bodyToSend(request: Request, method: string, body: UpstreamBody | null): UpstreamBody | undefined {
  const headers = request.headers;
  if (body === null || method === "GET" || method === "HEAD") {
    headers.delete("content-length");
    return undefined;
  }
  if (body instanceof Uint8Array) {
    headers.set("content-length", String(body.byteLength));
    headers.delete("transfer-encoding");
  }
  return body;
}

/**
 * A request to a service whose host names an upstream: a target is picked per attempt, the
 * outcome is reported to its health (passive checks) and, for the latency and least-connections
 * algorithms, to its counts. A connection that cannot be made, or one closed before any byte of
 * an answer to an idempotent request, is retried on another target up to `service.retries`
 * times when the request can be sent again (no body).
 */
function forwardBalanced(balancer: Balancer, request: Request, match: RouteMatch, target: string, search: string, info: ForwardInfo): Promise<Response> {
  return new BalancedExchange(balancer, request, match, target, search, info).attempt();
}

/** One balanced request across its attempts; the gateway's own client reports to it directly. */
class BalancedExchange implements SendObserver {
  private readonly attempts: TargetAttempts;
  /** Set-Cookie for a client that had no hash cookie yet (hash_on cookie). */
  private readonly cookie: string | null;
  private readonly own: boolean;

  constructor(
    balancer: Balancer,
    private readonly request: Request,
    private readonly match: RouteMatch,
    private readonly target: string,
    search: string,
    private readonly info: ForwardInfo,
  ) {
    const https = match.target.service.protocol === "https";
    const replayable = (info.body ?? request.body) === null;
    this.own = replayable && !https && !UNSAFE_TARGET.test(target);
    const hashInput = balancer.hashing ? { headers: request.headers, clientIp: info.clientIp, consumerId: info.consumerId, path: info.path, search, route: match.target.route } : null;
    this.attempts = new TargetAttempts(balancer, hashInput, match.target.service.retries, replayable, info.method);
    this.cookie = balancer.hashing && balancer.upstream.hash_on === "cookie" ? ensureHashCookie(request.headers, balancer) : null;
  }

  attempt(): Promise<Response> {
    const { request, match, info } = this;
    const service = match.target.service;
    const first = this.attempts.peer === null;
    const peer = this.attempts.next();
    if (peer === null) return Promise.reject(new NoHealthyTarget());
    const https = service.protocol === "https";
    const host = https ? peer.httpsHost : peer.httpHost;
    if (this.own) {
      const head = requestHeadFromRequest(request, info.method, this.target, match, info, host);
      return sendBodiless(info.pool, peer.endpoint, request, info.method, head, { connectTimeoutMs: service.connect_timeout, readTimeoutMs: service.read_timeout, retries: 0, observer: this });
    }
    if (first) rewriteHeaders(request.headers, match, info, host);
    else if (!match.target.route.preserve_host) request.headers.set("host", host);
    const body = bodyToSend(request, info.method, info.body ?? request.body);
    const sent = send(`${service.protocol}://${peer.authority}${this.target}`, request, info, body, service, 0, match.target.tls);
    return sent.then(
      (response) => {
        this.answered(response);
        return response;
      },
      (error: Error) => {
        const again = this.failed(error);
        if (again) return again;
        throw error;
      },
    );
  }

  answered(response: Response): void {
    this.attempts.answered(response.status);
    if (this.cookie !== null) response.headers.append("set-cookie", this.cookie);
  }

  failed(error: Error): Promise<Response> | null {
    return this.attempts.again(error) ? this.attempt() : null;
  }
}

/**
 * hash_on cookie: a client without the cookie gets one (Kong's behaviour), so its next requests
 * land on the same target. Returns the Set-Cookie value to add to the response, or null.
 */
export function ensureHashCookie(headers: { get(name: string): string | null; set(name: string, value: string): void }, balancer: Balancer): string | null {
  const { hash_on_cookie: name, hash_on_cookie_path: path } = balancer.upstream;
  const header = headers.get("cookie");
  if (header !== null && header.split(";").some((part) => part.trim().startsWith(`${name}=`))) return null;
  const value = crypto.randomUUID();
  headers.set("cookie", header ? `${header}; ${name}=${value}` : `${name}=${value}`);
  return `${name}=${value}; Path=${path}`;
}

/**
 * The head of the WebSocket upgrade request the gateway sends the service (or the target
 * `upstreamHost` names): the target and headers `forward` would send, then `handshake` (the
 * gateway's own upgrade lines). Null for a target that cannot go in a request line.
 */
export function upgradeRequestHead(request: Request, match: RouteMatch, path: string, search: string, info: ForwardInfo, upstreamHost: string, handshake: string): string | null {
  const target = path + (info.query ?? search);
  if (UNSAFE_TARGET.test(target)) return null;
  // A WebSocket handshake is a GET (RFC 6455 §4.1) whatever method a plugin set.
  const head = requestHeadFromRequest(request, request.method, target, match, info, upstreamHost, WRITTEN_FOR_UPGRADE).text();
  return head.slice(0, -2) + handshake + "\r\n";
}

/** Whether `target` can go in a request line as it is (else the fetch path, which encodes it). */
export function isSendableTarget(target: string): boolean {
  return !UNSAFE_TARGET.test(target);
}

/** Whether a client header stays out of the request head: written by the gateway, or (`owned` given: not cleaned yet) the client's own. */
function leftOut(name: string, written: ReadonlySet<string>, owned: OwnedHeaders | null, listed: string[] | null): boolean {
  return written.has(name) || (owned !== null && (isClientOnly(name, owned) || (listed !== null && listed.includes(name))));
}

/** " HTTP/1.1\r\n", "host: " and CRLF, and "content-length: 0\r\n". */
const FIRST_LINES_BYTES = 1 + 11 + 6 + 2 + 19;

/**
 * The head of a bodiless request to the service for the gateway's own client, as `forward`
 * would send it to `target` (one isSendableTarget accepts): the request line with the upstream's
 * method, Host and, for a method that defines a body, its zero length (no upstream waits for
 * one), the client's fields (flat lower-case name, value, in the client's order, as the plugins
 * left them) but those the gateway writes, then the forwarding fields. Written straight into the
 * connection's buffer: as a string it was a rope of some thirty pieces per request, garbage that
 * cost more than the writing (bench/RESULTS.md). Without plugins the client's headers are
 * cleaned here, in the one pass.
 */
export class RequestHead implements HeadWriter {
  private readonly forwarding: ForwardingHeaders;
  private readonly owned: OwnedHeaders | null;
  private readonly listed: string[] | null;
  readonly maxBytes: number;

  constructor(
    private readonly method: string,
    private readonly pairs: readonly string[],
    headers: HeaderLookup,
    match: RouteMatch,
    private readonly target: string,
    info: ForwardInfo,
    upstreamHost: string,
    private readonly written = WRITTEN_BY_GATEWAY,
  ) {
    const forwarding = new ForwardingHeaders(match, info, headers.get("host") ?? "", headers.get("x-forwarded-for"), upstreamHost);
    this.forwarding = forwarding;
    this.owned = info.clientHeadersRemoved ? null : match.target.chain.ownedHeaders;
    this.listed = this.owned === null ? null : connectionOptions(headers.get("connection"));
    // Every field counted, left out or not: a bound from the lengths alone, and a final CRLF.
    let bytes = method.length + target.length + forwarding.host.length + FIRST_LINES_BYTES + forwarding.maxBytes + 2;
    for (let i = 0; i < pairs.length; i++) bytes += pairs[i]!.length + 2;
    this.maxBytes = bytes;
  }

  writeHead(into: Buffer): number {
    const { method, pairs, written, owned, listed } = this;
    let at = writeLatin1(into, method, 0);
    into[at++] = 32;
    at += writeLatin1(into, this.target, at);
    at += writeLatin1(into, " HTTP/1.1\r\n", at);
    at = writeFieldLine(into, at, "host", this.forwarding.host);
    if (method !== "GET" && method !== "HEAD") at += writeLatin1(into, "content-length: 0\r\n", at);
    for (let i = 0; i < pairs.length; i += 2) {
      const name = pairs[i]!;
      if (!leftOut(name, written, owned, listed)) at = writeFieldLine(into, at, name, pairs[i + 1]!);
    }
    at = this.forwarding.writeInto(into, at);
    return into.writeUInt16LE(CRLF, at);
  }

  /** As latin1 text (the WebSocket handshake adds its own lines to it). */
  text(): string {
    const bytes = Buffer.allocUnsafe(this.maxBytes);
    return latin1Text(bytes, 0, this.writeHead(bytes));
  }
}

/** The head of a bodiless request from a Fetch Request the plugins read and changed (its fields in Headers' JSON order, repeated ones apart). */
export function requestHeadFromRequest(request: Request, method: string, target: string, match: RouteMatch, info: ForwardInfo, upstreamHost: string, written = WRITTEN_BY_GATEWAY): RequestHead {
  const fields = request.headers.toJSON() as Record<string, string | string[]>;
  const pairs: string[] = [];
  for (const name in fields) {
    const value = fields[name]!;
    if (typeof value === "string") pairs.push(name, value);
    else for (const each of value) pairs.push(name, each);
  }
  return new RequestHead(method, pairs, request.headers, match, target, info, upstreamHost, written);
}

/** Rewrites the request's headers in place (they are not used again) for fetch. */
function rewriteHeaders(headers: Headers, match: RouteMatch, info: ForwardInfo, upstreamHost: string): void {
  const clientHost = headers.get("host") ?? "";
  if (!info.clientHeadersRemoved) removeClientOnlyHeaders(headers, match.target.chain.ownedHeaders);
  new ForwardingHeaders(match, info, clientHost, headers.get("x-forwarded-for"), upstreamHost).applyTo(headers);
}

/**
 * One exchange through fetch, with Kong's timeouts: `write_timeout` between two successive
 * writes of a streamed request body, then `read_timeout` for the head and between two successive
 * reads of the response body; a client that goes away aborts the exchange, so its upstream
 * socket is freed at once.
 */
async function send(url: string, request: Request, { method, bodyMeter }: ForwardInfo, body: UpstreamBody | undefined, service: Pick<Service, "read_timeout" | "write_timeout">, retries: number, tls: UpstreamTls | null): Promise<Response> {
  if (tls?.refusal) throw new UpstreamTlsFailed(tls.refusal);
  for (let attempt = 0; ; attempt++) {
    const controller = new AbortController();
    const streamed = body instanceof ReadableStream;
    const exchange = new FetchDeadline(controller, service.read_timeout, request.signal, streamed ? service.write_timeout : null);
    const sent = streamed ? exchange.upload(body, bodyMeter ?? null) : body;
    try {
      const response = await fetch(url, { method, headers: request.headers, body: sent, redirect: "manual", signal: controller.signal, decompress: false, tls } as RequestInit);
      dropResponseHopByHop(response.headers);
      exchange.answered();
      if (response.body === null) {
        exchange.end();
        return response;
      }
      return new Response(exchange.watch(response.body), { status: response.status, statusText: response.statusText, headers: response.headers });
    } catch (error) {
      exchange.end();
      if (exchange.clientGone) throw new ClientGone();
      if (exchange.timedOut) throw new UpstreamTimeout();
      if (isConnectionRefused(error)) {
        if (attempt < retries) continue;
        throw new UpstreamConnectFailed((error as Error).message);
      }
      if (isNameNotFound(error)) throw new UpstreamConnectFailed((error as Error).message, true);
      const tlsReason = tls ? tlsFailureReason(error) : null;
      if (tlsReason !== null) throw new UpstreamTlsFailed(tlsReason);
      throw new UpstreamUnreachable((error as Error).message);
    }
  }
}

/** The deadline of one fetch exchange: runs while the gateway waits on the upstream, not on the client. */
class FetchDeadline {
  timedOut = false;
  clientGone = false;
  private timer: ReturnType<typeof setTimeout> | null;
  private readonly onClientGone = () => {
    this.clientGone = true;
    this.controller.abort();
  };

  /** The response head has come: what fetch still takes of the request body runs untimed. */
  private headArrived = false;

  constructor(
    private readonly controller: AbortController,
    private readonly timeoutMs: number,
    private readonly client: AbortSignal,
    /** Set when a request body is streamed (upload): `read_timeout` starts once it is all sent. */
    private readonly writeTimeoutMs: number | null,
  ) {
    // Connecting and the head's write, until fetch first takes the body, count as writing.
    this.timer = setTimeout(this.expire, writeTimeoutMs ?? timeoutMs);
    client.addEventListener("abort", this.onClientGone);
  }

  /**
   * The request body as fetch takes it: `write_timeout` bounds each wait for fetch to take the
   * next piece (an upstream that does not read); the wait for the client's next piece is the
   * client's own deadline's. Once the last piece is taken, `read_timeout` starts. Once the
   * response head has come, the response's reads are timed (`watch`), and this stays out of it.
   */
  upload(body: ReadableStream<Uint8Array>, meter: BodyMeter | null): ReadableStream<Uint8Array> {
    const reader = body.getReader();
    return new ReadableStream<Uint8Array>(
      {
        pull: async (out) => {
          if (!this.headArrived) this.pause();
          const { done, value } = await reader.read();
          if (done) out.close();
          else {
            if (meter !== null) meter.bytes += value.byteLength;
            out.enqueue(value);
          }
          if (this.headArrived) return;
          if (done) this.resume();
          else this.timer = setTimeout(this.expire, this.writeTimeoutMs!);
        },
        cancel: (reason) => reader.cancel(reason),
      },
      { highWaterMark: 0 },
    );
  }

  /** The response head has come: its body's reads are timed by `watch`. */
  answered(): void {
    this.headArrived = true;
    this.pause();
  }

  private readonly expire = () => {
    this.timedOut = true;
    this.controller.abort();
  };

  /** The body, passed through while each read comes within the timeout. */
  watch(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
    const reader = body.getReader();
    return new ReadableStream<Uint8Array>({
      pull: async (out) => {
        this.resume();
        try {
          const { done, value } = await reader.read();
          this.pause();
          if (done) {
            this.end();
            out.close();
          } else out.enqueue(value);
        } catch (error) {
          this.end();
          out.error(this.timedOut ? new UpstreamTimeout("read timeout while reading the body") : error);
        }
      },
      cancel: (reason) => {
        this.end();
        return reader.cancel(reason);
      },
    });
  }

  pause(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  end(): void {
    this.pause();
    this.client.removeEventListener("abort", this.onClientGone);
  }

  private resume(): void {
    this.timer = setTimeout(this.expire, this.timeoutMs);
  }
}
