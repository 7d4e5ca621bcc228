// The OpenAPI 3.1 document of the admin API, served by @elysiajs/swagger at /docs/json. Entity
// schemas are the entity definitions' TypeBox schemas themselves (3.1 takes JSON Schema as is); each operation's
// entry is built from its Operation, error responses from the one table below.
import { swagger } from "@elysiajs/swagger";
import type { EntityDefinition } from "../entities/definition.ts";
import { coreEntities, entityList } from "../entities/index.ts";
import type { PluginRegistry } from "../pipeline/registry.ts";
import { type Operation, pathParams } from "./operation.ts";
import { CONFIG_BODY_LIMIT, ENTITY_BODY_LIMIT } from "./body.ts";

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

export function listSchema(name: string): Record<string, unknown> {
  return {
    type: "object",
    required: ["data", "next"],
    properties: {
      data: { type: "array", items: ref(name) },
      next: { type: ["string", "null"], description: "URL of the next page; null on the last page", examples: ["/consumers?size=100&offset=100"] },
    },
  };
}

/** Plugin config schemas are published under this name. */
export const pluginConfigSchemaName = (plugin: string) => `PluginConfig-${plugin.replace(/[^A-Za-z0-9._-]/g, "_")}`;

/** Each entity's input, update (PATCH and PUT bodies) and output schema, the output with its example. */
function entitySchemas(entities: readonly EntityDefinition[]): Record<string, unknown> {
  const schemas: Record<string, unknown> = {};
  for (const entity of entities) {
    if (!entity.admin) continue;
    schemas[`${entity.schemaName}Input`] = entity.admin.inputDescription ? { ...entity.input, description: entity.admin.inputDescription } : entity.input;
    schemas[`${entity.schemaName}Update`] = entity.update;
    schemas[entity.schemaName] = { ...entity.output, examples: [entity.example] };
  }
  return schemas;
}

function componentSchemas(registry: PluginRegistry, entities: readonly EntityDefinition[]): Record<string, unknown> {
  const schemas: Record<string, unknown> = {
    ...entitySchemas(entities),
    Status: {
      type: "object",
      required: ["status", "reasons", "config_version", "database"],
      properties: {
        status: { type: "string", enum: ["ok", "unavailable"] },
        reasons: { type: "array", items: { type: "string" }, description: "why the node is unavailable; empty when it is ok" },
        config_version: { type: "integer" },
        database: { type: "object", properties: { reachable: { type: "boolean" } } },
        config_digest: { type: "string", description: "with --workers N: fingerprint of the configuration the supervisor holds; a worker serving the same one reports the same" },
        workers: {
          type: "array",
          description: "with --workers N: each proxy worker process (unavailable only when none is running)",
          items: {
            type: "object",
            properties: {
              id: { type: "integer" },
              pid: { type: ["integer", "null"] },
              state: { type: "string", enum: ["starting", "running", "restarting", "stopping", "stopped"] },
              started_at: { type: ["integer", "null"], description: "epoch seconds the current process became ready" },
              restarts: { type: "integer" },
              last_exit: { type: ["string", "null"], description: "how the previous process ended, e.g. killed by SIGKILL" },
              config_version: { type: ["integer", "null"], description: "the worker's own counter" },
              config_digest: { type: ["string", "null"] },
              in_flight: { type: ["integer", "null"] },
              rss_bytes: { type: ["integer", "null"] },
            },
          },
        },
      },
    },
    Error: {
      type: "object",
      required: ["message"],
      properties: {
        message: { type: "string", description: "what went wrong, in one line" },
        fields: { type: "object", additionalProperties: { type: "string" }, description: "each bad field (dotted path) and why it is bad" },
      },
    },
  };
  for (const definition of registry.values()) schemas[pluginConfigSchemaName(definition.name)] = definition.configSchema;
  return schemas;
}

interface ErrorDoc {
  name: string;
  description: string;
  example: { message: string; fields?: Record<string, string> };
}

const ERRORS: Record<number, ErrorDoc> = {
  400: {
    name: "BadRequest",
    description: "The request breaks the schema (each bad field is named), refers to an entity that does not exist, or its body is not valid JSON. Nothing was changed.",
    example: { message: "schema violation (nickname: unknown field)", fields: { nickname: "unknown field" } },
  },
  401: { name: "Unauthorized", description: "An admin token is configured and the request did not carry it as `Authorization: Bearer <token>`.", example: { message: "Unauthorized: send the admin token as 'Authorization: Bearer <token>'" } },
  404: { name: "NotFound", description: "No such entity (or parent entity), or no such path.", example: { message: "consumer 'reporting-app' not found" } },
  405: {
    name: "MethodNotAllowed",
    description: "The gateway runs from a declarative file: entity writes go through POST /config. (Also: a method the path does not have, with an Allow header.)",
    example: { message: "the gateway runs from a declarative configuration file: the admin API is read-only; send the whole configuration to POST /config" },
  },
  409: { name: "Conflict", description: "A uniqueness rule would be broken, or the entity is still in use (a service with routes).", example: { message: "UNIQUE violation detected on '{username=\"reporting-app\"}'", fields: { username: "already exists" } } },
  413: { name: "PayloadTooLarge", description: `The body is larger than ${ENTITY_BODY_LIMIT} bytes (${CONFIG_BODY_LIMIT} for POST /config).`, example: { message: `request body is larger than ${ENTITY_BODY_LIMIT} bytes` } },
  415: { name: "UnsupportedMediaType", description: "The Content-Type is not one the operation reads.", example: { message: "unsupported Content-Type 'text/csv': send application/json, application/x-www-form-urlencoded or multipart/form-data" } },
};

/** Path parameters no entity definition describes. */
const PATH_PARAMETERS: Record<string, string> = {
  name: "name of an installed plugin",
};

const FORM_NOTE =
  "Also accepted as `application/x-www-form-urlencoded` or `multipart/form-data` with Kong's field names: " +
  "`paths[]=/a` or repeated `paths=/a` for arrays, dots for nesting (`service.id=...`, `config.claims_to_verify=exp`); " +
  "numbers and booleans are read as the schema says.";

function errorStatuses(operation: Operation): number[] {
  const statuses = new Set([401, ...(operation.errors ?? [])]);
  if (operation.body || operation.query?.length) statuses.add(400);
  if (pathParams(operation.path).length) statuses.add(404);
  if (operation.write) statuses.add(405);
  if (operation.body) {
    statuses.add(413);
    statuses.add(415);
  }
  return [...statuses].sort((a, b) => a - b);
}

function requestBody(operation: Operation): Record<string, unknown> | undefined {
  const body = operation.body;
  if (!body) return undefined;
  const examples = body.examples.length ? { examples: Object.fromEntries(body.examples.map((example, i) => [`example${i + 1}`, example])) } : {};
  if (body.kind === "config") {
    return {
      required: true,
      description: "A whole declarative configuration (Kong's kong.yml format, YAML or JSON), or a form whose `config` field holds it (`curl -F config=@kong.yml`).",
      content: {
        "application/yaml": { schema: { type: "string" }, ...examples },
        "application/json": { schema: { type: "object", required: ["_format_version"], properties: { _format_version: { type: "string", enum: ["1.1", "2.1", "3.0"] } } } },
        "multipart/form-data": { schema: { type: "object", required: ["config"], properties: { config: { type: "string", format: "binary" } } } },
      },
    };
  }
  return { required: true, description: FORM_NOTE, content: { "application/json": { schema: ref(body.schema), ...examples } } };
}

/** The OpenAPI operation object of one endpoint (the route's `detail`). */
export function operationDetail(operation: Operation, parameterExamples: Record<string, string>): Record<string, unknown> {
  const parameters = [
    ...pathParams(operation.path).map((name) => ({
      name,
      in: "path",
      required: true,
      description: operation.parameters?.[name]?.description ?? PATH_PARAMETERS[name] ?? name,
      schema: { type: "string" },
      example: parameterExamples[name] ?? operation.parameters?.[name]?.example,
    })),
    ...(operation.query ?? []).map((query) => ({ name: query.name, in: "query", required: false, description: query.description, schema: query.schema, example: query.example })),
  ];
  const responses: Record<string, unknown> = {};
  for (const [status, doc] of Object.entries(operation.responses)) {
    responses[status] = {
      description: doc.description,
      ...(doc.headers ? { headers: doc.headers } : {}),
      ...(doc.schema ? { content: { [doc.mediaType ?? "application/json"]: { schema: doc.schema, ...(doc.example !== undefined ? { example: doc.example } : {}) } } } : {}),
    };
  }
  for (const status of errorStatuses(operation)) responses[status] = { $ref: `#/components/responses/${ERRORS[status]!.name}` };
  const body = requestBody(operation);
  return {
    operationId: operation.operationId,
    tags: [operation.tag],
    summary: operation.summary,
    ...(operation.description ? { description: operation.description } : {}),
    parameters,
    ...(body ? { requestBody: body } : {}),
    responses,
  };
}

function tags(entities: readonly EntityDefinition[]) {
  return [
    { name: "node", description: "Node information, health and metrics" },
    // Entities may share a tag (targets are listed under upstreams): each tag once.
    ...entities.flatMap((entity, i) => (entity.admin && entities.findIndex((other) => other.admin?.tag === entity.admin!.tag) === i ? [{ name: entity.admin.tag, description: entity.admin.tagDescription }] : [])),
    { name: "tags", description: "Kong's tag listing: which entities carry which tags" },
    { name: "config", description: "The whole configuration as one declarative document" },
  ];
}

const CONVENTIONS = `Kong-shaped admin API of the gateway.

- Entities are addressed by id or by their name (\`username\`, \`key\`, \`group\`, \`kid\`). References in bodies: \`{"service": {"id": ...}}\`, \`{"service": {"name": ...}}\`, \`{"consumer": {"username": ...}}\` or a bare string.
- POST creates (201). PUT replaces (200) or creates (201). PATCH changes the given fields (200). DELETE answers 204, and 404 when there is nothing to delete.
- Lists take \`?size=\` (1-1000, default 100), \`?offset=\` and Kong's \`?tags=\` (\`a,b\` both, \`a/b\` either) and answer \`{"data": [...], "next": "<url>" | null}\`.
- Errors are JSON \`{"message": ..., "fields": {...}}\`; a rejected request changes nothing. An unknown path is a 404, a method the path does not have a 405.
- Bodies are JSON; Kong's form-encoded bodies work too (\`curl -d username=x\`). Bodies over ${ENTITY_BODY_LIMIT} bytes are refused with 413.
- With an admin token configured, every request except this documentation needs \`Authorization: Bearer <token>\` (use "Authorize").
- When the gateway runs from a declarative file, entity writes answer 405: POST /config replaces the whole configuration.`;

/** @elysiajs/swagger serving the document at /docs/json (its CDN-based UI page is replaced by ours). */
export function openApiPlugin(registry: PluginRegistry, version: string, entities: readonly EntityDefinition[] = entityList(coreEntities, registry.values())) {
  const responses = Object.fromEntries(
    Object.values(ERRORS).map((error) => [error.name, { description: error.description, content: { "application/json": { schema: ref("Error"), example: error.example } } }]),
  );
  return swagger({
    path: "/docs",
    specPath: "/docs/json",
    provider: "swagger-ui",
    documentation: {
      openapi: "3.1.0",
      info: { title: "gateway admin API", version, description: CONVENTIONS },
      tags: tags(entities),
      security: [{ adminToken: [] }],
      components: {
        schemas: componentSchemas(registry, entities),
        responses,
        securitySchemes: { adminToken: { type: "http", scheme: "bearer", description: "the gateway's admin token (--admin-token / GATEWAY_ADMIN_TOKEN)" } },
      },
    } as never,
  });
}
