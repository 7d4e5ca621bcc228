// The request-transformer plugin's config: Kong 3.x's shape. Headers and body fields: all five
// operations. Query string: `remove` only (the proxy forwards the client's query minus dropped
// parameters); `rename`/`replace`/`add`/`append` of the query, `uri` and `http_method` are
// refused on write, naming the field, rather than accepted and ignored.
import type { Static } from "@sinclair/typebox";
import { t } from "../../src/entities/t.ts";
import type { FieldErrors } from "../../src/errors.ts";
import { Names, OPERATIONS, Pairs, checkHeaderItems, reservedRequestHeader, splitPair } from "../../src/pipeline/header-operations.ts";

const section = (names: boolean, withUri = false) =>
  t.Optional(
    t.Object(
      {
        headers: names ? Names("header names") : Pairs("`name:value` items"),
        querystring: names ? Names("query parameter names") : Pairs("`name:value` items"),
        body: names ? Names("fields of a JSON, urlencoded or multipart body (up to 1 MiB)") : Pairs("`name:value` items for a JSON, urlencoded or multipart body (up to 1 MiB); values are strings"),
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

/** A name written into a multipart part's header must not end it or its quoted string. */
const NOT_A_FIELD_NAME = /["\x00-\x1f\x7f]/;
const UNSUPPORTED_QUERY = "not supported: the gateway forwards the client's query string (only remove.querystring can change it)";

/** Refuses body items whose field name (the new one too, for rename) could not go into a multipart part's header. */
function checkBodyItems(operation: (typeof OPERATIONS)[number], items: string[], fields: FieldErrors): void {
  items.forEach((item, i) => {
    const names = operation === "remove" ? [item] : operation === "rename" ? splitPair(item) : [splitPair(item)[0]];
    const bad = names.find((name) => NOT_A_FIELD_NAME.test(name));
    if (bad !== undefined) fields[`${operation}.body[${i}]`] = `'${bad}' cannot be a body field name: it holds a quote or a control character`;
  });
}

export function checkRequestTransformerConfig(config: RequestTransformerConfig): FieldErrors | undefined {
  const fields: FieldErrors = {};
  checkHeaderItems(config, reservedRequestHeader, fields);
  for (const operation of OPERATIONS) {
    const section = config[operation] as { querystring?: string[]; body?: string[]; uri?: string | null } | undefined;
    checkBodyItems(operation, section?.body ?? [], fields);
    if (operation !== "remove" && section?.querystring?.length) fields[`${operation}.querystring`] = UNSUPPORTED_QUERY;
    if (section?.uri) fields[`${operation}.uri`] = "not supported: the upstream path comes from the route and service";
  }
  if (config.http_method) fields.http_method = "not supported: the upstream gets the client's method";
  return Object.keys(fields).length ? fields : undefined;
}
