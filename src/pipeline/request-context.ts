// The per-request object plugins share. Created only for routes that have plugins.
import type { Consumer } from "../entities/consumer.ts";
import { type BodyMeter, BufferedRequestBody, type UpstreamBody } from "./request-body.ts";
import type { AccessResult, AuthenticatedCredential, AuthFailure, AuthFallback, HeaderFields, PluginRequestSource, RequestContext, StateLookups } from "./contract.ts";
import { UpstreamQuery } from "./upstream-query.ts";
import { canonicalPath } from "../proxy/canonical-path.ts";

/** Where plugin events are written (the access log stream in the proxy). */
export interface EventSink {
  event(fields: Record<string, unknown>): void;
}

export class PluginRequestContext implements RequestContext {
  private parsedUrl: URL | null = null;
  private query: UpstreamQuery | null = null;
  upstreamMethod: string | null = null;
  upstreamPath: string | null = null;
  private body: BufferedRequestBody | null = null;
  consumer: Consumer | null = null;
  credential: AuthenticatedCredential | null = null;
  authenticatedGroups: string[] | null = null;
  authFailure: AuthFailure | null = null;
  claims: Record<string, unknown> | null = null;
  authFailureMetric: string | null = null;
  identityHeadersCleared = false;
  responseHeaders: string[] | null = null;
  /** Counts the body bytes a plugin reads from the client (the serve engine's log-phase routes). */
  bodyMeter: BodyMeter | null = null;
  private hrefText: string | null = null;

  constructor(
    /** Bun.serve's Request, or the raw engine's parsed one (whose Fetch Request is built only if a plugin asks for it). */
    private readonly source: Request | PluginRequestSource,
    readonly requestId: string,
    readonly clientIp: string,
    readonly state: StateLookups,
    readonly routeId: string,
    readonly authFallback: AuthFallback | null,
    private readonly events: EventSink,
    /** The canonical path the proxy routed on; without it (unit tests), derived from the URL. */
    private routedPath: string | null = null,
  ) {}

  get path(): string {
    if (this.routedPath === null) {
      const pathname = this.url.pathname;
      this.routedPath = canonicalPath(pathname) ?? pathname;
    }
    return this.routedPath;
  }

  get method(): string {
    return this.source.method;
  }

  get href(): string {
    return (this.hrefText ??= this.source.url);
  }

  get upstreamHeaders(): HeaderFields {
    return this.source.headers;
  }

  get request(): Request {
    const source = this.source;
    return source instanceof Request ? source : source.request();
  }

  get url(): URL {
    return (this.parsedUrl ??= new URL(this.href));
  }

  get upstreamQuery(): UpstreamQuery {
    if (this.query === null) {
      // Both engines' URL ends with the client's query as the flow received it.
      const url = this.href;
      const start = url.indexOf("?");
      this.query = new UpstreamQuery(start < 0 ? "" : url.slice(start));
    }
    return this.query;
  }

  /** The query the plugins made (UpstreamQuery.edited), or null: the client's goes as sent. */
  editedQuery(): string | null {
    return this.query === null ? null : this.query.edited();
  }

  readBody(maxBytes: number): Promise<Uint8Array | null> {
    return this.bufferedBody().read(maxBytes);
  }

  readBodyStart(bytes: number): Promise<Uint8Array> {
    return this.bufferedBody().start(bytes);
  }

  replaceBody(bytes: Uint8Array, contentType?: string): void {
    this.bufferedBody().replace(bytes);
    if (contentType !== undefined) this.upstreamHeaders.set("content-type", contentType);
  }

  private bufferedBody(): BufferedRequestBody {
    return (this.body ??= new BufferedRequestBody(this.request, this.clientIp, this.bodyMeter));
  }

  /** What the upstream gets instead of the client's body stream (null: that stream, untouched). */
  upstreamBody(): UpstreamBody | null {
    return this.body === null ? null : this.body.upstream();
  }

  /** Plugin events go to the gateway's log stream, tagged with the request id. */
  log(fields: Record<string, unknown>): void {
    this.events.event({ request_id: this.requestId, ...fields });
  }
}

const IDENTITY_HEADERS: ReadonlySet<string> = new Set([
  "x-credential-identifier", "x-anonymous-consumer", "x-authenticated-groups",
]);

/** Headers only the gateway may set: `X-Consumer-*` and the credential/group headers. */
export function isIdentityHeader(lowerCaseName: string): boolean {
  return lowerCaseName.startsWith("x-consumer-") || IDENTITY_HEADERS.has(lowerCaseName);
}

/**
 * Removes client-sent identity headers (once per request), so the upstream can trust the ones
 * the gateway sets: a client must never be able to claim a consumer or a group.
 */
export function clearIdentityHeaders(ctx: RequestContext): void {
  if (ctx.identityHeadersCleared) return;
  ctx.identityHeadersCleared = true;
  const headers = ctx.upstreamHeaders;
  let spoofed: string[] | null = null;
  for (const name of headers.keys()) if (isIdentityHeader(name)) (spoofed ??= []).push(name);
  if (spoofed) for (const name of spoofed) headers.delete(name);
}

const PRINTABLE_ASCII = /^[\t\x20-\x7e]*$/;
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

/**
 * A string as an HTTP field value: non-ASCII text travels as its UTF-8 bytes (what Kong and
 * nginx send); text with control characters cannot be sent at all (null).
 */
export function toHeaderValue(value: string): string | null {
  if (PRINTABLE_ASCII.test(value)) return value;
  if (CONTROL.test(value)) return null;
  return Buffer.from(value, "utf8").toString("latin1");
}

/**
 * The identity headers one consumer and credential put on a request (Kong's `set_consumer`),
 * checked once: `set` as flat name, value pairs in the order they are set, `cleared` the names
 * that must not reach the upstream (no value, or none that a header can carry).
 */
interface IdentityFields {
  readonly set: readonly string[];
  readonly cleared: readonly string[];
}

function identityFieldsOf(consumer: Consumer, identifier: string | null): IdentityFields {
  const set: string[] = [];
  const cleared: string[] = [];
  const add = (name: string, value: string | null) => {
    const safe = value === null ? null : toHeaderValue(value);
    if (safe === null) cleared.push(name);
    else set.push(name, safe);
  };
  add("x-consumer-id", consumer.id);
  add("x-consumer-custom-id", consumer.custom_id);
  add("x-consumer-username", consumer.username);
  if (identifier !== null) {
    add("x-credential-identifier", identifier);
    cleared.push("x-anonymous-consumer");
  } else {
    cleared.push("x-credential-identifier");
    set.push("x-anonymous-consumer", "true");
  }
  return { set, cleared };
}

/**
 * Per consumer object (a config change makes new ones, and these go with the old), per
 * credential identifier (null: anonymous): authentication plugins make a credential object per
 * request, so the identifier is the key, not the object.
 */
const identityFields = new WeakMap<Consumer, Map<string | null, IdentityFields>>();

function cachedIdentityFields(consumer: Consumer, credential: AuthenticatedCredential | null): IdentityFields {
  let byIdentifier = identityFields.get(consumer);
  if (byIdentifier === undefined) identityFields.set(consumer, (byIdentifier = new Map()));
  const identifier = credential === null ? null : credential.identifier;
  let fields = byIdentifier.get(identifier);
  if (fields === undefined) byIdentifier.set(identifier, (fields = identityFieldsOf(consumer, identifier)));
  return fields;
}

/** Kong's `set_consumer`: the request now runs as `consumer`; no credential means anonymous. */
export function setConsumer(ctx: RequestContext, consumer: Consumer, credential: AuthenticatedCredential | null): void {
  // Once the client's identity headers are cleared and before any consumer is set, none is
  // present: each Headers mutation is a native call, so the deletes are skipped then.
  const present = !ctx.identityHeadersCleared || ctx.consumer !== null;
  ctx.consumer = consumer;
  ctx.credential = credential;
  // Groups a token carried are its consumer's: a later plugin's consumer (Kong's AND mode) is
  // judged by its own ACL rows, and the plugin that set them sets them again after this.
  ctx.authenticatedGroups = null;
  const headers = ctx.upstreamHeaders;
  const { set, cleared } = cachedIdentityFields(consumer, credential);
  if (headers.setChecked !== undefined) headers.setChecked(set);
  else for (let i = 0; i < set.length; i += 2) headers.set(set[i]!, set[i + 1]!);
  if (present) for (const name of cleared) headers.delete(name);
}

/** How an authentication plugin refuses a request, for `refuseOrFallBack`. */
export interface AuthRefusal {
  /** No credential was sent at all (what anonymous `on: missing` covers). */
  readonly tokenMissing: boolean;
  readonly status: number;
  /** The metric label and log code of the refusal. */
  readonly code: string;
  respond(): Response;
}

/**
 * Kong's handling of an authentication failure, the same for every authentication plugin: the
 * plugin's own `anonymous` consumer; else a later anonymous fallback that covers the failure,
 * which gets it recorded; else the plugin's refusal. A configured anonymous consumer that has
 * since been deleted is logged and refused (Kong answers 500).
 */
export function refuseOrFallBack(ctx: RequestContext, state: StateLookups, plugin: string, anonymous: string | null, refusal: AuthRefusal): AccessResult {
  if (anonymous !== null) {
    const consumer = state.consumer(anonymous);
    if (consumer) {
      setConsumer(ctx, consumer, null);
      return undefined;
    }
    ctx.log({ level: "error", plugin, message: "anonymous consumer is configured but doesn't exist", anonymous });
  } else if (ctx.authFallback?.covers(refusal.tokenMissing)) {
    ctx.authFailure ??= { status: refusal.status, reason: refusal.code, tokenMissing: refusal.tokenMissing, respond: refusal.respond };
    return undefined;
  }
  ctx.authFailureMetric = refusal.code;
  return refusal.respond();
}
