// The admin API (SPEC §6): an Elysia app mounting every Operation of routes/, the checks at the
// front of every request (Host, browser origin, admin token), the single error-to-HTTP mapping,
// the OpenAPI document and the offline Swagger UI.
import { Elysia } from "elysia";
import { clip } from "../entities/quote.ts";
import { BadRequestError, MethodNotAllowedError, NotFoundError } from "../errors.ts";
import { adminTokenCheck } from "./auth.ts";
import { readConfigBody, readEntityBody } from "./body.ts";
import type { AdminDeps } from "./deps.ts";
import { docsAsset, docsPage } from "./docs-ui.ts";
import { PARAMETER_EXAMPLES, pluginExample } from "./examples.ts";
import { requestHost } from "./host.ts";
import { errorResponse } from "./http.ts";
import { openApiPlugin, operationDetail } from "./openapi.ts";
import { type HttpMethod, type Operation, type OperationInput } from "./operation.ts";
import { originGuard } from "./origin-guard.ts";
import { aclOperations } from "./routes/acls.ts";
import { basicAuthOperations } from "./routes/basic-auth.ts";
import { caCertificateOperations } from "./routes/ca-certificates.ts";
import { certificateOperations } from "./routes/certificates.ts";
import { configOperations } from "./routes/config.ts";
import { consumerOperations } from "./routes/consumers.ts";
import { jwtOperations } from "./routes/jwt.ts";
import { keyAuthOperations } from "./routes/key-auth.ts";
import { keyOperations } from "./routes/keys.ts";
import { nodeOperations } from "./routes/node.ts";
import { pluginOperations } from "./routes/plugins.ts";
import { routeOperations } from "./routes/routes.ts";
import { serviceOperations } from "./routes/services.ts";
import { type PemPair, hardened } from "../tls/server-certificates.ts";
import { tagOperations } from "./routes/tags.ts";
import { upstreamOperations } from "./routes/upstreams.ts";

export type { AdminDeps } from "./deps.ts";

const DECLARATIVE_MODE =
  "the gateway runs from a declarative configuration file: the admin API is read-only; send the whole configuration to POST /config";

export function adminOperations(deps: AdminDeps): Operation[] {
  return [
    ...nodeOperations(deps),
    ...caCertificateOperations(deps),
    ...serviceOperations(deps),
    ...routeOperations(deps),
    ...upstreamOperations(deps),
    ...consumerOperations(deps),
    ...jwtOperations(deps),
    ...aclOperations(deps),
    ...keyAuthOperations(deps),
    ...basicAuthOperations(deps),
    ...pluginOperations(deps),
    ...keyOperations(deps),
    ...certificateOperations(deps),
    ...tagOperations(deps),
    ...configOperations(deps),
  ];
}

/** Which methods each known path pattern has: tells a wrong method (405) from an unknown path (404). */
function methodIndex(routes: { method: string; path: string }[]): (path: string) => string[] {
  const patterns = new Map<string, { pattern: RegExp; methods: Set<string> }>();
  for (const { method, path } of routes) {
    let entry = patterns.get(path);
    if (!entry) {
      const source = path
        .split("/")
        .map((segment) => (segment.startsWith(":") ? "[^/]+" : segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
        .join("/");
      patterns.set(path, (entry = { pattern: new RegExp(`^${source}$`), methods: new Set() }));
    }
    entry.methods.add(method);
  }
  return (path) => {
    const methods = new Set<string>();
    for (const { pattern, methods: found } of patterns.values()) if (pattern.test(path)) for (const method of found) methods.add(method);
    return [...methods];
  };
}

function handlerOf(operation: Operation, deps: AdminDeps) {
  return async ({ request, params: routeParams }: { request: Request; params?: Record<string, string> }): Promise<Response> => {
    if (operation.write && deps.mode === "declarative") throw new MethodNotAllowedError(DECLARATIVE_MODE);
    const params = routeParams ?? {};
    // Elysia hands over null for a path segment it could not percent-decode.
    if (Object.values(params).some((value) => typeof value !== "string")) throw new BadRequestError("the URL path is not valid percent-encoding");
    const body = operation.body;
    const input: OperationInput = {
      request,
      url: new URL(request.url),
      params,
      body:
        body?.kind === "entity"
          ? await readEntityBody(request, (fields) => body.fromForm(fields, params))
          : body?.kind === "config"
            ? await readConfigBody(request)
            : undefined,
    };
    const response = await operation.handle(input);
    // With `serve --workers N`, a change is answered once every worker serves it.
    if (deps.workers) await deps.workers.settled();
    return response;
  };
}

/** `listenHostname`: the address the listener is bound to, a Host the origin guard also accepts. */
export function createAdminApp(deps: AdminDeps, listenHostname?: string) {
  const operations = adminOperations(deps);
  const docsRoutes: { method: HttpMethod; path: string }[] = [
    { method: "GET", path: "/docs" },
    { method: "GET", path: "/docs/json" },
    { method: "GET", path: "/docs/assets/:file" },
  ];
  const allowedMethods = methodIndex([...operations, ...docsRoutes]);
  const checkToken = adminTokenCheck(deps.adminToken);
  const checkOrigin = originGuard(deps.adminToken, listenHostname);
  const parameterExamples = { ...PARAMETER_EXAMPLES, name: pluginExample(deps.registry, false)?.name ?? [...deps.registry.keys()][0] ?? "" };

  // Elysia by default finds the path from the 12th character of request.url on, assuming a
  // host of at least 4 characters: with `Host: a` it would route `/docs` as something else.
  const app = new Elysia({ handler: { standardHostname: false } })
    .onRequest(({ request }) => {
      // The Host first: until it is known to be one a URL can hold, request.url is not a URL.
      const host = requestHost(request);
      const path = new URL(request.url).pathname;
      checkOrigin(request, host, path);
      checkToken(request, path);
    })
    .onError(({ code, error, request }) => {
      if (code !== "NOT_FOUND") return errorResponse(error);
      const path = new URL(request.url).pathname;
      const allowed = allowedMethods(path);
      if (allowed.length === 0) return errorResponse(new NotFoundError());
      return errorResponse(new MethodNotAllowedError(`${request.method} is not allowed on ${clip(path)} (allowed: ${allowed.join(", ")})`), {
        allow: allowed.join(", "),
      });
    })
    .use(openApiPlugin(deps.registry, deps.version))
    // Registered after the plugin on purpose: this page replaces its CDN-based one.
    .get("/docs", () => docsPage(), { detail: { hide: true } })
    .get("/docs/assets/:file", ({ params }) => docsAsset(params.file), { detail: { hide: true } });
  for (const operation of operations) {
    app.route(operation.method, operation.path, handlerOf(operation, deps), {
      parse: "none",
      detail: operationDetail(operation, parameterExamples) as never,
    });
  }
  return app;
}

export interface RunningAdminServer {
  port: number;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), then closes. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Elysia, with `standardHostname: false` (see createAdminApp), finds the path from the 8th
 * character of the URL on, which only holds for `http://`: over TLS the URL is given that
 * scheme before routing. Nothing in the admin API reads the scheme.
 */
function withHttpScheme(request: Request): Request {
  return request.url.startsWith("https://") ? new Request(`http://${request.url.slice(8)}`, request) : request;
}

/** `tls`: the admin API over TLS (`--admin-listen-tls`), with the proxy's protocol and cipher settings. */
export async function startAdminServer(deps: AdminDeps, listen: { hostname: string; port: number; tls?: PemPair }): Promise<RunningAdminServer> {
  const app = createAdminApp(deps, listen.hostname);
  const server = Bun.serve({
    hostname: listen.hostname,
    port: listen.port,
    ...(listen.tls ? { tls: hardened(listen.tls) } : {}),
    // Body limits are the app's (413 with a JSON body, like every other error); Bun's own
    // limit would answer an empty 413 first.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    fetch: listen.tls ? (request) => app.handle(withHttpScheme(request)) : (request) => app.handle(request),
  });
  return {
    port: server.port as number,
    async stop(graceMs = 10_000) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([server.stop(false), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
      await server.stop(true);
    },
  };
}
