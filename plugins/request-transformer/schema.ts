// The request-transformer plugin's config: Kong 3.x's shape. Headers: all five operations.
// Query string: `remove` only (the proxy forwards the client's query minus dropped parameters);
// `rename`/`replace`/`add`/`append` of the query, any `body` operation, `uri` and `http_method`
// are refused on write, naming the field, rather than accepted and ignored.
import type { Static } from "@sinclair/typebox";
import { t } from "../../src/entities/t.ts";
import type { FieldErrors } from "../../src/errors.ts";
import { Names, OPERATIONS, Pairs, checkHeaderItems, reservedRequestHeader } from "../../src/pipeline/header-operations.ts";

const section = (names: boolean, withUri = false) =>
  t.Optional(
    t.Object(
      {
        headers: names ? Names("header names") : Pairs("`name:value` items"),
        querystring: names ? Names("query parameter names") : Pairs("`name:value` items"),
        body: names ? Names("body fields (not supported)") : Pairs("body fields (not supported)"),
        ...(withUri ? { uri: t.Optional(t.Union([t.String(), t.Null()], { default: null, description: "not supported" })) } : {}),
      },
      { additionalProperties: false, default: {} },
    ),
  );

export const RequestTransformerConfigSchema = t.Object(
  {
    http_method: t.Optional(t.Union([t.String({ pattern: "^[A-Z]+$" }), t.Null()], { default: null, description: "not supported (must be null)" })),
    remove: section(true),
    rename: section(false),
    replace: section(false, true),
    add: section(false),
    append: section(false),
  },
  { additionalProperties: false, examples: [{ add: { headers: ["X-Team:billing"] }, remove: { headers: ["X-Debug"], querystring: ["debug"] } }] },
);

export type RequestTransformerConfig = Required<Static<typeof RequestTransformerConfigSchema>>;

const UNSUPPORTED_BODY = "not supported: request bodies are streamed to the upstream, never buffered for plugins";
const UNSUPPORTED_QUERY = "not supported: the gateway forwards the client's query string (only remove.querystring can change it)";

export function checkRequestTransformerConfig(config: RequestTransformerConfig): FieldErrors | undefined {
  const fields: FieldErrors = {};
  checkHeaderItems(config, reservedRequestHeader, fields);
  for (const operation of OPERATIONS) {
    const section = config[operation] as { querystring?: string[]; body?: string[]; uri?: string | null } | undefined;
    if (section?.body?.length) fields[`${operation}.body`] = UNSUPPORTED_BODY;
    if (operation !== "remove" && section?.querystring?.length) fields[`${operation}.querystring`] = UNSUPPORTED_QUERY;
    if (section?.uri) fields[`${operation}.uri`] = "not supported: the upstream path comes from the route and service";
  }
  if (config.http_method) fields.http_method = "not supported: the upstream gets the client's method";
  return Object.keys(fields).length ? fields : undefined;
}
