// The raw engine's fast path: a bodiless request to an http service (or to the targets of a
// balanced one) whose plugins, if any, have no response phase goes out as a request head
// written straight from the parsed header pairs as the plugins left them (or from the Fetch
// Request a plugin asked for), and the upstream's head and body come back to the client as they arrive, with
// the gateway's headers (and the plugins' response headers) inserted and hop-by-hop fields
// gone: no Response, stream or promise per request. A chunked (or close-delimited) upstream
// body is decoded, so it is re-chunked for an HTTP/1.1 client and close-delimited for an
// HTTP/1.0 one.
import type { PluginRequestContext } from "../../pipeline/request-context.ts";
import { type ForwardInfo, bodilessHeadFromPairs, bodilessHeadFromRequest, ensureHashCookie, isSendableTarget } from "../forward.ts";
import { writeLatin1 } from "../latin1.ts";
import { TargetAttempts } from "../target-attempts.ts";
import { NoHealthyTarget } from "../upstream/errors.ts";
import type { ProxiedRequest } from "../request-flow.ts";
import type { RouteMatch } from "../router.ts";
import type { BodyControl, ResponseHandler } from "../upstream/body-relay.ts";
import { relayBodiless } from "../upstream/client.ts";
import type { ResponseHead } from "../upstream/response-head.ts";
import type { ClientConnection } from "./connection.ts";
import { RawRequest } from "./incoming.ts";
import { bodiless, dateHeader, statusLine, writeChunk } from "./response-writer.ts";

/** A head and a body smaller than this go out in one write (one system call). */
const COALESCE_BYTES = 16 * 1024;
/**
 * Where such an answer is put together: answers are written synchronously, one at a time, and
 * the socket copies what it takes, so one buffer serves every answer without an allocation each.
 */
const ANSWER_SCRATCH = Buffer.allocUnsafe(4 * COALESCE_BYTES);
const SET_BY_GATEWAY_LENGTHS: ReadonlySet<number> = new Set(["x-request-id", "x-gateway-upstream-latency", "x-gateway-proxy-latency"].map((name) => name.length));

/** True when `lower` is one of the response headers the gateway sets itself. */
function setByGateway(lower: string): boolean {
  return SET_BY_GATEWAY_LENGTHS.has(lower.length) && (lower === "x-request-id" || lower === "x-gateway-upstream-latency" || lower === "x-gateway-proxy-latency");
}

/** Response headers the plugins may not set here: the answer's framing is the relay's. */
const FRAMING: ReadonlySet<string> = new Set(["content-length", "transfer-encoding"]);

/** The plugins' response headers by lower-case name, the last value of a name winning (as Headers.set would leave them). */
function overridesOf(pairs: readonly string[] | null): Map<string, string> | null {
  if (pairs === null || pairs.length === 0) return null;
  const overrides = new Map<string, string>();
  for (let i = 0; i < pairs.length; i += 2) {
    const lower = pairs[i]!.toLowerCase();
    if (!FRAMING.has(lower)) overrides.set(lower, pairs[i + 1]!);
  }
  return overrides;
}

/** Takes the request when the fast path can carry it (see the module comment); false leaves it to `forward`. */
export function directForward(flight: ProxiedRequest<ClientConnection>, match: RouteMatch, search: string, info: ForwardInfo, plugins: PluginRequestContext | null): boolean {
  const incoming = flight.incoming;
  if (!(incoming instanceof RawRequest) || incoming.body !== null || info.body !== null) return false;
  const { balancer, endpoint, service } = match.target;
  if (balancer === null ? endpoint === null : service.protocol !== "http") return false;
  // The relay writes what the upstream sends: a HEAD client's answer is bodiless only if the upstream's is.
  if (incoming.method === "HEAD" && info.method !== "HEAD") return false;
  const target = flight.upstreamPath + (info.query ?? search);
  if (!isSendableTarget(target)) return false;
  new DirectAnswer(flight, incoming, match, target, search, info, overridesOf(plugins?.responseHeaders ?? null)).send();
  return true;
}

/** One request's exchange: sends it (to each target in turn, for a balanced service) and writes the upstream's response to the client as it arrives. */
class DirectAnswer implements ResponseHandler {
  /** The client's head, held until the first body bytes so both go out in one write. */
  private pendingHead: string | null = null;
  private chunked = false;
  private closeDelimited = false;
  private status = 0;
  /** The upstream's declared body length (0 when it chunks or closes), for the log phase. */
  private length = 0;
  private readonly attempts: TargetAttempts | null = null;
  /** Set-Cookie for a client that had no hash cookie yet (hash_on cookie). */
  private readonly cookie: string | null = null;

  constructor(
    private readonly flight: ProxiedRequest<ClientConnection>,
    private readonly request: RawRequest,
    private readonly match: RouteMatch,
    private readonly target: string,
    search: string,
    private readonly info: ForwardInfo,
    /** The plugins' response headers, replacing the upstream's of the same name. */
    private readonly overrides: Map<string, string> | null,
  ) {
    const balancer = match.target.balancer;
    if (balancer === null) return;
    const headers = request.headers;
    const hashInput = balancer.hashing ? { headers, clientIp: info.clientIp, consumerId: info.consumerId, path: info.path, search, route: match.target.route } : null;
    this.attempts = new TargetAttempts(balancer, hashInput, match.target.service.retries, true, info.method);
    if (balancer.hashing && balancer.upstream.hash_on === "cookie") this.cookie = ensureHashCookie(headers, balancer);
  }

  private headFor(upstreamHost: string): string {
    const { request, match, info } = this;
    const fetched = request.fetched;
    if (fetched !== null) return bodilessHeadFromRequest(fetched, this.target, match, info, upstreamHost);
    return bodilessHeadFromPairs(info.method, request.headers.pairs, request.headers, match, this.target, info, upstreamHost);
  }

  /** Sends the request to the service, or to the balancer's next target. */
  send(): void {
    const { request, match, info } = this;
    const service = match.target.service;
    const options = { connectTimeoutMs: service.connect_timeout, readTimeoutMs: service.read_timeout, retries: service.retries };
    if (this.attempts === null) {
      relayBodiless(info.pool, match.target.endpoint!, request, info.method, this.headFor(match.target.upstreamHost), options, this);
      return;
    }
    const peer = this.attempts.next();
    if (peer === null) return this.request.connection.respond(this.request, this.flight.upstreamFailed(new NoHealthyTarget()));
    relayBodiless(info.pool, peer.endpoint, request, info.method, this.headFor(peer.httpHost), { ...options, retries: 0 }, this);
  }

  head(upstream: ResponseHead, control: BodyControl): void {
    this.attempts?.answered(upstream.status);
    const flight = this.flight;
    const upstreamMs = flight.upstreamAnswered();
    const connection = this.request.connection;
    const answering = connection.startAnswer();
    this.request.exchange = control;
    let text = statusLine(upstream.status, "");
    let dated = false;
    let lengthWritten = false;
    const overrides = this.overrides;
    for (const [name, value] of upstream.headers) {
      if (overrides !== null && overrides.has(name.toLowerCase())) continue;
      // Only names as long as one the gateway looks at are lower-cased to compare.
      const length = name.length;
      if (length === 4 || length === 14 || SET_BY_GATEWAY_LENGTHS.has(length)) {
        const lower = name.toLowerCase();
        if (setByGateway(lower)) continue;
        if (lower === "date") dated = true;
        else if (lower === "content-length") {
          // One line however often the upstream repeated it (RFC 9112 §6.3: a proxy sends a single one), and none on a 204 (RFC 9110 §8.6).
          if (lengthWritten || upstream.status === 204) continue;
          lengthWritten = true;
        }
      }
      // In the case the upstream wrote it, as nginx and HAProxy relay it.
      text += `${name}: ${value}\r\n`;
    }
    // The framing the body is relayed with is the one the head parser read, never only the upstream's line for it.
    if (upstream.framing === "length" && !lengthWritten) text += `content-length: ${upstream.length}\r\n`;
    if (this.cookie !== null) text += `set-cookie: ${this.cookie}\r\n`;
    if (overrides === null) text += `x-request-id: ${flight.requestId}\r\nx-gateway-upstream-latency: ${upstreamMs}\r\nx-gateway-proxy-latency: ${flight.proxyMs}\r\n`;
    else {
      // Set after the gateway's own, as on the Response path: a plugin's value of the same name wins.
      if (!overrides.has("x-request-id")) text += `x-request-id: ${flight.requestId}\r\n`;
      if (!overrides.has("x-gateway-upstream-latency")) text += `x-gateway-upstream-latency: ${upstreamMs}\r\n`;
      if (!overrides.has("x-gateway-proxy-latency")) text += `x-gateway-proxy-latency: ${flight.proxyMs}\r\n`;
      for (const [name, value] of overrides) {
        if (name === "date") dated = true;
        text += `${name}: ${value}\r\n`;
      }
    }
    if (!dated) text += dateHeader();
    if (answering.draining) text += "connection: close\r\n";
    const framing = upstream.framing;
    if (!bodiless(upstream.status, answering.method) && (framing === "chunked" || framing === "close")) {
      if (answering.minorVersion === 1) {
        this.chunked = true;
        text += "transfer-encoding: chunked\r\n";
      } else this.closeDelimited = true;
    }
    this.pendingHead = `${text}\r\n`;
    this.status = upstream.status;
    if (framing === "length") this.length = upstream.length;
  }

  /** The held head, now going out: the request is counted and logged with its status. */
  private takeHead(): string {
    const head = this.pendingHead!;
    this.pendingHead = null;
    this.flight.record(this.status, this.length);
    return head;
  }

  data(bytes: Buffer): boolean {
    const connection = this.request.connection;
    let taken: boolean;
    if (this.pendingHead !== null) {
      const head = this.takeHead();
      const length = head.length + bytes.length;
      if (!this.chunked && bytes.length < COALESCE_BYTES && length <= ANSWER_SCRATCH.length) {
        writeLatin1(ANSWER_SCRATCH, head, 0);
        ANSWER_SCRATCH.set(bytes, head.length);
        taken = connection.writeTransient(ANSWER_SCRATCH, length);
      } else {
        connection.write(head);
        taken = this.chunked ? writeChunk(connection, bytes) : connection.write(bytes);
      }
    } else taken = this.chunked ? writeChunk(connection, bytes) : connection.write(bytes);
    if (!taken) {
      const control = this.request.exchange;
      void connection.writable().then(() => control?.resume());
    }
    return taken;
  }

  end(error: Error | null): void {
    const connection = this.request.connection;
    this.request.exchange = null;
    if (error !== null) {
      // Nothing written yet: the failure can still be the answer. Else the client sees its connection end before the body does.
      if (this.pendingHead !== null) {
        this.pendingHead = null;
        connection.respond(this.request, this.flight.upstreamFailed(error));
      } else connection.end(this.request, false);
      return;
    }
    if (this.pendingHead !== null) connection.write(this.takeHead());
    if (this.chunked) connection.write("0\r\n\r\n");
    connection.end(this.request, !this.closeDelimited);
  }

  failed(error: Error): void {
    if (this.attempts?.again(error)) return this.send();
    this.request.connection.respond(this.request, this.flight.upstreamFailed(error));
  }
}
