// An admin API over a real SQLite file in a temporary directory, called in-process through
// `app.handle` (or over a real loopback listener), with two small test plugins so plugin
// endpoints can be exercised whatever plugins the build ships.
import { Type } from "@sinclair/typebox";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AdminDeps, createAdminApp, startAdminServer } from "../src/admin/server.ts";
import { type CoreGateway, openCore } from "../src/gateway.ts";
import { definePlugin } from "../src/pipeline/contract.ts";
import { builtinPlugins } from "../plugins/index.ts";
import { type PluginRegistry, createRegistry } from "../src/pipeline/registry.ts";

/** A plugin with typed config fields (for form coercion and schema errors). */
export const stampPlugin = definePlugin({
  name: "test-stamp",
  priority: 10,
  configSchema: Type.Object(
    {
      header: Type.String({ minLength: 1, default: "X-Stamp" }),
      ttl: Type.Integer({ minimum: 0, default: 60 }),
      methods: Type.Array(Type.String(), { default: [] }),
      strict: Type.Boolean({ default: false }),
    },
    { additionalProperties: false, examples: [{ header: "X-Team", ttl: 30 }] },
  ),
  create: () => ({}),
});

/** A plugin that names a consumer in its config and cannot be scoped to one (like Kong's jwt). */
export const fallbackPlugin = definePlugin<{ consumer: string }>({
  name: "test-fallback",
  priority: 5,
  noConsumerScope: true,
  configSchema: Type.Object({ consumer: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
  check: (config, lookup) => (lookup.findConsumer(config.consumer) ? undefined : { consumer: `no such consumer '${config.consumer}'` }),
  create: () => ({}),
});

export const testRegistry: PluginRegistry = createRegistry([...builtinPlugins.values(), stampPlugin, fallbackPlugin]);

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  body: any;
}

export interface AdminHarness {
  dir: string;
  core: CoreGateway;
  deps: AdminDeps;
  app: ReturnType<typeof createAdminApp>;
  /** JSON body unless `init.body` is given; path relative to the admin root. */
  call(method: string, path: string, json?: unknown, init?: RequestInit): Promise<Reply>;
  /** The whole stored state, serialized: equal strings mean nothing changed. */
  state(): string;
  close(): void;
}

export async function toReply(response: Response): Promise<Reply> {
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, text, body };
}

export function requestFor(base: string, method: string, path: string, json?: unknown, init: RequestInit = {}): Request {
  const headers = new Headers(init.headers);
  let body = init.body;
  if (json !== undefined && body === undefined) {
    body = JSON.stringify(json);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
  }
  return new Request(base + path, { ...init, method, headers, body });
}

export function openAdmin(options: Partial<Pick<AdminDeps, "mode" | "adminToken" | "registry">> = {}): AdminHarness {
  const dir = mkdtempSync(join(tmpdir(), "gateway-admin-"));
  const registry = options.registry ?? testRegistry;
  const core = openCore({ db: join(dir, "gateway.db"), registry });
  const deps: AdminDeps = {
    store: core.store,
    state: core.state,
    metrics: core.metrics,
    registry,
    mode: options.mode ?? "database",
    adminToken: options.adminToken,
    version: "0.0.0-test",
    startedAt: Date.now() - 5000,
  };
  const app = createAdminApp(deps);
  return {
    dir,
    core,
    deps,
    app,
    call: async (method, path, json, init) => toReply(await app.handle(requestFor("http://localhost", method, path, json, init))),
    state: () => JSON.stringify(core.store.loadAll()),
    close() {
      core.state.stop();
      core.opened.sqlite.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The same admin app on a real loopback listener. */
export async function listenAdmin(harness: AdminHarness) {
  const server = await startAdminServer(harness.deps, { hostname: "127.0.0.1", port: 0 });
  const base = `http://127.0.0.1:${server.port}`;
  return {
    base,
    server,
    call: async (method: string, path: string, json?: unknown, init?: RequestInit) => toReply(await fetch(requestFor(base, method, path, json, init))),
  };
}

export const ES256_PUBLIC_KEY = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8Gd6e+5zo2qX1nMK9PyRkU5B3bqF
sCfuL3wDG+YOG8BRql0Ozlpt6VCPcNgPT6WqMZB+pcrIbjDrdGJxL9REJw==
-----END PUBLIC KEY-----
`;

const METHODS = ["get", "post", "put", "patch", "delete"] as const;

/** Every operation of an OpenAPI document, path in its `{name}` form. */
export function* documentedOperations(document: any): Generator<{ path: string; method: string; operation: any }> {
  for (const [path, item] of Object.entries<any>(document.paths)) {
    for (const method of METHODS) if (item[method]) yield { path, method, operation: item[method] };
  }
}

/** A documented request example, ready to send: path parameters filled with their examples. */
export interface ExampleRequest {
  label: string;
  method: string;
  /** The path with `{name}` parameters still in it. */
  template: string;
  url: string;
  mediaType: string;
  value: unknown;
  body: string;
}

export function documentedExamples(document: any): ExampleRequest[] {
  return [...documentedOperations(document)]
    .filter(({ operation }) => operation.requestBody && Object.values<any>(operation.requestBody.content)[0].examples)
    .map(({ path, method, operation }) => {
      const [mediaType, content] = Object.entries<any>(operation.requestBody.content)[0]!;
      const example: any = Object.values(content.examples)[0];
      const url = path.replace(/\{(\w+)\}/g, (_, name) => encodeURIComponent(operation.parameters.find((p: any) => p.name === name).example));
      const body = mediaType === "application/json" ? JSON.stringify(example.value) : example.value;
      return { label: `${method.toUpperCase()} ${url}`, method: method.toUpperCase(), template: path, url, mediaType, value: example.value, body };
    });
}

/**
 * Sends every documented request example in dependency order (creations, then replacements,
 * then changes, the whole-config import last; within a phase, again until none more succeeds).
 * Returns the examples that never succeeded, with their last answer.
 */
export async function sendDocumentedExamples(admin: AdminHarness, document: any): Promise<Record<string, string>> {
  const requests = documentedExamples(document);
  const phases = [
    requests.filter((r) => r.method === "POST" && r.url !== "/config"),
    requests.filter((r) => r.method === "PUT"),
    requests.filter((r) => r.method === "PATCH"),
    requests.filter((r) => r.url === "/config"),
  ];
  if (phases.flat().length !== requests.length) throw new Error("an example in no phase");
  const failures = new Map<string, string>();
  for (const phase of phases) {
    let pending = phase;
    while (pending.length) {
      const left = [];
      for (const request of pending) {
        const reply = await toReply(await admin.app.handle(new Request(`http://localhost${request.url}`, { method: request.method, body: request.body, headers: { "content-type": request.mediaType } })));
        if (reply.status >= 200 && reply.status < 300) failures.delete(request.label);
        else {
          left.push(request);
          failures.set(request.label, `${reply.status} ${reply.text}`);
        }
      }
      if (left.length === pending.length) break;
      pending = left;
    }
  }
  return Object.fromEntries(failures);
}
