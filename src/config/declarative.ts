// Declarative configuration (SPEC §8): Kong's kong.yml format, nested and top-level forms,
// turned into the same validated entities the database holds. Nothing is applied here: the
// caller swaps the result in atomically, so a bad file changes nothing. Env vault references
// are resolved to validate and kept as written in the result (see model/references.ts).
import { createHash, createHmac } from "node:crypto";
import { type FieldErrors, GatewayError, ValidationError } from "../errors.ts";
import { buildAcl } from "../model/acl.ts";
import { buildConsumer, type Consumer } from "../model/consumer.ts";
import { isHmac } from "../jose/algorithms.ts";
import { buildJwtCredential } from "../model/jwt-credential.ts";
import { buildPlugin } from "../model/plugin.ts";
import { clip, clipQuoted, quote } from "../model/quote.ts";
import { type ReferenceKind, buildWithReferences } from "../model/references.ts";
import { buildRoute } from "../model/route.ts";
import { buildService } from "../model/service.ts";
import type { EntityLookup } from "../pipeline/contract.ts";
import type { PluginRegistry } from "../pipeline/registry.ts";
import { type StateData, emptyState } from "../state/data.ts";
import { keysFromDeclarative } from "./declarative-keys.ts";
import { parseDocument } from "./document.ts";

export const FORMAT_VERSIONS = ["1.1", "2.1", "3.0"];
const TOP_LEVEL = new Set(["_format_version", "_transform", "_comment", "_ignore", "_workspace", "services", "routes", "consumers", "plugins", "jwt_secrets", "acls", "keys"]);
const META = ["_comment", "_ignore"];

type Entry = Record<string, unknown>;
type RefKind = "services" | "routes" | "consumers";

/** A config error: names the entity, its position in the file and the field. */
export class DeclarativeError extends ValidationError {}

function fail(position: string, fields: FieldErrors, entity?: string): never {
  const prefixed = Object.fromEntries(Object.entries(fields).map(([field, why]) => [field === "@entity" ? position : `${position}.${field}`, why]));
  const summary = Object.entries(fields).map(([field, why]) => `${field}: ${why}`).join("; ");
  throw new DeclarativeError(prefixed, `in ${entity ? `${entity} at ` : ""}${position}: ${summary}`);
}

/** Derived values stay stable across reloads of the same file (SPEC §8). */
function derivedUuid(seed: string): string {
  const hex = createHash("sha256").update(seed).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex[16]!, 16) & 3) | 8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function derivedAlphanumeric(key: Buffer | string, seed: string): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const digest = createHmac("sha512", key).update(seed).digest();
  let out = "";
  for (let i = 0; out.length < 32 && i < digest.length; i++) out += alphabet[digest[i]! % 62];
  return out;
}

function asList(value: unknown, position: string): Entry[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) fail(position, { "@entity": "must be a list" });
  return value.map((item, i) => {
    if (typeof item !== "object" || item === null || Array.isArray(item)) fail(`${position}[${i}]`, { "@entity": "must be a mapping" });
    const copy: Entry = { ...(item as Entry) };
    for (const key of META) delete copy[key];
    return copy;
  });
}

function describe(kind: string, entry: Entry): string {
  const label = entry.name ?? entry.username ?? entry.key ?? entry.group ?? entry.kid ?? entry.id;
  return typeof label === "string" ? `${kind} ${quote(label)}` : kind;
}

/** Kong 1.1/2.1 files wrote regex paths without `~`; Kong's migration adds it to paths with regex characters. */
function migrateRegexPaths(route: Entry): void {
  if (!Array.isArray(route.paths)) return;
  route.paths = route.paths.map((path) => (typeof path === "string" && !path.startsWith("~") && /[^A-Za-z0-9._~/%-]/.test(path) ? `~${path}` : path));
}

interface Pending {
  kind: "routes" | "plugins" | "jwt_secrets" | "acls";
  entry: Entry;
  position: string;
  parent?: { kind: RefKind; key: string };
}

export interface ParseOptions {
  /** The state being replaced: keys whose private half an export left out keep it. */
  previous?: StateData;
}

/** Parses YAML or JSON text into validated state, or throws a ValidationError naming what is wrong. */
export function parseDeclarative(text: string, registry: PluginRegistry, options: ParseOptions = {}): StateData {
  let document: unknown;
  try {
    document = parseDocument(text);
  } catch (error) {
    const message = clipQuoted(error instanceof Error ? (error.message.split("\n")[0] ?? "") : String(error));
    throw new DeclarativeError({ "@file": `not valid YAML or JSON: ${message}` }, `not valid YAML or JSON: ${message}`);
  }
  if (typeof document !== "object" || document === null || Array.isArray(document)) {
    throw new DeclarativeError({ "@file": "must be a mapping with _format_version" }, "the file must be a mapping with _format_version");
  }
  const doc = document as Entry;
  const unknown = Object.keys(doc).filter((key) => !TOP_LEVEL.has(key));
  if (unknown.length) fail("@file", Object.fromEntries(unknown.slice(0, 20).map((key) => [clip(key), "unknown top-level key"])));
  const version = String(doc._format_version ?? "");
  if (!FORMAT_VERSIONS.includes(version)) {
    fail("@file", { _format_version: doc._format_version === undefined ? "required field missing" : `must be one of ${FORMAT_VERSIONS.join(", ")}` });
  }
  const legacyPaths = version !== "3.0";
  const fileKey = createHash("sha256").update(text).digest();
  const state = emptyState();
  const ids = { services: new Map<string, string>(), routes: new Map<string, string>(), consumers: new Map<string, string>() };
  const pending: Pending[] = [];
  const seen = new Map<string, string>();

  const unique = (kind: string, field: string, value: unknown, position: string) => {
    if (value === null || value === undefined) return;
    const id = `${kind}\u0000${field}\u0000${String(value)}`;
    if (seen.has(id)) fail(position, { [field]: `uniqueness violation: '${kind}' entity with ${field} set to ${quote(String(value))} already declared at ${seen.get(id)}` });
    seen.set(id, position);
  };
  /** Builds one entry as every write is built (references resolved to validate, kept to store). */
  const build = <T>(kind: ReferenceKind, label: string, entry: Entry, position: string, make: (input: Entry) => T): T => {
    try {
      return buildWithReferences<T>(kind, entry, undefined, (input) => make(input as Entry));
    } catch (error) {
      if (error instanceof GatewayError && error.fields) fail(position, error.fields, describe(label, entry));
      throw error;
    }
  };
  const register = (kind: RefKind, id: string, keys: unknown[]) => {
    ids[kind].set(id, id);
    for (const key of keys) if (typeof key === "string") ids[kind].set(key, id);
  };
  const resolve = (kind: RefKind, ref: unknown, position: string, field: string): string => {
    const key = typeof ref === "string" ? ref : typeof ref === "object" && ref !== null ? ((ref as Entry).id ?? (ref as Entry).name ?? (ref as Entry).username) : undefined;
    const id = typeof key === "string" ? ids[kind].get(key) : undefined;
    if (!id) fail(position, { [field]: `invalid reference '${field}: ${clip(typeof key === "string" ? key : (JSON.stringify(ref) ?? String(ref)))}' (no such entry in '${kind}')` });
    return id;
  };

  asList(doc.services, "services").forEach((entry, i) => {
    const position = `services[${i}]`;
    const { routes, plugins, ...fields } = entry;
    fields.id ??= derivedUuid(`services:${fields.name ?? position}`);
    const service = build("services", "service", fields, position, buildService);
    unique("services", "name", service.name, position);
    unique("services", "id", service.id, position);
    state.services.push(service);
    register("services", service.id, [service.name]);
    asList(routes, `${position}.routes`).forEach((route, j) =>
      pending.push({ kind: "routes", entry: route, position: `${position}.routes[${j}]`, parent: { kind: "services", key: service.id } }),
    );
    asList(plugins, `${position}.plugins`).forEach((plugin, j) =>
      pending.push({ kind: "plugins", entry: plugin, position: `${position}.plugins[${j}]`, parent: { kind: "services", key: service.id } }),
    );
  });
  asList(doc.routes, "routes").forEach((entry, i) => pending.push({ kind: "routes", entry, position: `routes[${i}]` }));

  asList(doc.consumers, "consumers").forEach((entry, i) => {
    const position = `consumers[${i}]`;
    const { jwt_secrets, acls, plugins, ...fields } = entry;
    fields.id ??= derivedUuid(`consumers:${fields.username ?? fields.custom_id ?? position}`);
    const consumer = build("consumers", "consumer", fields, position, buildConsumer);
    unique("consumers", "username", consumer.username, position);
    unique("consumers", "custom_id", consumer.custom_id, position);
    unique("consumers", "id", consumer.id, position);
    state.consumers.push(consumer);
    register("consumers", consumer.id, [consumer.username, consumer.custom_id]);
    const parent = { kind: "consumers" as const, key: consumer.id };
    asList(jwt_secrets, `${position}.jwt_secrets`).forEach((e, j) => pending.push({ kind: "jwt_secrets", entry: e, position: `${position}.jwt_secrets[${j}]`, parent }));
    asList(acls, `${position}.acls`).forEach((e, j) => pending.push({ kind: "acls", entry: e, position: `${position}.acls[${j}]`, parent }));
    asList(plugins, `${position}.plugins`).forEach((e, j) => pending.push({ kind: "plugins", entry: e, position: `${position}.plugins[${j}]`, parent }));
  });
  for (const kind of ["jwt_secrets", "acls", "plugins"] as const) {
    asList(doc[kind], kind).forEach((entry, i) => pending.push({ kind, entry, position: `${kind}[${i}]` }));
  }

  // Routes first: plugins may refer to them.
  for (const item of pending.filter((p) => p.kind === "routes")) {
    const { plugins, ...fields } = item.entry;
    if (legacyPaths) migrateRegexPaths(fields);
    const serviceId = item.parent ? item.parent.key : fields.service !== undefined ? resolve("services", fields.service, item.position, "service") : undefined;
    delete fields.service;
    fields.id ??= derivedUuid(`routes:${fields.name ?? item.position}`);
    const route = build("routes", "route", fields, item.position, (input) => buildRoute(input, serviceId));
    unique("routes", "name", route.name, item.position);
    unique("routes", "id", route.id, item.position);
    state.routes.push(route);
    register("routes", route.id, [route.name]);
    asList(plugins, `${item.position}.plugins`).forEach((plugin, j) =>
      pending.push({ kind: "plugins", entry: plugin, position: `${item.position}.plugins[${j}]`, parent: { kind: "routes", key: route.id } }),
    );
  }

  // Keys before plugins: a jwt-signer config may name one. No key field takes a reference.
  const keyEntries = asList(doc.keys, "keys");
  keyEntries.forEach((entry, i) => build("keys", "key", entry, `keys[${i}]`, (input) => input));
  state.keys = keysFromDeclarative(keyEntries, options.previous?.keys ?? [], (position, fields) => fail(position, fields, "key"));
  for (const [i, key] of state.keys.entries()) {
    unique("keys", "kid", key.kid, `keys[${i}]`);
    unique("keys", "id", key.id, `keys[${i}]`);
  }
  const lookup: EntityLookup = {
    findConsumer: (idOrUsername: string): Consumer | undefined => {
      const id = ids.consumers.get(idOrUsername);
      return id ? state.consumers.find((c) => c.id === id) : undefined;
    },
    findKey: (kid: string) => state.keys.find((key) => key.kid === kid),
  };

  for (const item of pending) {
    if (item.kind === "routes") continue;
    const fields = { ...item.entry };
    const consumerRef = (): string =>
      item.parent?.kind === "consumers" ? item.parent.key : resolve("consumers", fields.consumer, item.position, "consumer");
    if (item.kind === "jwt_secrets") {
      const consumerId = consumerRef();
      delete fields.consumer;
      const seed = `jwt_secrets:${consumerId}:${item.position}`;
      fields.key ??= derivedAlphanumeric("gateway-declarative-key", seed);
      const algorithm = typeof fields.algorithm === "string" ? fields.algorithm : "HS256";
      if (fields.secret === undefined && isHmac(algorithm)) fields.secret = derivedAlphanumeric(fileKey, seed);
      fields.id ??= derivedUuid(`jwt_secrets:${String(fields.key)}`);
      const credential = build("jwt_secrets", "jwt_secret", fields, item.position, (input) => buildJwtCredential(input, consumerId));
      unique("jwt_secrets", "key", credential.key, item.position);
      unique("jwt_secrets", "id", credential.id, item.position);
      state.jwt_secrets.push(credential);
    } else if (item.kind === "acls") {
      const consumerId = consumerRef();
      delete fields.consumer;
      fields.id ??= derivedUuid(`acls:${consumerId}:${String(fields.group)}`);
      const acl = build("acls", "acl", fields, item.position, (input) => buildAcl(input, consumerId));
      unique("acls", "consumer+group", `${consumerId}/${acl.group}`, item.position);
      unique("acls", "id", acl.id, item.position);
      state.acls.push(acl);
    } else {
      const scope: { service?: string | null; route?: string | null; consumer?: string | null } = {};
      for (const [kind, field] of [["services", "service"], ["routes", "route"], ["consumers", "consumer"]] as const) {
        if (item.parent?.kind === kind) scope[field] = item.parent.key;
        else if (fields[field] !== undefined && fields[field] !== null) scope[field] = resolve(kind, fields[field], item.position, field);
        delete fields[field];
      }
      const seed = `plugins:${String(fields.name)}:${scope.service ?? ""}:${scope.route ?? ""}:${scope.consumer ?? ""}`;
      fields.id ??= derivedUuid(seed);
      const plugin = build("plugins", "plugin", fields, item.position, (input) => buildPlugin(input, scope, registry, lookup));
      unique("plugins", "name+scope", seed, item.position);
      unique("plugins", "id", plugin.id, item.position);
      state.plugins.push(plugin);
    }
  }
  return state;
}
export { exportDeclarative, type ExportOptions } from "./export.ts";
