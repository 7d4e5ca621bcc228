// Service: an upstream. `url` is shorthand for protocol/host/port/path, as in Kong.
import type { Static } from "elysia";
import { t } from "./t.ts";
import { ValidationError } from "../errors.ts";
import { Generated, InputMeta, Name, assertSchema, now } from "./common.ts";

const Protocol = t.Union([t.Literal("http"), t.Literal("https")]);
const Port = t.Integer({ minimum: 1, maximum: 65535 });
const Timeout = t.Integer({ minimum: 1, maximum: 2147483646, description: "milliseconds" });
const UpstreamPath = t.String({ pattern: "^/", maxLength: 1024 });

export const ServiceInput = t.Object(
  {
    ...InputMeta,
    name: t.Optional(Name),
    url: t.Optional(t.String({ minLength: 1, maxLength: 2048, description: "shorthand for protocol, host, port and path", examples: ["http://orders.internal:8080/v1"] })),
    protocol: t.Optional(Protocol),
    host: t.Optional(t.String({ minLength: 1, maxLength: 256 })),
    port: t.Optional(Port),
    path: t.Optional(t.Union([UpstreamPath, t.Null()])),
    connect_timeout: t.Optional(Timeout),
    read_timeout: t.Optional(Timeout),
    write_timeout: t.Optional(Timeout),
    retries: t.Optional(t.Integer({ minimum: 0, maximum: 32767 })),
    enabled: t.Optional(t.Boolean()),
  },
  { additionalProperties: false, examples: [{ name: "orders", url: "http://127.0.0.1:9000" }] },
);
export type ServiceInput = Static<typeof ServiceInput>;

export const Service = t.Object({
  ...Generated,
  name: t.Union([Name, t.Null()]),
  protocol: Protocol,
  host: t.String(),
  port: Port,
  path: t.Union([t.String(), t.Null()]),
  connect_timeout: Timeout,
  read_timeout: Timeout,
  write_timeout: Timeout,
  retries: t.Integer(),
  enabled: t.Boolean(),
});
export type Service = Static<typeof Service>;

function fromUrl(raw: string): Pick<Service, "protocol" | "host" | "port" | "path"> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ValidationError({ url: "not a valid URL" });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ValidationError({ url: "protocol must be http or https" });
  }
  if (url.username || url.password) throw new ValidationError({ url: "must not contain credentials" });
  if (url.search || url.hash) throw new ValidationError({ url: "must not contain a query or fragment" });
  const protocol = url.protocol === "https:" ? "https" : "http";
  return {
    protocol,
    host: url.hostname.replace(/^\[|\]$/g, ""),
    port: url.port ? Number(url.port) : protocol === "https" ? 443 : 80,
    // Kong keeps `http://host` (no path) apart from `http://host/` (path "/").
    path: url.pathname === "/" && !/^[a-z]+:\/\/[^/]+\//i.test(raw) ? null : url.pathname,
  };
}

/** Validates an input (a full body, or a PATCH merged over `existing`) into the stored record. */
export function buildService(input: unknown, existing?: Service): Service {
  assertSchema(ServiceInput, input);
  const { url, ...rest } = input;
  if (url !== undefined && (rest.host !== undefined || rest.protocol !== undefined || rest.port !== undefined || rest.path !== undefined)) {
    throw new ValidationError({ url: "cannot be combined with protocol, host, port or path" });
  }
  const location = url !== undefined ? fromUrl(url) : undefined;
  const protocol = location?.protocol ?? rest.protocol ?? existing?.protocol ?? "http";
  const host = location?.host ?? rest.host ?? existing?.host;
  if (!host) throw new ValidationError({ host: "required field missing (give url or host)" });
  const time = now();
  return {
    id: existing?.id ?? rest.id ?? crypto.randomUUID(),
    name: rest.name ?? existing?.name ?? null,
    protocol,
    host,
    port: location?.port ?? rest.port ?? existing?.port ?? (protocol === "https" ? 443 : 80),
    path: location ? location.path : rest.path !== undefined ? rest.path : (existing?.path ?? null),
    connect_timeout: rest.connect_timeout ?? existing?.connect_timeout ?? 60000,
    read_timeout: rest.read_timeout ?? existing?.read_timeout ?? 60000,
    write_timeout: rest.write_timeout ?? existing?.write_timeout ?? 60000,
    retries: rest.retries ?? existing?.retries ?? 5,
    enabled: rest.enabled ?? existing?.enabled ?? true,
    tags: rest.tags ?? existing?.tags ?? [],
    created_at: existing?.created_at ?? time,
    updated_at: time,
  };
}

export function serviceUrl(service: Pick<Service, "protocol" | "host" | "port" | "path">): string {
  const host = service.host.includes(":") ? `[${service.host}]` : service.host;
  return `${service.protocol}://${host}:${service.port}${service.path ?? ""}`;
}
