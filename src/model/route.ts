// Route: which requests go to which service. Paths are prefixes; a leading `~` makes a regex.
import type { Static } from "elysia";
import { t } from "./t.ts";
import { type FieldErrors, ValidationError } from "../errors.ts";
import { Generated, IdRef, InputMeta, Name, Ref, now, assertSchema } from "./common.ts";

const RoutePath = t.String({ minLength: 1, maxLength: 1024, pattern: "^[/~]", description: "prefix, or a regex after `~`" });
const RouteHost = t.String({ minLength: 1, maxLength: 256, pattern: "^(\\*\\.)?[A-Za-z0-9.-]+(:\\d+)?$|^[A-Za-z0-9.-]+\\.\\*$", description: "exact, `*.example.com` or `example.*`" });
const Method = t.String({ pattern: "^[A-Z]+$", maxLength: 32 });
const Protocols = t.Array(t.Union([t.Literal("http"), t.Literal("https")]), { minItems: 1, uniqueItems: true });

export const RouteInput = t.Object(
  {
    ...InputMeta,
    name: t.Optional(Name),
    service: t.Optional(Ref),
    paths: t.Optional(t.Union([t.Array(RoutePath, { maxItems: 256 }), t.Null()])),
    hosts: t.Optional(t.Union([t.Array(RouteHost, { maxItems: 256 }), t.Null()])),
    methods: t.Optional(t.Union([t.Array(Method, { maxItems: 16 }), t.Null()])),
    protocols: t.Optional(Protocols),
    strip_path: t.Optional(t.Boolean()),
    preserve_host: t.Optional(t.Boolean()),
    regex_priority: t.Optional(t.Integer({ minimum: -1000000, maximum: 1000000 })),
  },
  { additionalProperties: false, examples: [{ name: "orders-api", paths: ["/orders"], methods: ["GET", "POST"] }] },
);
export type RouteInput = Static<typeof RouteInput>;

export const Route = t.Object({
  ...Generated,
  name: t.Union([Name, t.Null()]),
  service: IdRef,
  paths: t.Union([t.Array(t.String()), t.Null()]),
  hosts: t.Union([t.Array(t.String()), t.Null()]),
  methods: t.Union([t.Array(t.String()), t.Null()]),
  protocols: Protocols,
  strip_path: t.Boolean(),
  preserve_host: t.Boolean(),
  regex_priority: t.Integer(),
});
export type Route = Static<typeof Route>;

function checkRegexPaths(paths: string[] | null, fields: FieldErrors): void {
  paths?.forEach((path, i) => {
    if (!path.startsWith("~")) return;
    try {
      new RegExp(path.slice(1));
    } catch (error) {
      fields[`paths[${i}]`] = `invalid regex: ${(error as Error).message}`;
    }
  });
}

/** Validates an input (PATCH: merged over `existing`) with its service reference already resolved. */
export function buildRoute(input: unknown, serviceId: string | undefined, existing?: Route): Route {
  assertSchema(RouteInput, input);
  const service = serviceId ?? existing?.service.id;
  const fields: FieldErrors = {};
  if (!service) fields.service = "required field missing";
  const pick = <K extends "paths" | "hosts" | "methods">(key: K) =>
    input[key] !== undefined ? (input[key]?.length ? input[key] : null) : (existing?.[key] ?? null);
  const paths = pick("paths");
  const hosts = pick("hosts");
  const methods = pick("methods");
  if (!paths && !hosts && !methods) fields["@entity"] = "at least one of paths, hosts or methods must be set";
  checkRegexPaths(paths, fields);
  if (Object.keys(fields).length) throw new ValidationError(fields);
  const time = now();
  return {
    id: existing?.id ?? input.id ?? crypto.randomUUID(),
    name: input.name ?? existing?.name ?? null,
    service: { id: service as string },
    paths,
    hosts: hosts?.map((host) => host.toLowerCase()) ?? null,
    methods,
    protocols: input.protocols ?? existing?.protocols ?? ["http", "https"],
    strip_path: input.strip_path ?? existing?.strip_path ?? true,
    preserve_host: input.preserve_host ?? existing?.preserve_host ?? false,
    regex_priority: input.regex_priority ?? existing?.regex_priority ?? 0,
    tags: input.tags ?? existing?.tags ?? [],
    created_at: existing?.created_at ?? time,
    updated_at: time,
  };
}
