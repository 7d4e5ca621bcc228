// Route: which requests go to which service. Paths are prefixes; a leading `~` makes a regex.
// Every field Kong 3.x writes for an http route is accepted with Kong's default; the stream
// router's fields (snis, sources, destinations) and the expressions router's (expression,
// priority) are refused as features the gateway does not have unless they are empty.
import { Name } from "./common.ts";
import { type RecordOf, defineEntity, nullable, reference } from "./definition.ts";
import { notSupported, protocolsNotIn } from "./kong.ts";
import { t } from "./t.ts";

const RoutePath = t.String({ minLength: 1, maxLength: 1024, pattern: "^[/~]", description: "a path that starts with / (a prefix) or ~ (a regex)" });
const RouteHost = t.String({ minLength: 1, maxLength: 256, pattern: "^(\\*\\.)?[A-Za-z0-9.-]+(:\\d+)?$|^[A-Za-z0-9.-]+\\.\\*$", description: "a host name: exact, `*.example.com` or `example.*`" });
const Method = t.String({ pattern: "^[A-Z]+$", maxLength: 32 });
const Protocols = t.Array(t.Union([t.Literal("http"), t.Literal("https")]), { minItems: 1, uniqueItems: true });
const HttpsRedirectStatus = t.Union([426, 301, 302, 307, 308].map((code) => t.Literal(code)), { description: "answer to plain HTTP on an https-only route: 426, or a redirect to the TLS listener" });
const Strings = nullable(t.Array(t.String()));
/** An empty list matches nothing: stored as null, as if not given. */
const listOrNull = (list: string[] | null) => (list?.length ? list : null);
const HeaderName = t.String({ minLength: 1, maxLength: 256, pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", description: "a header name" });
const Headers = t.Record(t.String(), t.Array(t.String({ minLength: 1, maxLength: 1024 }), { minItems: 1, maxItems: 64 }), {
  description: "header name → values; any value matches, case-insensitively; a lone value starting with `~*` is a regex",
});
/** Names lower-cased (header names are case-insensitive); an empty map is no condition. */
function normalizeHeaders(headers: Record<string, string[]> | null): Record<string, string[]> | null {
  if (!headers || Object.keys(headers).length === 0) return null;
  return Object.fromEntries(Object.entries(headers).map(([name, values]) => [name.toLowerCase(), values]));
}
const nonEmpty = (value: unknown) => (Array.isArray(value) ? value.length > 0 : value !== null && value !== undefined);

export const routeEntity = defineEntity({
  name: "routes",
  label: "route",
  schemaName: "Route",
  fields: {
    name: { storage: "text", input: Name, output: nullable(Name), unique: true, endpointKey: true },
    // Nullable in the 0000_init table although every route has a service.
    service: reference("services", { index: true, nullable: true }),
    paths: { storage: "json", input: nullable(t.Array(RoutePath, { maxItems: 256 })), output: Strings, normalize: listOrNull, placeholders: "items" },
    hosts: {
      storage: "json",
      input: nullable(t.Array(RouteHost, { maxItems: 256 })),
      output: Strings,
      normalize: (hosts: string[] | null) => listOrNull(hosts)?.map((host) => host.toLowerCase()) ?? null,
      placeholders: "items",
    },
    methods: { storage: "json", input: nullable(t.Array(Method, { maxItems: 16 })), output: Strings, normalize: listOrNull },
    protocols: { storage: "json", input: Protocols, output: Protocols, default: ["http", "https"], unsupported: protocolsNotIn(Protocols) },
    strip_path: { storage: "boolean", input: t.Boolean(), output: t.Boolean(), default: true },
    preserve_host: { storage: "boolean", input: t.Boolean(), output: t.Boolean(), default: false },
    regex_priority: { storage: "integer", input: t.Integer({ minimum: -1000000, maximum: 1000000 }), output: t.Integer(), default: 0 },
    headers: { storage: "json", input: nullable(Headers), output: nullable(Headers), normalize: normalizeHeaders },
    path_handling: { storage: "text", input: t.Union([t.Literal("v0"), t.Literal("v1")]), output: t.String(), default: "v0" },
    // The gateway streams both bodies whatever these say (README "Route fields").
    request_buffering: { storage: "boolean", input: t.Boolean(), output: t.Boolean(), default: true },
    response_buffering: { storage: "boolean", input: t.Boolean(), output: t.Boolean(), default: true },
    snis: { input: nullable(t.Array(t.String())), unsupported: notSupported(nonEmpty, "matching on the TLS server name (snis)") },
    sources: { input: nullable(t.Array(t.Unknown())), unsupported: notSupported(nonEmpty, "sources (tcp/tls routing)") },
    destinations: { input: nullable(t.Array(t.Unknown())), unsupported: notSupported(nonEmpty, "destinations (tcp/tls routing)") },
    expression: { input: nullable(t.String()), unsupported: notSupported(nonEmpty, "the expressions router (expression)") },
    priority: { input: nullable(t.Integer()), unsupported: notSupported((value) => value !== null && value !== undefined && value !== 0, "the expressions router (priority)") },
    // Kong's answer to a plain-HTTP request on a route that allows only https.
    https_redirect_status_code: { storage: "integer", input: HttpsRedirectStatus, output: HttpsRedirectStatus, default: 426 },
  },
  inputExamples: [{ name: "orders-api", paths: ["/orders"], methods: ["GET", "POST"] }],
  example: {
    id: "4b3f7a2e-6f3a-4f38-9d7e-2a9c1d0e5b11", name: "orders-api", service: { id: "0c8a4f5e-1d2b-4c3a-9e8f-7a6b5c4d3e2f" }, paths: ["/orders"], hosts: null, methods: ["GET", "POST"],
    protocols: ["http", "https"], strip_path: true, preserve_host: false, regex_priority: 0, headers: null, path_handling: "v0",
    request_buffering: true, response_buffering: true, https_redirect_status_code: 426, tags: [], created_at: 1795000000, updated_at: 1795000000,
  },
  complete(route, { fields }) {
    if (!route.paths && !route.hosts && !route.methods && !route.headers) fields["@entity"] = "must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http'";
    for (const name of Object.keys(route.headers ?? {})) {
      if (name === "host") fields.headers = "cannot contain 'host' header, which must be specified in the 'hosts' attribute";
      else if (!new RegExp(HeaderName.pattern!).test(name)) fields.headers = `invalid header name ${JSON.stringify(name.slice(0, 64))}`;
    }
    for (const [name, values] of Object.entries(route.headers ?? {})) {
      // Kong reads `~*` as a regex only when it is the header's one value.
      if (values.length !== 1 || !values[0]!.startsWith("~*")) continue;
      try {
        new RegExp(values[0]!.slice(2));
      } catch (error) {
        fields[`headers.${name}[0]`] = `invalid regex: ${(error as Error).message}`;
      }
    }
    route.paths?.forEach((path, i) => {
      if (!path.startsWith("~")) return;
      try {
        new RegExp(path.slice(1));
      } catch (error) {
        fields[`paths[${i}]`] = `invalid regex: ${(error as Error).message}`;
      }
    });
  },
  declarative: {
    nestedUnder: ["services"],
    idSeed: (entry, _refs, position) => `routes:${entry.name ?? position}`,
    // Kong 1.1/2.1 files wrote regex paths without `~`; Kong's migration adds it to paths with regex characters.
    migrate(route, formatVersion) {
      if (formatVersion === "3.0" || !Array.isArray(route.paths)) return;
      route.paths = route.paths.map((path: unknown) => (typeof path === "string" && !path.startsWith("~") && /[^A-Za-z0-9._~/%-]/.test(path) ? `~${path}` : path));
    },
  },
  admin: {
    tag: "routes",
    tagDescription: "Which requests go to which service",
    noun: "route",
    nouns: "routes",
    param: { name: "route", description: "id or name of the route", example: "orders-api" },
    collections: [
      {
        under: "services",
        path: "routes",
        stem: "ServiceRoute",
        stems: "ServiceRoutes",
        methods: ["list", "create"],
        examples: { create: [{ summary: "a path-prefix route to the service", value: { name: "orders-api", paths: ["/orders"], methods: ["GET", "POST"] } }] },
      },
      {
        path: "/routes",
        stem: "Route",
        stems: "Routes",
        itemParam: "route",
        methods: ["list", "create", "get", "update", "upsert", "delete"],
        examples: {
          create: [{ summary: "a route naming its service", value: { name: "orders-admin", service: { name: "orders" }, paths: ["/orders-admin"], strip_path: false } }],
          upsert: [{ summary: "replace the route", value: { service: { name: "orders" }, paths: ["/orders"], methods: ["GET", "POST", "DELETE"] } }],
          update: [{ summary: "only GET requests", value: { methods: ["GET"] } }],
        },
      },
    ],
    referenceLinks: [{ field: "service", collection: "/routes", summary: "Get the service of a route", description: "the route's service" }],
  },
  cli: {
    columns: [
      { header: "NAME", value: (r) => r.name },
      { header: "PATHS", value: (r) => r.paths },
      { header: "HOSTS", value: (r) => r.hosts },
      { header: "METHODS", value: (r) => r.methods },
      { header: "SERVICE_ID", value: (r) => r.service.id },
      { header: "ID", value: (r) => r.id },
    ],
  },
});

export type Route = RecordOf<typeof routeEntity.fields>;
