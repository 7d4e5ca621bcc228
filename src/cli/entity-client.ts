// Where the entity commands read and write: the SQLite file (`--db`) or a running gateway's
// admin API (`--admin-url`). One interface, two implementations, so each command is written
// once; both report failures as the same GatewayErrors (status, message, fields).
import { existsSync } from "node:fs";
import { exportDeclarative, parseDeclarative } from "../config/declarative.ts";
import type { EntityTypes, Page, Parent } from "../db/store.ts";
import { GatewayError, UsageError, codeForStatus, describeError } from "../errors.ts";
import { type CoreGateway, builtinPlugins, openCore } from "../gateway.ts";
import { generateKeyRecord } from "../keystore/generate.ts";
import type { EntityDefinition } from "../entities/definition.ts";
import { type Key, coreEntities, entityList, entityNamed } from "../entities/index.ts";
import { rowsOf, type StateData } from "../state/data.ts";
import { flagOrEnv } from "./command.ts";

export type EntityKind = Exclude<keyof EntityTypes, "keys">;
export type Entity<K extends EntityKind> = EntityTypes[K];

export interface ImportCounts {
  [kind: string]: number;
}

export interface EntityClient {
  /** The database file or admin URL, for messages. */
  readonly where: string;
  /**
   * Every entity of a kind (all pages), within a parent when given: the consumer of a
   * credential, the upstream of a target (the parent kind is the one the entity nests under).
   */
  list<K extends EntityKind>(kind: K, parent?: string): Promise<Entity<K>[]>;
  /** By id or endpoint key (name, username, key, group); NotFoundError when absent. */
  get<K extends EntityKind>(kind: K, idOrKey: string, parent?: string): Promise<Entity<K>>;
  create<K extends EntityKind>(kind: K, input: Record<string, unknown>, parent?: string): Promise<Entity<K>>;
  delete(kind: EntityKind, idOrKey: string, options?: { parent?: string; cascade?: boolean }): Promise<void>;
  /** Generates a keystore key; the private half stays in the gateway. */
  createKey(input: { alg: string; kid?: string }): Promise<Key>;
  exportConfig(format: "yaml" | "json", includePrivateKeys: boolean): Promise<string>;
  importConfig(text: string, file: string): Promise<ImportCounts>;
  /**
   * Runs `steps` all or nothing. On the database file: one SQLite transaction (a failure
   * leaves the file as it was). Over the admin API: each step's `undo` (registered as it
   * succeeds) runs in reverse order when a later step fails.
   */
  atomically<T>(steps: (undo: (action: () => Promise<void>) => void) => Promise<T>): Promise<T>;
  close(): void;
}

/** Undefined instead of NotFoundError. */
export async function findEntity<K extends EntityKind>(client: EntityClient, kind: K, idOrKey: string, parent?: string): Promise<Entity<K> | undefined> {
  try {
    return await client.get(kind, idOrKey, parent);
  } catch (error) {
    if (error instanceof GatewayError && error.status === 404) return undefined;
    throw error;
  }
}

/** The flags every entity command takes, for parseFlags. */
export const BACKEND_FLAGS = {
  db: { type: "string" },
  "admin-url": { type: "string" },
  "admin-token": { type: "string" },
} as const;

export const BACKEND_USAGE = `Where (default: the database file):
  --db FILE              SQLite database (default ./gateway.db; env GATEWAY_DB). A running
                         gateway on the same file picks the change up within a second. The
                         default file is never created implicitly: 'gateway migrate' does.
  --admin-url URL        a running gateway's admin API instead (env GATEWAY_ADMIN_URL)
  --admin-token TOKEN    its admin token (env GATEWAY_ADMIN_TOKEN)
`;

export interface BackendValues {
  db?: string;
  "admin-url"?: string;
  "admin-token"?: string;
}

/**
 * Picks the backend: an explicit flag first (`--admin-url` or `--db`), then GATEWAY_ADMIN_URL,
 * then (for the EdgeX commands, `edgex: true`) KONGURL_SERVER, then GATEWAY_DB or ./gateway.db.
 * No command creates a database file it was not told about: a writing command creates the file
 * named by `--db` or GATEWAY_DB; the default ./gateway.db must already exist (`gateway migrate`
 * creates it), and a reading command never creates one, so a typo is an error rather than an
 * empty list (or a user added to nothing).
 */
export function openEntityClient(values: BackendValues, options: { write: boolean; edgex?: boolean }): EntityClient {
  if (values.db !== undefined && values["admin-url"] !== undefined) throw new UsageError("--db and --admin-url: give one of them, not both");
  const adminUrl = values.db !== undefined ? undefined : flagOrEnv(values["admin-url"], "admin-url") || (options.edgex ? edgexAdminUrl() : undefined);
  if (adminUrl) return new HttpEntityClient(adminUrl, flagOrEnv(values["admin-token"], "admin-token") || undefined);
  const named = flagOrEnv(values.db, "db");
  if (named) return openLocalClient(named, options.write);
  return openLocalClient(DEFAULT_DB, false);
}

export const DEFAULT_DB = "./gateway.db";

/**
 * EdgeX's `secrets-config` finds Kong from its configuration's `[KongURL]` section, which the
 * EdgeX docs override with environment variables: KONGURL_SERVER (a host name or address; here
 * also a full http(s) URL) and KONGURL_ADMINPORT. This gateway's admin API plays Kong's admin
 * API, on its default port 8001.
 */
export function edgexAdminUrl(env: Record<string, string | undefined> = process.env): string | undefined {
  const server = env.KONGURL_SERVER?.trim();
  if (!server) return undefined;
  if (/^https?:\/\//i.test(server)) return server;
  if (/^[^:]+:\d+$/.test(server) || /^\[.*\]:\d+$/.test(server)) return `http://${server}`;
  const port = env.KONGURL_ADMINPORT?.trim() || "8001";
  if (!/^\d{1,5}$/.test(port)) throw new UsageError(`KONGURL_ADMINPORT: expected a port number, got '${port}'`);
  return `http://${server.includes(":") && !server.startsWith("[") ? `[${server}]` : server}:${port}`;
}

export function openLocalClient(path: string, create: boolean): LocalEntityClient {
  if (!create && !existsSync(path)) {
    throw new Error(
      path === DEFAULT_DB
        ? `database ${path} does not exist: create it with 'gateway migrate' (or 'gateway migrate --db FILE'), give --db FILE, or --admin-url URL for a running gateway`
        : `database ${path} does not exist: create it with 'gateway migrate --db ${path}', or give --admin-url URL for a running gateway`,
    );
  }
  try {
    return new LocalEntityClient(openCore({ db: path }), path);
  } catch (error) {
    throw new Error(`cannot open database ${path}: ${describeError(error)}`);
  }
}

export class LocalEntityClient implements EntityClient {
  constructor(
    readonly core: CoreGateway,
    readonly where: string,
  ) {}

  private parent(kind: EntityKind, key: string | undefined): Parent | undefined {
    if (key === undefined) return undefined;
    const parentKind = parentKindOf(kind);
    return { kind: parentKind, id: this.core.store.get(parentKind, key).id };
  }

  async list<K extends EntityKind>(kind: K, parentKey?: string): Promise<Entity<K>[]> {
    const parent = this.parent(kind, parentKey);
    const all: Entity<K>[] = [];
    for (let offset: number | null = 0; offset !== null; ) {
      const page: Page<Entity<K>> = this.core.store.list(kind, { size: 1000, offset, parent });
      all.push(...page.data);
      offset = page.nextOffset;
    }
    return all;
  }

  async get<K extends EntityKind>(kind: K, idOrKey: string, parent?: string): Promise<Entity<K>> {
    return this.core.store.get(kind, idOrKey, this.parent(kind, parent));
  }

  async create<K extends EntityKind>(kind: K, input: Record<string, unknown>, parent?: string): Promise<Entity<K>> {
    return this.core.store.create(kind, input, this.parent(kind, parent));
  }

  async delete(kind: EntityKind, idOrKey: string, options: { parent?: string; cascade?: boolean } = {}): Promise<void> {
    this.core.store.delete(kind, idOrKey, { parent: this.parent(kind, options.parent), cascade: options.cascade });
  }

  async createKey(input: { alg: string; kid?: string }): Promise<Key> {
    const { private_jwk: _private, ...key } = this.core.store.insert("keys", generateKeyRecord(input));
    return key;
  }

  async exportConfig(format: "yaml" | "json", includePrivateKeys: boolean): Promise<string> {
    return exportDeclarative(this.core.store.loadStored(), { format, includePrivateKeys });
  }

  async importConfig(text: string): Promise<ImportCounts> {
    const next = parseDeclarative(text, this.core.registry, { previous: this.core.store.loadStored() });
    this.core.store.replaceAll(next);
    return countsOf(next, this.core.entities);
  }

  async atomically<T>(steps: (undo: (action: () => Promise<void>) => void) => Promise<T>): Promise<T> {
    const sqlite = this.core.opened.sqlite;
    sqlite.run("BEGIN IMMEDIATE");
    try {
      const result = await steps(() => {});
      sqlite.run("COMMIT");
      return result;
    } catch (error) {
      if (sqlite.inTransaction) sqlite.run("ROLLBACK");
      throw error;
    }
  }

  close(): void {
    this.core.state.stop();
    this.core.opened.sqlite.close();
  }
}

/** How many of each entity a state holds, by entity name. */
export function countsOf(state: StateData, entities: readonly EntityDefinition[]): ImportCounts {
  return Object.fromEntries(entities.map((entity) => [entity.name, rowsOf(state, entity.name).length]));
}

/** The entities of this build: the CLI's admin paths, tables and nouns come from their definitions. */
export const builtinEntities: readonly EntityDefinition[] = entityList(coreEntities, builtinPlugins.values());

/** The kind an entity's nested collection hangs off (consumers for credentials, upstreams for targets). */
function parentKindOf(kind: EntityKind): EntityKind {
  const nested = entityNamed(builtinEntities, kind).admin?.collections.find((collection) => collection.under !== undefined);
  return (nested?.under ?? "consumers") as EntityKind;
}

/**
 * Collection paths of the admin API (SPEC §6), as the entity's admin section lists them: nested
 * under the parent when one is given.
 */
function collectionPath(kind: EntityKind, parent: string | undefined): string {
  const collections = entityNamed(builtinEntities, kind).admin?.collections ?? [];
  if (parent !== undefined) {
    const parentKind = parentKindOf(kind);
    const nested = collections.find((collection) => collection.under === parentKind)?.path ?? kind;
    return `/${parentKind}/${encodeURIComponent(parent)}/${nested}`;
  }
  return collections.find((collection) => collection.under === undefined)?.path ?? `/${kind}`;
}

export class HttpEntityClient implements EntityClient {
  private readonly base: URL;

  constructor(
    readonly where: string,
    private readonly token: string | undefined,
  ) {
    let url: URL;
    try {
      url = new URL(where);
    } catch {
      throw new UsageError(`--admin-url: expected an http(s) URL such as http://127.0.0.1:8001, got '${where}'`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new UsageError(`--admin-url: expected an http(s) URL, got '${where}'`);
    this.base = new URL(url.href.endsWith("/") ? url.href : `${url.href}/`);
  }

  private async call(method: string, path: string, body?: { text: string; type: string }): Promise<Response> {
    const url = new URL(path.replace(/^\//, ""), this.base);
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body) headers["content-type"] = body.type;
    let response: Response;
    try {
      response = await fetch(url, { method, headers, body: body?.text });
    } catch (error) {
      throw new Error(`cannot reach the admin API at ${this.where}: ${describeError(error)}`);
    }
    if (response.ok) return response;
    const text = await response.text();
    let parsed: { message?: unknown; fields?: unknown } = {};
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not the gateway's JSON error body (a proxy in between?): report the status alone.
    }
    const message = typeof parsed.message === "string" ? parsed.message : `${method} ${url.pathname}: HTTP ${response.status}`;
    const hint = response.status === 401 ? " (give --admin-token or GATEWAY_ADMIN_TOKEN)" : "";
    throw new GatewayError(codeForStatus(response.status), `${message}${hint}`, parsed.fields as Record<string, string> | undefined);
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.call(method, path, body === undefined ? undefined : { text: JSON.stringify(body), type: "application/json" });
    return (await response.json()) as T;
  }

  async list<K extends EntityKind>(kind: K, parent?: string): Promise<Entity<K>[]> {
    const all: Entity<K>[] = [];
    for (let next: string | null = `${collectionPath(kind, parent)}?size=1000`; next; ) {
      const page: { data: Entity<K>[]; next: string | null } = await this.json("GET", next);
      all.push(...page.data);
      next = page.next;
    }
    return all;
  }

  async get<K extends EntityKind>(kind: K, idOrKey: string, parent?: string): Promise<Entity<K>> {
    return this.json("GET", `${collectionPath(kind, parent)}/${encodeURIComponent(idOrKey)}`);
  }

  async create<K extends EntityKind>(kind: K, input: Record<string, unknown>, parent?: string): Promise<Entity<K>> {
    return this.json("POST", collectionPath(kind, parent), input);
  }

  async delete(kind: EntityKind, idOrKey: string, options: { parent?: string; cascade?: boolean } = {}): Promise<void> {
    const query = options.cascade ? "?cascade=true" : "";
    await this.call("DELETE", `${collectionPath(kind, options.parent)}/${encodeURIComponent(idOrKey)}${query}`);
  }

  async createKey(input: { alg: string; kid?: string }): Promise<Key> {
    return this.json("POST", "/keys", input);
  }

  async exportConfig(format: "yaml" | "json", includePrivateKeys: boolean): Promise<string> {
    if (includePrivateKeys) throw new UsageError("--include-private-keys: the admin API never returns private keys; export from the database file (--db)");
    return (await this.call("GET", `/config?format=${format}`)).text();
  }

  async importConfig(text: string, file: string): Promise<ImportCounts> {
    const type = /\.json$/i.test(file) ? "application/json" : "application/yaml";
    const response = await this.call("POST", "/config", { text, type });
    return ((await response.json()) as { counts: ImportCounts }).counts;
  }

  async atomically<T>(steps: (undo: (action: () => Promise<void>) => void) => Promise<T>): Promise<T> {
    const undos: (() => Promise<void>)[] = [];
    try {
      return await steps((action) => undos.push(action));
    } catch (error) {
      for (const action of undos.reverse()) {
        try {
          await action();
        } catch (undoError) {
          process.stderr.write(`warning: could not undo a step at ${this.where}: ${describeError(undoError)}\n`);
        }
      }
      throw error;
    }
  }

  close(): void {}
}
