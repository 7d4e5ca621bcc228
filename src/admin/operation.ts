// One admin endpoint as data: how it is routed, what it reads, how it answers, and the words and
// examples its OpenAPI entry is built from. Route files return lists of these; server.ts mounts
// them, openapi.ts documents them, so the docs cannot drift from what is served.
import type { TSchema } from "@sinclair/typebox";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface OperationInput {
  request: Request;
  url: URL;
  params: Record<string, string>;
  /** The parsed entity (JSON shape), or the configuration text for a `config` body. */
  body: unknown;
}

export interface Example {
  summary: string;
  value: unknown;
}

export type BodySpec =
  | {
      kind: "entity";
      /** Component schema name (`#/components/schemas/<schema>`). */
      schema: string;
      examples: Example[];
      /** Turns form fields (all strings) into the JSON shape the store validates. */
      fromForm(fields: Record<string, unknown>, params: Record<string, string>): unknown;
    }
  | { kind: "config"; examples: Example[] };

export interface QueryParameter {
  name: string;
  description: string;
  schema: Record<string, unknown> | TSchema;
  example?: unknown;
}

export interface ResponseDoc {
  description: string;
  /** JSON schema of the body; absent for an empty body. */
  schema?: Record<string, unknown> | TSchema;
  /** Media type of the body (JSON unless said). */
  mediaType?: string;
  example?: unknown;
  headers?: Record<string, { description: string; schema: Record<string, unknown> }>;
}

export interface Operation {
  method: HttpMethod;
  /** Elysia path, `:param` for path parameters. */
  path: string;
  operationId: string;
  tag: string;
  summary: string;
  description?: string;
  /** Changes entities: refused (405) when the gateway runs from a declarative file. */
  write?: boolean;
  query?: QueryParameter[];
  body?: BodySpec;
  /** Success responses by status. */
  responses: Record<number, ResponseDoc>;
  /** Description and example of each path parameter (from the entity definitions). */
  parameters?: Record<string, { description: string; example: string }>;
  /** Error statuses beyond those every operation of its shape can return (see openapi.ts). */
  errors?: number[];
  handle(input: OperationInput): Response | Promise<Response>;
}

/** Path parameters of an Elysia path, in order. */
export function pathParams(path: string): string[] {
  return path
    .split("/")
    .filter((segment) => segment.startsWith(":"))
    .map((segment) => segment.slice(1));
}
