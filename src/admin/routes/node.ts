// Node information (GET /), health (GET /status) and Prometheus metrics (GET /metrics). Under
// `serve --workers N` the proxy runs in the workers: /metrics sums their counters and /status
// lists them, both asked fresh over IPC at request time.
import { targetHealthMetrics, targetHealthRows } from "../../balancer/metrics.ts";
import { hostname } from "node:os";
import { describeError } from "../../errors.ts";
import type { Kind } from "../../db/store.ts";
import { Metrics, renderMetrics } from "../../metrics.ts";
import { configDigest } from "../../workers/ipc.ts";
import type { AdminDeps, WorkerPool } from "../deps.ts";
import { json, text } from "../http.ts";
import type { Operation } from "../operation.ts";

const KINDS: Kind[] = ["services", "routes", "consumers", "jwt_secrets", "acls", "keyauth_credentials", "basicauth_credentials", "plugins", "keys"];
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

const PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8";

/** The workers' counters summed, or with `perWorker` one set per worker labelled `worker="<id>"` (and `"exited"`). */
async function workerMetrics(workers: WorkerPool, perWorker: boolean, configVersion: number): Promise<string> {
  const sets = await workers.metrics();
  // Gauges of health do not add up: each worker's are shown under its label, summed or not.
  const health = targetHealthMetrics((await workers.targetHealth()).map(({ worker, rows }) => ({ worker, rows })));
  if (perWorker) return renderMetrics(sets.map(({ worker, metrics }) => ({ label: `worker="${worker}"`, metrics })), configVersion) + health;
  const total = Metrics.empty();
  for (const { metrics } of sets) total.add(metrics.snapshot());
  return total.render(configVersion) + health;
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
        const body = {
          status: "ok",
          reasons,
          config_version: state.current.version,
          database: { reachable: !reasons.some((reason) => reason.startsWith("database")) },
        };
        if (!deps.workers) return json(reasons.length === 0 ? 200 : 503, { ...body, status: reasons.length === 0 ? "ok" : "unavailable" });
        return deps.workers.status().then((workers) => {
          // Serving while one worker restarts is still serving: only no worker at all is unavailable.
          if (!workers.some((worker) => worker.state === "running")) reasons.push(`no worker is serving (${workers.map((w) => `worker ${w.id}: ${w.state}${w.last_exit ? `, last ${w.last_exit}` : ""}`).join("; ")})`);
          const healthy = reasons.length === 0;
          return json(healthy ? 200 : 503, { ...body, status: healthy ? "ok" : "unavailable", config_digest: configDigest(state.current), workers });
        });
      },
    },
    {
      method: "GET",
      path: "/metrics",
      operationId: "getMetrics",
      tag: "node",
      summary: "Prometheus metrics",
      description:
        "Proxied requests by route and status, authentication failures by reason, the upstream latency histogram and the configuration version; Kong's `kong_*` series (kong_http_requests_total, kong_*_latency_ms, kong_bandwidth_bytes) for routes with the prometheus plugin; kong_upstream_target_health for each target of each upstream (with --workers, each worker's view under its worker label). With `serve --workers N`, the sum over every worker (and the workers that have exited since the start), unless `per_worker=1` asks for one labelled set per worker.",
      query: [
        {
          name: "per_worker",
          description: "1: with --workers N, one set of series per worker, labelled worker=\"<id>\" (worker=\"exited\": what exited worker processes had counted), instead of their sum",
          schema: { type: "string", enum: ["0", "1"], default: "0" },
          example: "1",
        },
      ],
      responses: {
        200: {
          description: "Prometheus text exposition format",
          mediaType: "text/plain",
          schema: { type: "string" },
          example: "# TYPE gateway_config_version gauge\ngateway_config_version 7\n",
        },
      },
      handle: ({ url }) => {
        if (!deps.workers) return text(200, metrics.render(state.current.version) + targetHealthMetrics([{ rows: targetHealthRows(state.current.balancers) }]), PROMETHEUS);
        const perWorker = url.searchParams.get("per_worker") === "1";
        return workerMetrics(deps.workers, perWorker, state.current.version).then((body) => text(200, body, PROMETHEUS));
      },
    },
  ];
}
