// Node information (GET /), health (GET /status) and Prometheus metrics (GET /metrics).
import { hostname } from "node:os";
import { describeError } from "../../errors.ts";
import type { Kind } from "../../db/store.ts";
import type { AdminDeps } from "../deps.ts";
import { json, text } from "../http.ts";
import type { Operation } from "../operation.ts";

const KINDS: Kind[] = ["services", "routes", "consumers", "jwt_secrets", "acls", "plugins", "keys"];
const counts = { type: "object", properties: Object.fromEntries(KINDS.map((kind) => [kind, { type: "integer" }])) };

/** Why the node cannot serve its configuration, if it cannot: empty when healthy. */
function healthProblems({ store }: AdminDeps): string[] {
  const problems: string[] = [];
  try {
    store.opened.sqlite.query("SELECT 1").get();
  } catch (error) {
    problems.push(`database unreachable: ${describeError(error)}`);
  }
  return problems;
}

export function nodeOperations(deps: AdminDeps): Operation[] {
  const { store, state, metrics, registry } = deps;
  return [
    {
      method: "GET",
      path: "/",
      operationId: "getNodeInfo",
      tag: "node",
      summary: "Node information",
      responses: {
        200: {
          description: "version, mode, configuration version and entity counts",
          schema: {
            type: "object",
            required: ["version", "mode", "config_version", "counts"],
            properties: {
              version: { type: "string" },
              hostname: { type: "string" },
              mode: { type: "string", enum: ["database", "declarative"] },
              config_version: { type: "integer", description: "increases on every configuration change" },
              started_at: { type: "integer", description: "epoch seconds" },
              uptime_seconds: { type: "integer" },
              counts,
              plugins: { type: "object", properties: { available_on_server: { type: "array", items: { type: "string" } } } },
            },
          },
        },
      },
      handle: () =>
        json(200, {
          version: deps.version,
          hostname: hostname(),
          mode: deps.mode,
          config_version: state.current.version,
          started_at: Math.floor(deps.startedAt / 1000),
          uptime_seconds: Math.floor((Date.now() - deps.startedAt) / 1000),
          counts: Object.fromEntries(KINDS.map((kind) => [kind, store.count(kind)])),
          plugins: { available_on_server: [...registry.keys()] },
        }),
    },
    {
      method: "GET",
      path: "/status",
      operationId: "getStatus",
      tag: "node",
      summary: "Health",
      description: "200 when the node can serve its configuration; 503 with the reasons when it cannot.",
      responses: {
        200: { description: "healthy", schema: { $ref: "#/components/schemas/Status" }, example: { status: "ok", reasons: [], config_version: 7, database: { reachable: true } } },
        503: {
          description: "unhealthy, with the reasons",
          schema: { $ref: "#/components/schemas/Status" },
          example: { status: "unavailable", reasons: ["database unreachable: disk I/O error"], config_version: 7, database: { reachable: false } },
        },
      },
      handle: () => {
        const reasons = healthProblems(deps);
        const healthy = reasons.length === 0;
        return json(healthy ? 200 : 503, {
          status: healthy ? "ok" : "unavailable",
          reasons,
          config_version: state.current.version,
          database: { reachable: !reasons.some((reason) => reason.startsWith("database")) },
        });
      },
    },
    {
      method: "GET",
      path: "/metrics",
      operationId: "getMetrics",
      tag: "node",
      summary: "Prometheus metrics",
      description: "Proxied requests by route and status, authentication failures by reason, the upstream latency histogram and the configuration version.",
      responses: {
        200: {
          description: "Prometheus text exposition format",
          mediaType: "text/plain",
          schema: { type: "string" },
          example: "# TYPE gateway_config_version gauge\ngateway_config_version 7\n",
        },
      },
      handle: () => text(200, metrics.render(state.current.version), "text/plain; version=0.0.4; charset=utf-8"),
    },
  ];
}
