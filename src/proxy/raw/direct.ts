// The raw engine's fast path: a bodiless request to an http service (or to the targets of a
// balanced one) whose plugins, if any, have no response phase goes out as a request head
// written straight from the parsed header pairs as the plugins left them (or from the Fetch
// Request a plugin asked for), and the upstream's head and body come back to the client as they arrive, with
// the gateway's headers (and the plugins' response headers) inserted and hop-by-hop fields
// gone: no Response, stream or promise per request. A chunked (or close-delimited) upstream
// body is decoded, so it is re-chunked for an HTTP/1.1 client and close-delimited for an
// HTTP/1.0 one.
import type { PluginRequestContext } from "../../pipeline/request-context.ts";
import { type ForwardInfo, RequestHead, ensureHashCookie, isSendableTarget, requestHeadFromRequest } from "../forward.ts";
import { nameAmong, namesByLength } from "../ascii-case.ts";
import { COLON_SPACE, CRLF, latin1Text, writeFieldLine, writeLatin1 } from "../latin1.ts";
import { TargetAttempts } from "../target-attempts.ts";
import { NoHealthyTarget } from "../upstream/errors.ts";
import type { ProxiedRequest } from "../request-flow.ts";
import type { RouteMatch } from "../router.ts";
import type { BodyControl, ResponseHandler } from "../upstream/body-relay.ts";
import { relayBodiless } from "../upstream/client.ts";
import { LINE_FIELDS, type ResponseHead } from "../upstream/response-head.ts";
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
const SET_BY_GATEWAY: ReadonlySet<string> = new Set(["x-request-id", "x-gateway-upstream-latency", "x-gateway-proxy-latency"]);
/** The upstream response headers the direct path looks at: the ones the gateway sets, Date and Content-Length. */
const WATCHED = namesByLength([...SET_BY_GATEWAY, "date", "content-length"]);

/** The most the gateway's own lines take beside the request id, a cookie and the plugins' headers: each line, and 20 digits for each number. */
const ANSWER_LINES_BYTES =
  ["content-length: \r\n", "x-request-id: \r\n", "x-gateway-upstream-latency: \r\n", "x-gateway-proxy-latency: \r\n", "connection: close\r\n", "transfer-encoding: chunked\r\n", "\r\n"].join("").length +
  dateHeader().length +
  3 * 20;

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

/** What `copyUpstreamLines` found: one object for every answer, as answers are put together one at a time. */
interface UpstreamLines {
  /** The upstream sent a Date that goes on. */
  dated: boolean;
  /** A Content-Length line of the upstream's goes on. */
  lengthWritten: boolean;
}
const UPSTREAM_LINES: UpstreamLines = { dated: false, lengthWritten: false };

/** The most bytes `copyUpstreamLines` writes for `upstream`: its head, and per line a space and a CRLF more. */
export function upstreamLinesBound(upstream: ResponseHead): number {
  return upstream.end - upstream.start + (3 * upstream.lines.length) / LINE_FIELDS;
}

/**
 * Writes the upstream's header lines as the client gets them into `into` from `at` (room for
 * `upstreamLinesBound`), returning where they end: without the ones the gateway sets or a plugin
 * replaces, one Content-Length however often it came and none on a 204, each as `name: value`
 * with its value trimmed. A line the upstream wrote that way already is copied as it wrote it (in
 * the case it wrote it, as nginx and HAProxy relay it), with its neighbours in one copy.
 */
export function copyUpstreamLines(upstream: ResponseHead, overrides: ReadonlyMap<string, string> | null, into: Buffer, at: number): number {
  const { bytes, lines } = upstream;
  let dated = false;
  let lengthWritten = false;
  // The run of lines going on as sent: bytes[runStart, runEnd).
  let runStart = -1;
  let runEnd = -1;
  for (let i = 0; i < lines.length; i += LINE_FIELDS) {
    const start = lines[i]!;
    const colon = lines[i + 1]!;
    let skipped = false;
    // The lower-cased name when the gateway looks at it: every name once plugins replace some.
    let name: string | null;
    if (overrides === null) name = nameAmong(bytes, start, colon, WATCHED);
    else {
      name = latin1Text(bytes, start, colon).toLowerCase();
      skipped = overrides.has(name);
    }
    if (!skipped && name !== null) {
      if (SET_BY_GATEWAY.has(name)) skipped = true;
      else if (name === "date") dated = true;
      else if (name === "content-length") {
        // RFC 9112 §6.3: a proxy sends a single one; RFC 9110 §8.6: none on a 204.
        if (lengthWritten || upstream.status === 204) skipped = true;
        else lengthWritten = true;
      }
    }
    const valueStart = lines[i + 2]!;
    const valueEnd = lines[i + 3]!;
    const stop = lines[i + 4]!;
    const asSent = !skipped && valueStart === colon + 2 && valueEnd === stop && bytes[colon + 1] === 32;
    if (runStart >= 0 && (!asSent || start !== runEnd + 2)) {
      at += bytes.copy(into, at, runStart, runEnd);
      at = into.writeUInt16LE(CRLF, at);
      runStart = -1;
    }
    if (skipped) continue;
    if (!asSent) {
      at += bytes.copy(into, at, start, colon);
      at = into.writeUInt16LE(COLON_SPACE, at);
      at += bytes.copy(into, at, valueStart, valueEnd);
      at = into.writeUInt16LE(CRLF, at);
    } else {
      if (runStart < 0) runStart = start;
      runEnd = stop;
    }
  }
  if (runStart >= 0) {
    at += bytes.copy(into, at, runStart, runEnd);
    at = into.writeUInt16LE(CRLF, at);
  }
  UPSTREAM_LINES.dated = dated;
  UPSTREAM_LINES.lengthWritten = lengthWritten;
  return at;
}

/** What copyUpstreamLines found about the lines it last wrote. */
export function copiedLines(): Readonly<UpstreamLines> {
  return UPSTREAM_LINES;
}

/** The answer whose held head is in ANSWER_SCRATCH, if any: another answer moves it out before writing there. */
let scratchHolder: DirectAnswer | null = null;

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
  /**
   * The client's head, held until the first body bytes so both go out in one write: its first
   * `pendingLength` bytes, in ANSWER_SCRATCH while this answer is `scratchHolder`, else a copy.
   */
  private pendingHead: Buffer | null = null;
  private pendingLength = 0;
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

  private headFor(upstreamHost: string): RequestHead {
    const { request, match, info } = this;
    const fetched = request.fetched;
    if (fetched !== null) return requestHeadFromRequest(fetched, info.method, this.target, match, info, upstreamHost);
    return new RequestHead(info.method, request.headers.pairs, request.headers, match, this.target, info, upstreamHost);
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
    const overrides = this.overrides;
    if (scratchHolder !== null && scratchHolder !== this) scratchHolder.moveOutOfScratch();
    // Written piece by piece into the buffer (a string of them was garbage per answer), so its
    // room is counted first: the scratch, unless the upstream's head and the gateway's lines are
    // too large for it to hold beside a first piece of body.
    const status = statusLine(upstream.status, "");
    let bound = status.length + upstreamLinesBound(upstream) + ANSWER_LINES_BYTES + flight.requestId.length;
    if (this.cookie !== null) bound += this.cookie.length + 14;
    if (overrides !== null) for (const [name, value] of overrides) bound += name.length + value.length + 4;
    const head = bound <= ANSWER_SCRATCH.length / 2 ? ANSWER_SCRATCH : Buffer.allocUnsafe(2 * bound);
    let at = writeLatin1(head, status, 0);
    at = copyUpstreamLines(upstream, overrides, head, at);
    const lines = copiedLines();
    let dated = lines.dated;
    // The framing the body is relayed with is the one the head parser read, never only the upstream's line for it.
    if (upstream.framing === "length" && !lines.lengthWritten) at = writeFieldLine(head, at, "content-length", String(upstream.length));
    if (this.cookie !== null) at = writeFieldLine(head, at, "set-cookie", this.cookie);
    // Set after the gateway's own, as on the Response path: a plugin's value of the same name wins.
    if (overrides === null || !overrides.has("x-request-id")) at = writeFieldLine(head, at, "x-request-id", flight.requestId);
    if (overrides === null || !overrides.has("x-gateway-upstream-latency")) at = writeFieldLine(head, at, "x-gateway-upstream-latency", String(upstreamMs));
    if (overrides === null || !overrides.has("x-gateway-proxy-latency")) at = writeFieldLine(head, at, "x-gateway-proxy-latency", String(flight.proxyMs));
    if (overrides !== null) {
      for (const [name, value] of overrides) {
        if (name === "date") dated = true;
        at = writeFieldLine(head, at, name, value);
      }
    }
    if (!dated) at += writeLatin1(head, dateHeader(), at);
    if (answering.draining) at += writeLatin1(head, "connection: close\r\n", at);
    const framing = upstream.framing;
    if (!bodiless(upstream.status, answering.method) && (framing === "chunked" || framing === "close")) {
      if (answering.minorVersion === 1) {
        this.chunked = true;
        at += writeLatin1(head, "transfer-encoding: chunked\r\n", at);
      } else this.closeDelimited = true;
    }
    at = head.writeUInt16LE(CRLF, at);
    this.pendingHead = head;
    this.pendingLength = at;
    if (head === ANSWER_SCRATCH) scratchHolder = this;
    this.status = upstream.status;
    if (framing === "length") this.length = upstream.length;
  }

  /** Another answer needs the scratch: the held head moves to a copy of its own. */
  moveOutOfScratch(): void {
    this.pendingHead = Buffer.from(ANSWER_SCRATCH.subarray(0, this.pendingLength));
    scratchHolder = null;
  }

  /** The held head is going out or given up: the scratch is free again. */
  private releaseHead(): void {
    if (scratchHolder === this) scratchHolder = null;
    this.pendingHead = null;
  }

  /** The held head, now going out (valid until the next answer's head): the request is counted and logged with its status. */
  private takeHead(): Buffer {
    const head = this.pendingHead!;
    this.releaseHead();
    this.flight.record(this.status, this.length);
    return head;
  }

  data(bytes: Buffer): boolean {
    const connection = this.request.connection;
    let taken: boolean;
    if (this.pendingHead !== null) {
      const length = this.pendingLength;
      const head = this.takeHead();
      if (!this.chunked && bytes.length < COALESCE_BYTES && length + bytes.length <= head.length) {
        head.set(bytes, length);
        taken = connection.writeTransient(head, length + bytes.length);
      } else {
        connection.writeTransient(head, length);
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
        this.releaseHead();
        connection.respond(this.request, this.flight.upstreamFailed(error));
      } else connection.end(this.request, false);
      return;
    }
    if (this.pendingHead !== null) {
      const length = this.pendingLength;
      connection.writeTransient(this.takeHead(), length);
    }
    if (this.chunked) connection.write("0\r\n\r\n");
    connection.end(this.request, !this.closeDelimited);
  }

  failed(error: Error): void {
    if (this.attempts?.again(error)) return this.send();
    this.request.connection.respond(this.request, this.flight.upstreamFailed(error));
  }
}
