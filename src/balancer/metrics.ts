// Kong's prometheus gauge of target health, `kong_upstream_target_health`: one series per target
// and state (healthchecks_off, healthy, unhealthy, dns_error), 1 for the state the target is in.
// Under `serve --workers N` each worker keeps its own health, so each worker's series carry
// `worker="<id>"`.
import { escapeLabel } from "../metrics.ts";
import type { Balancer } from "./balancer.ts";
import type { HealthReport } from "./health.ts";

const STATES = ["healthchecks_off", "healthy", "unhealthy", "dns_error"] as const;

/** One target's health as one process sees it (also sent from workers to the supervisor). */
export interface TargetHealthRow {
  upstreamId: string;
  upstream: string;
  targetId: string;
  target: string;
  address: string;
  health: HealthReport;
}

export function targetHealthRows(balancers: ReadonlyMap<string, Balancer>): TargetHealthRow[] {
  const rows: TargetHealthRow[] = [];
  for (const balancer of balancers.values()) {
    for (const peer of balancer.peers) {
      rows.push({ upstreamId: balancer.upstream.id, upstream: balancer.upstream.name, targetId: peer.target.id, target: peer.target.target, address: peer.authority, health: peer.health.report });
    }
  }
  return rows;
}

/** The gauge's lines, each set labelled with its worker when given; "" when there is no target. */
export function targetHealthMetrics(sets: { worker?: string; rows: readonly TargetHealthRow[] }[]): string {
  const lines: string[] = [];
  for (const { worker, rows } of sets) {
    const prefix = worker === undefined ? "" : `worker="${escapeLabel(worker)}",`;
    for (const row of rows) {
      const state = row.health.toLowerCase();
      const labels = `${prefix}upstream="${escapeLabel(row.upstream)}",target="${escapeLabel(row.target)}",address="${escapeLabel(row.address)}"`;
      for (const each of STATES) lines.push(`kong_upstream_target_health{${labels},state="${each}",subsystem="http"} ${each === state ? 1 : 0}`);
    }
  }
  if (lines.length === 0) return "";
  return `# HELP kong_upstream_target_health Health status of targets of upstream. States = healthchecks_off|healthy|unhealthy|dns_error, value is 1 when state is populated.\n# TYPE kong_upstream_target_health gauge\n${lines.join("\n")}\n`;
}
