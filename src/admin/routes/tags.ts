// Kong's /tags: every tag of every entity (`GET /tags`), and the entities that carry one tag
// (`GET /tags/{tag}`), as `{entity_name, entity_id, tag}` rows in entity order. Read from the
// stored state: tags are not on any request path.
import { type StateData, rowsOf } from "../../state/data.ts";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, integerParam } from "../crud.ts";
import type { AdminDeps } from "../deps.ts";
import { json } from "../http.ts";
import type { Operation, QueryParameter } from "../operation.ts";

interface TagRow {
  entity_name: string;
  entity_id: string;
  tag: string;
}

const ROW = {
  type: "object",
  required: ["entity_name", "entity_id", "tag"],
  properties: { entity_name: { type: "string", example: "services" }, entity_id: { type: "string", format: "uuid" }, tag: { type: "string", example: "team-a" } },
};
const PAGE = { type: "object", required: ["data", "next"], properties: { data: { type: "array", items: ROW }, next: { type: ["string", "null"] } } };
const QUERY: QueryParameter[] = [
  { name: "size", description: `page size, 1 to ${MAX_PAGE_SIZE}`, schema: { type: "integer", minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE }, example: 100 },
  { name: "offset", description: "where the page starts: take it from the previous page's `next`", schema: { type: "integer", minimum: 0, default: 0 }, example: 0 },
];

function tagRows(deps: AdminDeps, state: StateData, only?: string): TagRow[] {
  const rows: TagRow[] = [];
  for (const entity of deps.store.entities) {
    for (const record of rowsOf(state, entity.name)) {
      for (const tag of (record.tags as string[] | undefined) ?? []) if (only === undefined || tag === only) rows.push({ entity_name: entity.name, entity_id: record.id as string, tag });
    }
  }
  return rows;
}

function page(url: URL, rows: TagRow[]): Response {
  const size = integerParam(url, "size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE);
  const offset = integerParam(url, "offset", 0, 0, Number.MAX_SAFE_INTEGER);
  const more = rows.length > offset + size;
  return json(200, { data: rows.slice(offset, offset + size), next: more ? `${url.pathname}?size=${size}&offset=${offset + size}` : null });
}

export function tagOperations(deps: AdminDeps): Operation[] {
  return [
    {
      method: "GET",
      path: "/tags",
      operationId: "listTags",
      tag: "tags",
      summary: "Every tag of every entity",
      query: QUERY,
      responses: { 200: { description: "one row per entity and tag", schema: PAGE } },
      handle: ({ url }) => page(url, tagRows(deps, deps.store.loadStored())),
    },
    {
      method: "GET",
      path: "/tags/:tag",
      operationId: "listTaggedEntities",
      tag: "tags",
      summary: "The entities that carry a tag",
      query: QUERY,
      parameters: { tag: { description: "the tag", example: "team-a" } },
      responses: { 200: { description: "one row per entity with the tag", schema: PAGE } },
      handle: ({ url, params }) => page(url, tagRows(deps, deps.store.loadStored(), params.tag)),
    },
  ];
}
