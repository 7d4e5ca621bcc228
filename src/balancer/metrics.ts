// Kong's prometheus gauge of target health, `kong_upstream_target_health`: one series per target
// and state (healthchecks_off, healthy, unhealthy, dns_error), 1 for the state the target is in.
import { escapeLabel } from "../metrics.ts";
import type { Balancer } from "./balancer.ts";

const STATES = ["healthchecks_off", "healthy", "unhealthy", "dns_error"] as const;

/** The gauge's lines for every target of every upstream, or "" when there is no upstream. */
export function targetHealthMetrics(balancers: ReadonlyMap<string, Balancer>): string {
  const lines: string[] = [];
  for (const balancer of balancers.values()) {
    const upstream = escapeLabel(balancer.upstream.name);
    for (const peer of balancer.peers) {
      const state = peer.health.report.toLowerCase();
      const labels = `upstream="${upstream}",target="${escapeLabel(peer.target.target)}",address="${escapeLabel(peer.authority)}"`;
      for (const each of STATES) lines.push(`kong_upstream_target_health{${labels},state="${each}",subsystem="http"} ${each === state ? 1 : 0}`);
    }
  }
  if (lines.length === 0) return "";
  return `# HELP kong_upstream_target_health Health status of targets of upstream. States = healthchecks_off|healthy|unhealthy|dns_error, value is 1 when state is populated.\n# TYPE kong_upstream_target_health gauge\n${lines.join("\n")}\n`;
}
