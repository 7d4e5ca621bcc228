// The raw engine's fast path: a bodiless request without plugins to an http service goes out
// as a request head written straight from the parsed header pairs, and the upstream's head and
// body come back to the client as they arrive, with the gateway's headers inserted and
// hop-by-hop fields gone: no Request, Headers, Response or promise per request. A chunked (or
// close-delimited) upstream body is decoded, so it is re-chunked for an HTTP/1.1 client and
// close-delimited for an HTTP/1.0 one.
import { bodilessHeadFromPairs, type ForwardInfo } from "../forward.ts";
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
const SET_BY_GATEWAY_LENGTHS: ReadonlySet<number> = new Set(["x-request-id", "x-gateway-upstream-latency", "x-gateway-proxy-latency"].map((name) => name.length));

/** True when `lower` is one of the response headers the gateway sets itself. */
function setByGateway(lower: string): boolean {
  return SET_BY_GATEWAY_LENGTHS.has(lower.length) && (lower === "x-request-id" || lower === "x-gateway-upstream-latency" || lower === "x-gateway-proxy-latency");
}

/** Takes the request when the fast path can carry it (see the module comment); false leaves it to `forward`. */
export function directForward(flight: ProxiedRequest<ClientConnection>, match: RouteMatch, search: string, info: ForwardInfo): boolean {
  const incoming = flight.incoming;
  if (!(incoming instanceof RawRequest) || incoming.body !== null) return false;
  const target = match.target;
  const endpoint = target.endpoint;
  if (endpoint === null || target.balancer !== null) return false;
  const head = bodilessHeadFromPairs(incoming.method, incoming.headers.pairs, incoming.headers, match, flight.upstreamPath, search, info, target.upstreamHost);
  if (head === null) return false;
  const { service } = target;
  relayBodiless(info.pool, endpoint, incoming, incoming.method, head, { connectTimeoutMs: service.connect_timeout, readTimeoutMs: service.read_timeout, retries: service.retries }, new DirectAnswer(flight, incoming));
  return true;
}

/** Writes one upstream response to the client as it arrives. */
class DirectAnswer implements ResponseHandler {
  /** The client's head, held until the first body bytes so both go out in one write. */
  private pendingHead: string | null = null;
  private chunked = false;
  private closeDelimited = false;

  constructor(
    private readonly flight: ProxiedRequest<ClientConnection>,
    private readonly request: RawRequest,
  ) {}

  head(upstream: ResponseHead, control: BodyControl): void {
    const flight = this.flight;
    const upstreamMs = flight.upstreamAnswered();
    const connection = this.request.connection;
    const answering = connection.startAnswer();
    this.request.exchange = control;
    let text = statusLine(upstream.status, "");
    let dated = false;
    for (const [name, value] of upstream.headers) {
      const lower = name.toLowerCase();
      if (setByGateway(lower)) continue;
      if (lower === "date") dated = true;
      text += `${lower}: ${value}\r\n`;
    }
    text += `x-request-id: ${flight.requestId}\r\nx-gateway-upstream-latency: ${upstreamMs}\r\nx-gateway-proxy-latency: ${flight.proxyMs}\r\n`;
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
    flight.record(upstream.status);
  }

  data(bytes: Buffer): boolean {
    const connection = this.request.connection;
    const head = this.pendingHead;
    let taken: boolean;
    if (head !== null) {
      this.pendingHead = null;
      if (!this.chunked && bytes.length < COALESCE_BYTES) taken = connection.write(Buffer.concat([Buffer.from(head, "latin1"), bytes]));
      else {
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
      // The head may be out already: the client sees its connection end before the body does.
      connection.end(this.request, false);
      return;
    }
    if (this.pendingHead !== null) connection.write(this.pendingHead);
    if (this.chunked) connection.write("0\r\n\r\n");
    connection.end(this.request, !this.closeDelimited);
  }

  failed(error: Error): void {
    this.request.connection.respond(this.request, this.flight.upstreamFailed(error));
  }
}
