// Every schema that validates input (entity models, plugin configs) must be strict about types:
// Elysia's `t.Integer` would accept numeric strings, so models use src/model/t.ts instead.
import { expect, test } from "bun:test";
import type { TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import * as acl from "../src/model/acl.ts";
import * as consumer from "../src/model/consumer.ts";
import * as jwt from "../src/model/jwt-credential.ts";
import * as key from "../src/model/key.ts";
import * as plugin from "../src/model/plugin.ts";
import * as route from "../src/model/route.ts";
import * as service from "../src/model/service.ts";
import { builtinPlugins } from "../plugins/index.ts";

function lenientIntegers(schema: unknown, path: string, found: string[]): void {
  if (typeof schema !== "object" || schema === null) return;
  const node = schema as Record<string, unknown>;
  if (node.type === "string" && node.format === "integer") found.push(path);
  for (const [key, value] of Object.entries(node)) lenientIntegers(value, `${path}/${key}`, found);
}

const schemas: [string, TSchema][] = [
  ...Object.entries({ ...acl, ...consumer, ...jwt, ...key, ...plugin, ...route, ...service })
    .filter(([, value]) => typeof value === "object" && value !== null && "type" in value || (typeof value === "object" && value !== null && "anyOf" in value))
    .map(([name, value]) => [name, value as TSchema] as [string, TSchema]),
  ...[...builtinPlugins.values()].map((definition) => [`plugin ${definition.name}`, definition.configSchema] as [string, TSchema]),
];

test("no input schema accepts a numeric string where an integer is expected", () => {
  const found: string[] = [];
  for (const [name, schema] of schemas) lenientIntegers(schema, name, found);
  expect(found).toEqual([]);
});

test("a numeric string for an integer field is a validation error", () => {
  expect(Value.Check(service.ServiceInput, { host: "h", port: "8080" })).toBe(false);
  expect(Value.Check(service.ServiceInput, { host: "h", port: 8080 })).toBe(true);
});
