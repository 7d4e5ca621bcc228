// Kong-shaped CRUD for one entity kind at one place in the URL tree: list and create on the
// collection, read, PATCH, PUT and DELETE on an item by id or endpoint key. Validation,
// references and uniqueness are the store's; this file maps them onto HTTP.
import { type SQL, and, or, sql } from "drizzle-orm";
import { NotFoundError, ValidationError } from "../errors.ts";
import type { Kind, Parent, Store } from "../db/store.ts";
import type { AdminCollection, CrudMethod, EntityDefinition } from "../entities/definition.ts";
import { entityNamed } from "../entities/index.ts";
import { quote } from "../entities/quote.ts";
import { type Example, type Operation, type QueryParameter } from "./operation.ts";
import { coerceToSchema } from "./body.ts";
import { json, noContent } from "./http.ts";
import { listSchema, ref } from "./openapi.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

/** The one place entities leave the API: private fields (a key's private half) are dropped here. */
export function present(entity: EntityDefinition, record: unknown): unknown {
  return entity.present(record);
}

/** For paths that take an id only: anything else names nothing. */
export function idOnly(noun: string, key: string): string {
  if (!UUID.test(key)) throw new NotFoundError(`${noun} ${quote(key)} not found (address it by id)`);
  return key;
}

const PAGE_QUERY: QueryParameter[] = [
  {
    name: "tags",
    description: "only entities with these tags, as Kong: `a,b` has both, `a/b` either (at most 5; not both separators)",
    schema: { type: "string" },
    example: "team-a,prod",
  },
  { name: "size", description: `page size, 1 to ${MAX_PAGE_SIZE}`, schema: { type: "integer", minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE }, example: 100 },
  { name: "offset", description: "where the page starts: take it from the previous page's `next`", schema: { type: "integer", minimum: 0, default: 0 }, example: 0 },
];

export function integerParam(url: URL, name: string, fallback: number, min: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null) return fallback;
  const value = /^\d{1,10}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(value >= min && value <= max)) throw new ValidationError({ [name]: `must be an integer from ${min} to ${max}` });
  return value;
}

const MAX_FILTER_TAGS = 5;

/** Kong's `?tags=`: `a,b` all of them, `a/b` any of them; null without the parameter. */
function tagsFilter(url: URL): SQL | null {
  const raw = url.searchParams.get("tags");
  if (raw === null) return null;
  if (raw.includes(",") && raw.includes("/")) throw new ValidationError({ tags: "use ',' (all of the tags) or '/' (any of them), not both" });
  const any = raw.includes("/");
  const tags = raw.split(any ? "/" : ",");
  if (tags.some((tag) => tag === "")) throw new ValidationError({ tags: "a tag must not be empty" });
  if (tags.length > MAX_FILTER_TAGS) throw new ValidationError({ tags: `at most ${MAX_FILTER_TAGS} tags` });
  const has = (tag: string) => sql`EXISTS (SELECT 1 FROM json_each(tags) WHERE json_each.value = ${tag})`;
  return any ? or(...tags.map(has))! : and(...tags.map(has))!;
}

/** `?size=&offset=&tags=` → a page of `kind`, as `{data, next}`. */
function listPage(store: Store, entity: EntityDefinition, url: URL, parent?: Parent): Response {
  const size = integerParam(url, "size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE);
  const offset = integerParam(url, "offset", 0, 0, Number.MAX_SAFE_INTEGER);
  const where = tagsFilter(url);
  const page = store.list(entity.name as Kind, { size, offset, parent, ...(where ? { where } : {}) });
  const tags = where ? `&tags=${encodeURIComponent(url.searchParams.get("tags")!)}` : "";
  const next = page.nextOffset === null ? null : `${url.pathname}?size=${size}&offset=${page.nextOffset}${tags}`;
  return json(200, { data: page.data.map((record) => entity.present(record)), next });
}

function booleanParam(url: URL, name: string): boolean {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === "false") return false;
  if (raw === "true" || raw === "") return true;
  throw new ValidationError({ [name]: "must be true or false" });
}

export interface EndpointOptions {
  /** Form-field coercion beyond the input schema (plugin configs). */
  fromForm?: (fields: Record<string, unknown>, params: Record<string, string>) => unknown;
  /** Examples that depend on what is installed (plugin instances), instead of the definition's. */
  examples?: AdminCollection["examples"];
}

/** The collection's Elysia paths, its parent, and the words of its operations. */
function endpointsOf(entities: readonly EntityDefinition[], entity: EntityDefinition, collection: AdminCollection) {
  const admin = entity.admin!;
  const parent = collection.under === undefined ? undefined : entityNamed(entities, collection.under);
  const parentParam = parent?.admin?.param.name;
  const path = parent ? `/${parent.name}/:${parentParam}/${collection.path}` : collection.path;
  return {
    admin,
    parent: parent ? { kind: parent.name as Kind, param: parentParam!, label: parent.label } : undefined,
    collection: path,
    item: collection.itemParam ? `${path}/:${collection.itemParam}` : undefined,
  };
}

/** How a path parameter is described and exemplified: the entity's name or, for idOnly paths, its id. */
export function parameterDocs(entities: readonly EntityDefinition[]): Record<string, { description: string; example: string }> {
  const docs: Record<string, { description: string; example: string }> = {};
  for (const entity of entities) {
    if (!entity.admin) continue;
    docs[entity.admin.param.name] = { description: entity.admin.param.description, example: entity.admin.param.example };
    for (const collection of entity.admin.collections) {
      if (collection.idOnly && collection.itemParam) docs[collection.itemParam] = { description: `id of the ${entity.admin.noun}`, example: String(entity.example.id) };
    }
  }
  return docs;
}

/** The operations with their path parameters described from the entity definitions. */
export function documented(entities: readonly EntityDefinition[], operations: Operation[]): Operation[] {
  const docs = parameterDocs(entities);
  return operations.map((operation) => ({ ...operation, parameters: { ...docs, ...operation.parameters } }));
}

/**
 * The operations of every collection an entity's admin section lists, and the `GET <item>/<field>`
 * link to what a reference points at.
 */
export function derivedOperations(store: Store, entity: EntityDefinition): Operation[] {
  const admin = entity.admin;
  if (!admin) return [];
  const operations = admin.collections.flatMap((collection) => entityOperations(store, entity, collection));
  for (const link of admin.referenceLinks ?? []) {
    const collection = admin.collections.find((c) => c.path === link.collection)!;
    const field = entity.fields[link.field]!;
    const target = entityNamed(store.entities, field.references!);
    const param = collection.itemParam!;
    operations.push({
      method: "GET",
      path: `${collection.path}/:${param}/${link.field}`,
      operationId: `get${collection.stem}${target.schemaName}`,
      tag: admin.tag,
      summary: link.summary,
      responses: { 200: { description: link.description, schema: ref(target.schemaName) } },
      handle: ({ params }) => {
        const key = collection.idOnly ? idOnly(admin.noun, params[param]!) : params[param]!;
        const record = store.get(entity.name as Kind, key) as unknown as Record<string, { id: string }>;
        return json(200, target.present(store.get(target.name as Kind, record[link.field]!.id)));
      },
    });
  }
  return documented(store.entities, operations);
}

/** The CRUD operations of one collection of an entity's admin section. */
export function entityOperations(store: Store, entity: EntityDefinition, collection: AdminCollection, options: EndpointOptions = {}): Operation[] {
  const { admin, parent, collection: collectionPath, item } = endpointsOf(store.entities, entity, collection);
  const kind = entity.name as Kind;
  const spec = { noun: admin.noun, nouns: admin.nouns, stem: collection.stem, stems: collection.stems, idOnly: collection.idOnly };
  const parentOf = (params: Record<string, string>): Parent | undefined =>
    parent ? { kind: parent.kind, id: store.get(parent.kind, params[parent.param]!).id } : undefined;
  const itemParam = collection.itemParam ?? "";
  const itemKey = (params: Record<string, string>): string => (spec.idOnly ? idOnly(spec.noun, params[itemParam]!) : params[itemParam]!);
  const fromForm = (fields: Record<string, unknown>, params: Record<string, string>) =>
    options.fromForm ? options.fromForm(fields, params) : coerceToSchema(entity.input, fields);
  const examples = options.examples ?? collection.examples;
  const entityBody = (schema: string, list: Example[] = []) => ({ kind: "entity" as const, schema, examples: list, fromForm });
  const output = ref(entity.schemaName);
  const scope = parent ? ` of the ${parent.label}` : "";
  const cascade = parent === undefined ? admin.delete?.cascade : undefined;
  const deleteQuery: QueryParameter[] | undefined = cascade ? [{ name: "cascade", description: cascade, schema: { type: "boolean", default: false }, example: false }] : undefined;
  const operations: Operation[] = [];
  const add = (method: CrudMethod, operation: Omit<Operation, "tag">) => {
    if (collection.methods.includes(method)) operations.push({ tag: admin.tag, ...operation });
  };
  add("list", {
    method: "GET",
    path: collectionPath,
    operationId: `list${spec.stems}`,
    summary: `List ${spec.nouns}${scope}`,
    query: PAGE_QUERY,
    responses: { 200: { description: `a page of ${spec.nouns}`, schema: listSchema(entity.schemaName) } },
    handle: ({ url, params }) => listPage(store, entity, url, parentOf(params)),
  });
  add("create", {
    method: "POST",
    path: collectionPath,
    operationId: `create${spec.stem}`,
    summary: `Create a ${spec.noun}${scope}`,
    write: true,
    body: entityBody(`${entity.schemaName}Input`, examples.create),
    responses: { 201: { description: `the ${spec.noun} as stored, generated fields included`, schema: output } },
    errors: [409],
    handle: ({ params, body }) => json(201, entity.present(store.create(kind, body, parentOf(params)))),
  });
  if (!item) return operations;
  add("get", {
    method: "GET",
    path: item,
    operationId: `get${spec.stem}`,
    summary: `Get a ${spec.noun}${scope}`,
    responses: { 200: { description: `the ${spec.noun}`, schema: output } },
    handle: ({ params }) => json(200, entity.present(store.get(kind, itemKey(params), parentOf(params)))),
  });
  add("update", {
    method: "PATCH",
    path: item,
    operationId: `update${spec.stem}`,
    summary: `Change fields of a ${spec.noun}${scope}`,
    description: "Fields not given keep their values.",
    write: true,
    body: entityBody(`${entity.schemaName}Update`, examples.update),
    responses: { 200: { description: `the ${spec.noun} after the change`, schema: output } },
    errors: [409],
    handle: ({ params, body }) => json(200, entity.present(store.update(kind, itemKey(params), body, parentOf(params)))),
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
    body: entityBody(`${entity.schemaName}Update`, examples.upsert),
    responses: {
      200: { description: `the ${spec.noun} was replaced`, schema: output },
      201: { description: `the ${spec.noun} was created`, schema: output },
    },
    errors: [409],
    handle: ({ params, body }) => {
      const key = params[itemParam]!;
      if (spec.idOnly && !UUID.test(key)) throw new ValidationError({ id: `${quote(key)} is not a UUID` });
      const { entity: record, created } = store.upsert(kind, key, body, parentOf(params));
      return json(created ? 201 : 200, entity.present(record));
    },
  });
  add("delete", {
    method: "DELETE",
    path: item,
    operationId: `delete${spec.stem}`,
    summary: `Delete a ${spec.noun}${scope}`,
    description: admin.delete?.description ?? "Deleting an entity that does not exist is a 404, not Kong's silent 204, so a typo does not pass for success.",
    write: true,
    query: deleteQuery,
    responses: { 204: { description: "deleted" } },
    errors: deleteQuery ? [409] : undefined,
    handle: ({ params, url }) => {
      store.delete(kind, itemKey(params), { parent: parentOf(params), cascade: deleteQuery ? booleanParam(url, "cascade") : false });
      return noContent();
    },
  });
  return operations;
}
