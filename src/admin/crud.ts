// Kong-shaped CRUD for one entity kind at one place in the URL tree: list and create on the
// collection, read, PATCH, PUT and DELETE on an item by id or endpoint key. Validation,
// references and uniqueness are the store's; this file maps them onto HTTP.
import type { TSchema } from "@sinclair/typebox";
import { NotFoundError, ValidationError } from "../errors.ts";
import type { EntityTypes, Kind, Parent, Store } from "../db/store.ts";
import { quote } from "../model/quote.ts";
import { type Example, type Operation, type QueryParameter } from "./operation.ts";
import { coerceToSchema } from "./body.ts";
import { json, noContent } from "./http.ts";
import { listSchema, ref } from "./openapi.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;

/** The one place entities leave the API: a keystore key loses its private half here. */
export function present<K extends Kind>(kind: K, entity: EntityTypes[K]): unknown {
  if (kind === "keys") {
    const { private_jwk: _private, ...publicPart } = entity as EntityTypes["keys"];
    return publicPart;
  }
  return entity;
}

/** For paths that take an id only: anything else names nothing. */
export function idOnly(noun: string, key: string): string {
  if (!UUID.test(key)) throw new NotFoundError(`${noun} ${quote(key)} not found (address it by id)`);
  return key;
}

const PAGE_QUERY: QueryParameter[] = [
  { name: "size", description: `page size, 1 to ${MAX_PAGE_SIZE}`, schema: { type: "integer", minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE }, example: 100 },
  { name: "offset", description: "where the page starts: take it from the previous page's `next`", schema: { type: "integer", minimum: 0, default: 0 }, example: 0 },
];

function integerParam(url: URL, name: string, fallback: number, min: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null) return fallback;
  const value = /^\d{1,10}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(value >= min && value <= max)) throw new ValidationError({ [name]: `must be an integer from ${min} to ${max}` });
  return value;
}

/** `?size=&offset=` → a page of `kind`, as `{data, next}`. */
function listPage<K extends Kind>(store: Store, kind: K, url: URL, parent?: Parent): Response {
  const size = integerParam(url, "size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE);
  const offset = integerParam(url, "offset", 0, 0, Number.MAX_SAFE_INTEGER);
  const page = store.list(kind, { size, offset, parent });
  const next = page.nextOffset === null ? null : `${url.pathname}?size=${size}&offset=${page.nextOffset}`;
  return json(200, { data: page.data.map((entity) => present(kind, entity)), next });
}

function booleanParam(url: URL, name: string): boolean {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === "false") return false;
  if (raw === "true" || raw === "") return true;
  throw new ValidationError({ [name]: "must be true or false" });
}

export type CrudMethod = "list" | "create" | "get" | "update" | "upsert" | "delete";

export interface EntityEndpoints<K extends Kind> {
  kind: K;
  tag: string;
  /** "consumer" / "consumers": used in summaries. */
  noun: string;
  nouns: string;
  /** "Consumer" / "Consumers": used in operation ids, e.g. `listConsumers`. */
  stem: string;
  stems: string;
  collection: string;
  item?: string;
  /** The entity the collection hangs off (e.g. `/consumers/:consumer/jwt`). */
  parent?: { kind: Parent["kind"]; param: string };
  /** The item segment is an id only (no endpoint key), as on `/plugins/{id}`. */
  idOnly?: boolean;
  methods: CrudMethod[];
  schemas: { input: string; update: string; output: string; inputSchema: TSchema };
  examples: { create?: Example[]; upsert?: Example[]; update?: Example[] };
  /** Form-field coercion beyond the input schema (plugin configs). */
  fromForm?: (fields: Record<string, unknown>, params: Record<string, string>) => unknown;
  deleteQuery?: QueryParameter[];
  deleteErrors?: number[];
  deleteDescription?: string;
}

export function entityOperations<K extends Kind>(store: Store, spec: EntityEndpoints<K>): Operation[] {
  const { kind, collection, item } = spec;
  const parentOf = (params: Record<string, string>): Parent | undefined =>
    spec.parent ? { kind: spec.parent.kind, id: store.get(spec.parent.kind, params[spec.parent.param]!).id } : undefined;
  const itemKey = (params: Record<string, string>): string => (spec.idOnly ? idOnly(spec.noun, params[itemParam]!) : params[itemParam]!);
  const itemParam = item ? item.slice(item.lastIndexOf(":") + 1) : "";
  const fromForm = (fields: Record<string, unknown>, params: Record<string, string>) =>
    spec.fromForm ? spec.fromForm(fields, params) : coerceToSchema(spec.schemas.inputSchema, fields);
  const entityBody = (schema: string, examples: Example[] = []) => ({ kind: "entity" as const, schema, examples, fromForm });
  const output = ref(spec.schemas.output);
  const scope = spec.parent ? ` of the ${spec.parent.kind.slice(0, -1)}` : "";
  const operations: Operation[] = [];
  const add = (method: CrudMethod, operation: Omit<Operation, "tag">) => {
    if (spec.methods.includes(method)) operations.push({ tag: spec.tag, ...operation });
  };

  add("list", {
    method: "GET",
    path: collection,
    operationId: `list${spec.stems}`,
    summary: `List ${spec.nouns}${scope}`,
    query: PAGE_QUERY,
    responses: { 200: { description: `a page of ${spec.nouns}`, schema: listSchema(spec.schemas.output) } },
    handle: ({ url, params }) => listPage(store, kind, url, parentOf(params)),
  });
  add("create", {
    method: "POST",
    path: collection,
    operationId: `create${spec.stem}`,
    summary: `Create a ${spec.noun}${scope}`,
    write: true,
    body: entityBody(spec.schemas.input, spec.examples.create),
    responses: { 201: { description: `the ${spec.noun} as stored, generated fields included`, schema: output } },
    errors: [409],
    handle: ({ params, body }) => json(201, present(kind, store.create(kind, body, parentOf(params)))),
  });
  if (!item) return operations;
  add("get", {
    method: "GET",
    path: item,
    operationId: `get${spec.stem}`,
    summary: `Get a ${spec.noun}${scope}`,
    responses: { 200: { description: `the ${spec.noun}`, schema: output } },
    handle: ({ params }) => json(200, present(kind, store.get(kind, itemKey(params), parentOf(params)))),
  });
  add("update", {
    method: "PATCH",
    path: item,
    operationId: `update${spec.stem}`,
    summary: `Change fields of a ${spec.noun}${scope}`,
    description: "Fields not given keep their values.",
    write: true,
    body: entityBody(spec.schemas.update, spec.examples.update),
    responses: { 200: { description: `the ${spec.noun} after the change`, schema: output } },
    errors: [409],
    handle: ({ params, body }) => json(200, present(kind, store.update(kind, itemKey(params), body, parentOf(params)))),
  });
  add("upsert", {
    method: "PUT",
    path: item,
    operationId: `upsert${spec.stem}`,
    summary: `Create or replace a ${spec.noun}${scope}`,
    description: spec.idOnly
      ? "Replaces the entity with this id (fields not given take their defaults), or creates it with this id."
      : "Replaces the entity (fields not given take their defaults), or creates it. A name or key in the URL that is not a UUID becomes the new entity's name or key.",
    write: true,
    body: entityBody(spec.schemas.update, spec.examples.upsert),
    responses: {
      200: { description: `the ${spec.noun} was replaced`, schema: output },
      201: { description: `the ${spec.noun} was created`, schema: output },
    },
    errors: [409],
    handle: ({ params, body }) => {
      const key = params[itemParam]!;
      if (spec.idOnly && !UUID.test(key)) throw new ValidationError({ id: `${quote(key)} is not a UUID` });
      const { entity, created } = store.upsert(kind, key, body, parentOf(params));
      return json(created ? 201 : 200, present(kind, entity));
    },
  });
  add("delete", {
    method: "DELETE",
    path: item,
    operationId: `delete${spec.stem}`,
    summary: `Delete a ${spec.noun}${scope}`,
    description: spec.deleteDescription ?? "Deleting an entity that does not exist is a 404, not Kong's silent 204, so a typo does not pass for success.",
    write: true,
    query: spec.deleteQuery,
    responses: { 204: { description: "deleted" } },
    errors: spec.deleteErrors,
    handle: ({ params, url }) => {
      const cascade = spec.deleteQuery?.some((query) => query.name === "cascade") ? booleanParam(url, "cascade") : false;
      store.delete(kind, itemKey(params), { parent: parentOf(params), cascade });
      return noContent();
    },
  });
  return operations;
}
