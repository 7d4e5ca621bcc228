// The admin endpoints of `upstreams` and their `targets` (derived from the entity definitions),
// and Kong's health endpoints: `/upstreams/{u}/health` and the manual healthy/unhealthy override
// of one target, read from and written to this process's balancers (src/balancer). Under
// `serve --workers N` the balancers that carry traffic are the workers': their views are
// asked over IPC and the override is sent to each (README "Load balancing").
import type { Balancer } from "../../balancer/balancer.ts";
import type { HealthReport } from "../../balancer/health.ts";
import type { Peer } from "../../balancer/peer.ts";
import type { Kind } from "../../db/store.ts";
import { quote } from "../../entities/quote.ts";
import type { Target } from "../../entities/target.ts";
import type { Healthchecks } from "../../entities/upstream.ts";
import { NotFoundError } from "../../errors.ts";
import { derivedOperations, documented } from "../crud.ts";
import type { AdminDeps, WorkerPool } from "../deps.ts";
import { json, noContent } from "../http.ts";
import type { Operation } from "../operation.ts";

const ENTITIES: Kind[] = ["upstreams", "targets"];

/** A target as Kong's health endpoint lists it; `byWorker`: each worker's view under `--workers N`. */
function peerHealth(peer: Peer, byWorker?: Record<string, HealthReport>): Record<string, unknown> {
  const views = byWorker ? Object.values(byWorker) : [];
  // Workers keep their own health: one that took the target out makes it UNHEALTHY here.
  const health = !byWorker ? peer.health.report : views.includes("UNHEALTHY") ? "UNHEALTHY" : (views[0] ?? peer.health.report);
  const { target } = peer;
  return {
    ...target,
    health,
    data: { addresses: [{ ip: peer.hostname, port: peer.port, health, weight: target.weight }], ...(byWorker ? { workers: byWorker } : {}) },
  };
}

async function healthByWorker(workers: WorkerPool, upstreamId: string): Promise<Map<string, Record<string, HealthReport>>> {
  const byTarget = new Map<string, Record<string, HealthReport>>();
  for (const { worker, rows } of await workers.targetHealth()) {
    for (const row of rows) {
      if (row.upstreamId !== upstreamId) continue;
      let views = byTarget.get(row.targetId);
      if (!views) byTarget.set(row.targetId, (views = {}));
      views[worker] = row.health;
    }
  }
  return byTarget;
}

function balancerHealth(balancer: Balancer): Record<string, unknown> {
  const total = balancer.peers.reduce((sum, peer) => sum + peer.weight, 0);
  const available = balancer.peers.reduce((sum, peer) => sum + (peer.available ? peer.weight : 0), 0);
  const checked = balancer.peers.some((peer) => peer.health.report !== "HEALTHCHECKS_OFF");
  return {
    id: balancer.upstream.id,
    health: !checked ? "HEALTHCHECKS_OFF" : balancer.healthy ? "HEALTHY" : "UNHEALTHY",
    details: { healthy: balancer.healthy, weight: { total, available, unavailable: total - available } },
  };
}

export function upstreamOperations(deps: AdminDeps): Operation[] {
  const { store, state } = deps;
  const crud = ENTITIES.flatMap((name) => {
    const entity = store.entities.find((candidate) => candidate.name === name);
    return entity ? derivedOperations(store, entity) : [];
  });
  const balancerOf = (key: string): Balancer => {
    const upstream = store.get("upstreams", key);
    const balancer = state.current.balancers.get(upstream.name.toLowerCase());
    if (!balancer) throw new NotFoundError(`upstream ${quote(key)} not found`);
    return balancer;
  };
  const peerOf = (params: Record<string, string>): Peer => {
    const balancer = balancerOf(params.upstream!);
    const target: Target = store.get("targets", params.target!, { kind: "upstreams", id: balancer.upstream.id });
    const peer = balancer.peers.find((candidate) => candidate.target.id === target.id);
    if (!peer) throw new NotFoundError(`target ${quote(params.target!)} not found`);
    return peer;
  };
  const override = (healthy: boolean): Operation => ({
    method: "PUT",
    path: `/upstreams/:upstream/targets/:target/${healthy ? "healthy" : "unhealthy"}`,
    operationId: `setUpstreamTarget${healthy ? "Healthy" : "Unhealthy"}`,
    tag: "upstreams",
    // Refused with the other writes when the configuration comes from a file.
    write: true,
    summary: `Mark a target ${healthy ? "healthy" : "unhealthy"}`,
    description: `Kong's manual override: the target ${healthy ? "returns to" : "leaves"} the rotation of this process at once; health checks go on from there.`,
    responses: { 204: { description: "set" } },
    handle: ({ params }) => {
      const peer = peerOf(params);
      if (deps.workers) deps.workers.setTargetHealth(peer.target.upstream.id, peer.target.id, healthy);
      else peer.health.set(healthy);
      return noContent();
    },
  });
  return [
    ...crud,
    ...documented(store.entities, [
      {
        method: "GET",
        path: "/upstreams/:upstream/health",
        operationId: "getUpstreamHealth",
        tag: "upstreams",
        summary: "Health of an upstream's targets",
        description:
          "Each target with `health`: HEALTHY, UNHEALTHY, HEALTHCHECKS_OFF (no check configured) or DNS_ERROR (its name does not resolve), as this process sees it (with --workers, each worker's view under `data.workers`). `?balancer_health=1`: the upstream's own health instead (UNHEALTHY when no weight is available or less than `healthchecks.threshold` percent is).",
        query: [{ name: "balancer_health", description: "report the upstream's health instead of its targets'", schema: { type: "string" }, example: "1" }],
        responses: { 200: { description: "targets with their health" } },
        handle: async ({ params, url }) => {
          const balancer = balancerOf(params.upstream!);
          if (url.searchParams.has("balancer_health") && !deps.workers) return json(200, { data: balancerHealth(balancer) });
          const views = deps.workers ? await healthByWorker(deps.workers, balancer.upstream.id) : undefined;
          const data = balancer.peers.map((peer) => peerHealth(peer, views ? (views.get(peer.target.id) ?? {}) : undefined));
          if (url.searchParams.has("balancer_health")) {
            // Under --workers: the upstream as the workers' views of its targets add up.
            const total = data.reduce((sum, entry) => sum + (entry.weight as number), 0);
            const available = data.reduce((sum, entry) => sum + (entry.health === "UNHEALTHY" ? 0 : (entry.weight as number)), 0);
            const healthy = total > 0 && (available * 100) / total >= Math.max((balancer.upstream.healthchecks as Healthchecks).threshold, Number.MIN_VALUE);
            return json(200, { data: { id: balancer.upstream.id, health: healthy ? "HEALTHY" : "UNHEALTHY", details: { healthy, weight: { total, available, unavailable: total - available } } } });
          }
          return json(200, { total: data.length, data, next: null });
        },
      },
      override(true),
      override(false),
    ]),
  ];
}
