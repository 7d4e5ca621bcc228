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
