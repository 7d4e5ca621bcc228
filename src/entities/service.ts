// Service: an upstream. `url` is shorthand for protocol/host/port/path, as in Kong: given with
// any of them, the url's parts win (a url without a path sets path to null, one without a port
// the protocol's default), the others keep what the write or the stored service says.
import { ValidationError } from "../errors.ts";
import { Name, Uuid } from "./common.ts";
import { type RecordOf, defineEntity, nullable, optionalReference } from "./definition.ts";
import { protocolsNotIn } from "./kong.ts";
import { t } from "./t.ts";

const Protocol = t.Union([t.Literal("http"), t.Literal("https")]);
const Port = t.Integer({ minimum: 1, maximum: 65535 });
const Timeout = t.Integer({ minimum: 1, maximum: 2147483646, description: "milliseconds" });
const UpstreamPath = t.String({ pattern: "^/", maxLength: 1024 });
const timeout = { storage: "integer", input: Timeout, output: Timeout, default: 60000 } as const;
/** Kong refuses these on a service that is not https (it lets tls_verify_depth through). */
const TLS_FIELDS = ["tls_verify", "ca_certificates", "client_certificate"] as const;

interface Location {
  protocol: "http" | "https";
  host: string;
  port: number;
  path: string | null;
}

function fromUrl(raw: string): Location {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ValidationError({ url: "not a valid URL" });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ValidationError({ url: protocolRefusal(url.protocol.slice(0, -1)) ?? "protocol must be http or https" });
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

const protocolRefusal = protocolsNotIn(Protocol);

/** The scheme of a url Kong would take (`grpc://...`), for the refusal of a protocol the gateway lacks. */
function urlProtocolRefusal(value: unknown): string | null {
  const scheme = typeof value === "string" ? /^([a-z][a-z0-9+._-]*):\/\//i.exec(value)?.[1]?.toLowerCase() : undefined;
  return scheme ? protocolRefusal(scheme) : null;
}

export const serviceEntity = defineEntity({
  name: "services",
  label: "service",
  schemaName: "Service",
  fields: {
    name: { storage: "text", input: Name, output: nullable(Name), unique: true, endpointKey: true },
    url: {
      input: t.String({ minLength: 1, maxLength: 2048, description: "shorthand for protocol, host, port and path", examples: ["http://orders.internal:8080/v1"] }),
      placeholders: "value",
      vaultRefusal: "a vault reference cannot be split into protocol, host, port and path: give host (and path) as references instead of url",
      unsupported: urlProtocolRefusal,
    },
    protocol: { storage: "text", input: Protocol, output: Protocol, default: "http", unsupported: protocolRefusal },
    host: { storage: "text", input: t.String({ minLength: 1, maxLength: 256 }), output: t.String(), vault: "value" },
    port: { storage: "integer", input: Port, output: Port, default: (service: { protocol?: string }) => (service.protocol === "https" ? 443 : 80) },
    path: { storage: "text", input: nullable(UpstreamPath), output: nullable(t.String()), vault: "value" },
    connect_timeout: timeout,
    read_timeout: timeout,
    write_timeout: timeout,
    retries: { storage: "integer", input: t.Integer({ minimum: 0, maximum: 32767 }), output: t.Integer(), default: 5 },
    enabled: { storage: "boolean", input: t.Boolean(), output: t.Boolean(), default: true },
    // Kong's upstream TLS fields. Unlike Kong, null (the default) verifies: false opts out.
    tls_verify: {
      storage: "boolean",
      input: nullable(t.Boolean({ description: "verify the upstream's certificate and host name; null (default) verifies, false is the explicit opt-out" })),
      output: nullable(t.Boolean()),
    },
    tls_verify_depth: { storage: "integer", input: nullable(t.Integer({ minimum: 0, maximum: 64 })), output: nullable(t.Integer()) },
    ca_certificates: {
      storage: "json",
      input: nullable(t.Array(Uuid, { maxItems: 256, uniqueItems: true, description: "ids of ca_certificates: the trust store for this service's upstream, instead of the system's" })),
      output: nullable(t.Array(t.String())),
      // No CA at all would trust nothing: an empty list means the system trust store, as null does.
      normalize: (ids: string[] | null) => (ids?.length ? ids : null),
      listOf: "ca_certificates",
    },
    // mTLS: the certificate and key the gateway presents to the upstream.
    client_certificate: optionalReference("certificates", {}),
  },
  inputExamples: [{ name: "orders", url: "http://127.0.0.1:9000" }],
  example: {
    id: "0c8a4f5e-1d2b-4c3a-9e8f-7a6b5c4d3e2f", name: "orders", protocol: "http", host: "orders.internal", port: 8080, path: null,
    connect_timeout: 60000, read_timeout: 60000, write_timeout: 60000, retries: 5, enabled: true, tls_verify: null, tls_verify_depth: null, ca_certificates: null,
    client_certificate: null, tags: [], created_at: 1795000000, updated_at: 1795000000,
  },
  shape(input) {
    const { url, ...rest } = input;
    if (typeof url !== "string") return input;
    return { ...rest, ...fromUrl(url) };
  },
  complete(service, { fields }) {
    if (!service.host) throw new ValidationError({ host: "required field missing (give url or host)" });
    if (service.protocol === "https") return;
    // Kong's conditional checks: only an https service has a TLS connection to configure.
    for (const field of TLS_FIELDS) if (service[field] !== null) fields[field] = `must be null when protocol is ${service.protocol} (TLS settings apply to https services)`;
  },
  declarative: { idSeed: (entry, _refs, position) => `services:${entry.name ?? position}` },
  admin: {
    tag: "services",
    tagDescription: "Upstream services",
    noun: "service",
    nouns: "services",
    param: { name: "service", description: "id or name of the service", example: "orders" },
    collections: [
      {
        path: "/services",
        stem: "Service",
        stems: "Services",
        itemParam: "service",
        methods: ["list", "create", "get", "update", "upsert", "delete"],
        examples: {
          create: [{ summary: "an upstream given by URL", value: { name: "orders", url: "http://orders.internal:8080" } }],
          upsert: [{ summary: "replace the upstream (the name comes from the URL)", value: { url: "http://orders.internal:8080", read_timeout: 30000 } }],
          update: [{ summary: "a shorter read timeout", value: { read_timeout: 15000 } }],
        },
      },
    ],
    delete: {
      cascade: "also delete the service's routes; without it a service that has routes is not deleted (409)",
      description: "A service that still has routes is refused with 409 unless `?cascade=true`. Deleting a service that does not exist is a 404 (Kong answers 204).",
    },
  },
  cli: {
    columns: [
      { header: "NAME", value: (s) => s.name },
      { header: "URL", value: (s) => serviceUrl(s) },
      { header: "ENABLED", value: (s) => s.enabled },
      { header: "ID", value: (s) => s.id },
    ],
  },
});

export function serviceUrl(service: Pick<Location, "protocol" | "host" | "port" | "path">): string {
  const host = service.host.includes(":") ? `[${service.host}]` : service.host;
  return `${service.protocol}://${host}:${service.port}${service.path ?? ""}`;
}

export type Service = RecordOf<typeof serviceEntity.fields>;
