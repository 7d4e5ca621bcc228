// The plugin contract: what a folder under plugins/ exports, and what its handlers see.
import type { Database } from "bun:sqlite";
import type { TSchema } from "@sinclair/typebox";
import type { EntityDefinition } from "../entities/definition.ts";
import type { FieldErrors } from "../errors.ts";
import type { Consumer } from "../entities/consumer.ts";
import type { Key, KeyRecord } from "../entities/key.ts";
import type { UpstreamQuery } from "./upstream-query.ts";

/** A credential that authenticated the request (Kong's `authenticated_credential`). */
export interface AuthenticatedCredential {
  id: string;
  /** What identifies it upstream as `X-Credential-Identifier` (the jwt credential's key). */
  identifier: string;
  consumerId: string;
}

/**
 * What a plugin may read of the configuration in force: narrow lookups over one consistent
 * version, never the snapshot itself. An instance is built per version, so an index taken in
 * `create` stays right for every request the instance serves.
 */
export interface StateLookups {
  /** A consumer by id, or else by username (how plugin configs name them). */
  consumer(idOrUsername: string): Consumer | undefined;
  /** The rows of an entity (its storage name, e.g. `jwt_secrets`), in stored order. */
  rows<Row>(entity: string): readonly Row[];
  /** The row of `entity` whose unique `field` is `value`, by an index built on first use. */
  uniqueIndex<Row>(entity: string, field: string): ReadonlyMap<string, Row>;
  /** Keystore keys, private halves included (jwt-signer signs with them). */
  readonly keys: readonly KeyRecord[];
  /** The gateway's SQLite connection, for data kept beside the configuration (rate-limiting's cluster counters); never for configuration. */
  readonly database?: Database;
}

/**
 * A later plugin that turns an authentication failure into an anonymous pass (Kong's
 * `anonymous`): authentication plugins record the failure in `authFailure` instead of answering
 * when it covers them, and the chain knows it from the definitions, not from a config by name.
 */
export interface AuthFallback {
  covers(tokenMissing: boolean): boolean;
}

/**
 * A request's header fields as plugins read and change them: the operations of Fetch's
 * Headers that plugins use, with its semantics (names case-insensitive, repeated fields read
 * joined, iteration by sorted name, a name or value no field can carry refused with a
 * TypeError). Bun.serve's Headers is one; the raw engine's parsed head is another, so a route's
 * plugins run without a Fetch Request being built.
 */
export interface HeaderFields {
  get(name: string): string | null;
  has(name: string): boolean;
  set(name: string, value: string): void;
  append(name: string, value: string): void;
  delete(name: string): void;
  keys(): IterableIterator<string>;
  [Symbol.iterator](): IterableIterator<[string, string]>;
  /**
   * Sets fields the gateway built and checked itself (flat lower-case name, value) as `set`
   * would, without the checks `set` makes of a plugin's: where absent, the caller sets them one by one.
   */
  setChecked?(fields: readonly string[]): void;
}

/** A request as the plugin context reads it when it is not a Fetch Request itself. */
export interface PluginRequestSource {
  readonly method: string;
  /** The absolute URL, its path and query as the client sent them. */
  readonly url: string;
  readonly headers: HeaderFields;
  /** The Fetch Request, built on first use from the headers as they are then; they are its headers from then on. */
  request(): Request;
  /** The body bytes read from the client so far. */
  readonly bodyBytesRead: number;
}

/** Per-request state shared by the plugins of one request. */
export interface RequestContext {
  /** The client's method. */
  readonly method: string;
  /** The URL as the client sent it (`url` is its parsed form, built on first use). */
  readonly href: string;
  readonly url: URL;
  /**
   * The request's path in its one canonical form (src/proxy/canonical-path.ts), the one the
   * router matched and the upstream gets (before strip_path): `/a//b`, `/%61` and `/a/./b`
   * are one path here, as they are to nginx. Compare paths with this, never with `url.pathname`.
   */
  readonly path: string;
  /**
   * The request as a Fetch Request, for a plugin that needs one whole (its body stream); on the
   * raw engine it is built on first use, a cost the header and URL reads above do not have.
   */
  readonly request: Request;
  readonly requestId: string;
  readonly clientIp: string;
  readonly state: StateLookups;
  readonly routeId: string;
  /** The client's headers as the plugins so far left them, which the upstream gets: plugins read, add, change and remove here. */
  readonly upstreamHeaders: HeaderFields;
  /** The query the upstream gets: plugins remove (a token under hide_credentials), rename, set and append parameters here. */
  readonly upstreamQuery: UpstreamQuery;
  /** The method the upstream gets when a plugin changes it (request-transformer `http_method`); null: the client's. */
  upstreamMethod: string | null;
  /** The path the upstream gets when a plugin replaces it (request-transformer `replace.uri`), canonical; null: the route's and service's. */
  upstreamPath: string | null;
  consumer: Consumer | null;
  credential: AuthenticatedCredential | null;
  /** Groups asserted by an authentication plugin (e.g. jwt `groups_claim`), for acl. */
  authenticatedGroups: string[] | null;
  /** Why authentication failed, when a plugin let the request go on (anonymous fallback). */
  authFailure: AuthFailure | null;
  /** Verified token claims, for plugins that run later. */
  claims: Record<string, unknown> | null;
  /** The fallback a later plugin of this route's chain offers, or null. */
  readonly authFallback: AuthFallback | null;
  /** Label for the `auth failures by reason` metric, set by the plugin that refused. */
  authFailureMetric: string | null;
  /** Set once client-sent identity headers have been removed (see clearIdentityHeaders). */
  identityHeadersCleared: boolean;
  /**
   * Headers for the response to the client, set during the access phase (Kong's
   * `kong.response.set_header` there): flat name, value pairs, or null. The proxy sets them on
   * the upstream's response before the response phase, and on a later plugin's own answer, so a
   * plugin that only adds headers needs no response phase.
   */
  responseHeaders: string[] | null;
  /**
   * The request body if it has at most `maxBytes` (empty when there is none), else null; read
   * once per request, so every plugin sees the same bytes, a replacement included. A larger
   * body is not lost: the upstream still gets all of it, in order. Rejects when the client
   * goes away mid-body.
   */
  readBody(maxBytes: number): Promise<Uint8Array | null>;
  /**
   * The body's first bytes, read once as `readBody` reads: all of it when it is shorter than
   * `bytes`, else at least `bytes` of it, whatever its Content-Length declares; the upstream still
   * gets the whole body.
   */
  readBodyStart(bytes: number): Promise<Uint8Array>;
  /** What the upstream gets as the body from now on, with its Content-Length; `contentType` replaces the Content-Type. */
  replaceBody(bytes: Uint8Array, contentType?: string): void;
  /** Writes an operational event (JSON line) tied to this request; never a secret or token. */
  log(fields: Record<string, unknown>): void;
}

/** An authentication failure a plugin deferred because an anonymous fallback covers it. */
export interface AuthFailure {
  status: number;
  /** Metric label, e.g. `jwt:expired`. */
  reason: string;
  /** True when the request carried no credential at all (anonymous `on: missing`). */
  tokenMissing: boolean;
  /** The answer the plugin would have given, for when no fallback consumer can be used. */
  respond(): Response;
}

export type AccessResult = Response | undefined;

/** What the log phase learns of an answered request (the part of Kong's `kong.log.serialize()` plugins here read). */
export interface AnsweredRequest {
  readonly status: number;
  /** Kong's `kong.response.get_source()` as its prometheus plugin labels it: the upstream's answer, or the gateway's or a plugin's own. */
  readonly source: "service" | "kong";
  /** Until the upstream's response head arrived; null when the request was not proxied. */
  readonly upstreamMs: number | null;
  /** The gateway's own time: before forwarding when proxied, else until the answer. */
  readonly kongMs: number;
  /** The answer's declared Content-Length (0 when not declared, e.g. streamed). */
  readonly responseBytes: number;
  /** The request body bytes read from the client by the time of the answer: none for one answered before its body was read. */
  readonly requestBytes: number;
}

/** What one configured plugin entity does for a request; built once per state change. */
export interface PluginInstance {
  access?(ctx: RequestContext): AccessResult | Promise<AccessResult>;
  response?(ctx: RequestContext, response: Response): Response | Promise<Response>;
  /**
   * Kong's log phase: once the answer's head goes out, for every request of the route, also one
   * a plugin or the gateway answered itself. Cannot change the answer.
   */
  log?(ctx: RequestContext, answered: AnsweredRequest): void;
}

/** Read access to other entities while validating a plugin config on write. */
export interface EntityLookup {
  findConsumer(idOrUsername: string): Consumer | undefined;
  /** A keystore key by kid (jwt-signer refers to them). */
  findKey(kid: string): Pick<Key, "kid" | "alg"> | undefined;
}

export interface PluginDefinition<Config = Record<string, unknown>> {
  readonly name: string;
  /** Higher runs first (Kong: jwt 1450, anonymous 1000, acl 950, jwt-signer 800). */
  readonly priority: number;
  /** TypeBox schema of `config`: the one source for validation, storage and OpenAPI. */
  readonly configSchema: TSchema;
  /** Kong's `no_consumer`: the plugin cannot be scoped to a consumer. */
  readonly noConsumerScope?: boolean;
  /** Entities the plugin owns (Kong's daos.lua): stored, served and loaded like the core ones. */
  readonly entities?: readonly EntityDefinition[];
  /** Cross-field and cross-entity checks the schema cannot express. */
  check?(config: Config, lookup: EntityLookup): FieldErrors | undefined;
  /** Precompiles an instance from a validated config (defaults applied). */
  create(config: Config, state: StateLookups): PluginInstance;
  /** The anonymous fallback this config offers the authentication plugins before it. */
  authFallback?(config: Config): AuthFallback;
  /**
   * Upstream headers this config makes the plugin set besides the identity headers (lower
   * case): a client's own copies are removed before the chain runs, whether or not it sets them.
   */
  ownedHeaders?(config: Config): readonly string[];
  /**
   * Config values (as given, before the schema) that ask for a Kong feature this plugin lacks,
   * by config field: refused as not supported, and listed with a file's other missing features.
   */
  unsupported?(config: Record<string, unknown>): FieldErrors | undefined;
  /** What a Kong user finds different in this plugin, shown by `gateway config check` with the README section. */
  readonly differences?: readonly { readonly what: string; readonly readme: string }[];
}

/** Identity for plugin definitions, so each plugin's config type is inferred from its schema. */
export function definePlugin<Config>(definition: PluginDefinition<Config>): PluginDefinition<Config> {
  return definition;
}
