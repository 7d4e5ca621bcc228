// Route: which requests go to which service. Paths are prefixes; a leading `~` makes a regex.
import { Name } from "./common.ts";
import { type RecordOf, defineEntity, nullable, reference } from "./definition.ts";
import { t } from "./t.ts";

const RoutePath = t.String({ minLength: 1, maxLength: 1024, pattern: "^[/~]", description: "prefix, or a regex after `~`" });
const RouteHost = t.String({ minLength: 1, maxLength: 256, pattern: "^(\\*\\.)?[A-Za-z0-9.-]+(:\\d+)?$|^[A-Za-z0-9.-]+\\.\\*$", description: "exact, `*.example.com` or `example.*`" });
const Method = t.String({ pattern: "^[A-Z]+$", maxLength: 32 });
const Protocols = t.Array(t.Union([t.Literal("http"), t.Literal("https")]), { minItems: 1, uniqueItems: true });
const HttpsRedirectStatus = t.Union([426, 301, 302, 307, 308].map((code) => t.Literal(code)), { description: "answer to plain HTTP on an https-only route: 426, or a redirect to the TLS listener" });
const Strings = nullable(t.Array(t.String()));
/** An empty list matches nothing: stored as null, as if not given. */
const listOrNull = (list: string[] | null) => (list?.length ? list : null);

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
    protocols: { storage: "json", input: Protocols, output: Protocols, default: ["http", "https"] },
    strip_path: { storage: "boolean", input: t.Boolean(), output: t.Boolean(), default: true },
    preserve_host: { storage: "boolean", input: t.Boolean(), output: t.Boolean(), default: false },
    regex_priority: { storage: "integer", input: t.Integer({ minimum: -1000000, maximum: 1000000 }), output: t.Integer(), default: 0 },
    // Kong's answer to a plain-HTTP request on a route that allows only https.
    https_redirect_status_code: { storage: "integer", input: HttpsRedirectStatus, output: HttpsRedirectStatus, default: 426 },
  },
  inputExamples: [{ name: "orders-api", paths: ["/orders"], methods: ["GET", "POST"] }],
  example: {
    id: "4b3f7a2e-6f3a-4f38-9d7e-2a9c1d0e5b11", name: "orders-api", service: { id: "0c8a4f5e-1d2b-4c3a-9e8f-7a6b5c4d3e2f" }, paths: ["/orders"], hosts: null, methods: ["GET", "POST"],
    protocols: ["http", "https"], strip_path: true, preserve_host: false, regex_priority: 0, https_redirect_status_code: 426, tags: [], created_at: 1795000000, updated_at: 1795000000,
  },
  complete(route, { fields }) {
    if (!route.paths && !route.hosts && !route.methods) fields["@entity"] = "at least one of paths, hosts or methods must be set";
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
