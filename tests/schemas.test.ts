// Every schema that validates input (entity models, plugin configs) must be strict about types:
// Elysia's `t.Integer` would accept numeric strings, so entities use src/entities/t.ts instead.
import { expect, test } from "bun:test";
import type { TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { coreEntities, entityList } from "../src/entities/index.ts";
import { serviceEntity } from "../src/entities/service.ts";
import { builtinPlugins } from "../plugins/index.ts";

function lenientIntegers(schema: unknown, path: string, found: string[]): void {
  if (typeof schema !== "object" || schema === null) return;
  const node = schema as Record<string, unknown>;
  if (node.type === "string" && node.format === "integer") found.push(path);
  for (const [key, value] of Object.entries(node)) lenientIntegers(value, `${path}/${key}`, found);
}

const schemas: [string, TSchema][] = [
  ...entityList(coreEntities, builtinPlugins.values()).flatMap((entity) => [
    [`${entity.schemaName}Input`, entity.input],
    [`${entity.schemaName}Update`, entity.update],
    [entity.schemaName, entity.output],
  ] as [string, TSchema][]),
  ...[...builtinPlugins.values()].map((definition) => [`plugin ${definition.name}`, definition.configSchema] as [string, TSchema]),
];

test("no input schema accepts a numeric string where an integer is expected", () => {
  const found: string[] = [];
  for (const [name, schema] of schemas) lenientIntegers(schema, name, found);
  expect(found).toEqual([]);
});

test("a numeric string for an integer field is a validation error", () => {
  expect(Value.Check(serviceEntity.input, { host: "h", port: "8080" })).toBe(false);
  expect(Value.Check(serviceEntity.input, { host: "h", port: 8080 })).toBe(true);
});
