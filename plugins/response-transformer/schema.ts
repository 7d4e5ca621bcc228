// The response-transformer plugin's config: Kong 3.x's shape (`headers` and `json`, with
// `json_types` for replace/add/append). JSON operations apply to top-level keys.
import type { Static } from "@sinclair/typebox";
import { t } from "../../src/entities/t.ts";
import type { FieldErrors } from "../../src/errors.ts";
import { Names, OPERATIONS, Pairs, checkHeaderItems, reservedResponseHeader } from "../../src/pipeline/header-operations.ts";

const JsonType = t.Union([t.Literal("string"), t.Literal("boolean"), t.Literal("number")]);
const section = (names: boolean, types: boolean) =>
  t.Optional(
    t.Object(
      {
        headers: names ? Names("header names") : Pairs("`name:value` items"),
        json: names ? Names("top-level keys of a JSON object body") : Pairs("`key:value` items for a JSON object body"),
        ...(types ? { json_types: t.Optional(t.Array(JsonType, { default: [], description: "the type of each `json` value, by position (default string)" })) } : {}),
      },
      { additionalProperties: false, default: {} },
    ),
  );

export const ResponseTransformerConfigSchema = t.Object(
  {
    remove: section(true, false),
    rename: section(false, false),
    replace: section(false, true),
    add: section(false, true),
    append: section(false, true),
  },
  { additionalProperties: false, examples: [{ remove: { headers: ["Server"], json: ["internal_id"] }, add: { headers: ["X-Served-By:gateway"], json: ["source:gateway"] } }] },
);

export type ResponseTransformerConfig = Required<Static<typeof ResponseTransformerConfigSchema>>;

export function checkResponseTransformerConfig(config: ResponseTransformerConfig): FieldErrors | undefined {
  const fields: FieldErrors = {};
  checkHeaderItems(config, reservedResponseHeader, fields);
  for (const operation of OPERATIONS) {
    if (operation === "remove") continue;
    (config[operation]?.json ?? []).forEach((item, i) => {
      if (!item.includes(":")) fields[`${operation}.json[${i}]`] = `expected '<key>:<${operation === "rename" ? "new key" : "value"}>'`;
    });
  }
  return Object.keys(fields).length ? fields : undefined;
}
