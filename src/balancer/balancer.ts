// The balancers of one snapshot, one per upstream, built when the configuration changes: each
// holds its targets as peers (health carried over from the previous build through the
// HealthBook) and the picker of its algorithm. A service whose host names an upstream is
// given that upstream's balancer when the router is compiled; the request path only picks.
import { type Target, parseTarget } from "../entities/target.ts";
import { type Healthchecks, type Upstream } from "../entities/upstream.ts";
import { ConsistentHashing } from "./consistent-hashing.ts";
import { type HashInput, hashKey } from "./hash-key.ts";
import type { HealthBook, TargetHealth } from "./health.ts";
import { LowestScore, latency, leastConnections } from "./lowest-score.ts";
import { Peer, type Picker } from "./peer.ts";
import { RoundRobin } from "./round-robin.ts";

export class Balancer {
  readonly peers: readonly Peer[];
  private readonly picker: Picker;
  readonly hashing: boolean;
  /** The algorithm chooses by requests in flight and response times, which are then counted. */
  readonly tracksLoad: boolean;
  private readonly threshold: number;
  private readonly totalWeight: number;

  constructor(
    readonly upstream: Upstream,
    targets: readonly Target[],
    healthOf: (target: Target) => TargetHealth,
  ) {
    // Writes validate targets; one that does not parse (a row written by hand) is left out rather than failing the whole snapshot.
    this.peers = targets.filter((target) => typeof parseTarget(target.target) !== "string").map((target) => new Peer(target, healthOf(target), upstream.host_header));
    this.hashing = upstream.algorithm === "consistent-hashing";
    this.tracksLoad = upstream.algorithm === "least-connections" || upstream.algorithm === "latency";
    this.picker =
      upstream.algorithm === "consistent-hashing"
        ? new ConsistentHashing(this.peers, upstream.slots)
        : upstream.algorithm === "least-connections"
          ? new LowestScore(this.peers, leastConnections)
          : upstream.algorithm === "latency"
            ? new LowestScore(this.peers, latency)
            : new RoundRobin(this.peers);
    this.threshold = (upstream.healthchecks as Healthchecks).threshold;
    this.totalWeight = this.peers.reduce((sum, peer) => sum + peer.weight, 0);
  }

  /** The peer for a request, or null when none can take it (all unhealthy, weight 0, or below the threshold). */
  pick(input: HashInput | null, tried: readonly Peer[] | null): Peer | null {
    if (this.threshold > 0 && this.healthyPercent() < this.threshold) return null;
    return this.picker.pick(this.hashing && input !== null ? hashKey(this.upstream, input) : null, tried);
  }

  /** Healthy weight as a percentage of the total (Kong's healthchecks.threshold). */
  healthyPercent(): number {
    if (this.totalWeight === 0) return 0;
    let healthy = 0;
    for (const peer of this.peers) if (peer.available) healthy += peer.weight;
    return (healthy * 100) / this.totalWeight;
  }

  /** Kong's upstream health: HEALTHY while some weight is available and the threshold is met. */
  get healthy(): boolean {
    const percent = this.healthyPercent();
    return percent > 0 && percent >= this.threshold;
  }
}

/** The balancer of each upstream, by upstream name (lower case), built over `book`. */
export function buildBalancers(upstreams: readonly Upstream[], targets: readonly Target[], book: HealthBook): ReadonlyMap<string, Balancer> {
  const byUpstream = new Map<string, Target[]>();
  for (const target of targets) {
    const list = byUpstream.get(target.upstream.id);
    if (list) list.push(target);
    else byUpstream.set(target.upstream.id, [target]);
  }
  const used = new Map<string, TargetHealth>();
  const balancers = new Map<string, Balancer>();
  for (const upstream of upstreams) {
    const checks = upstream.healthchecks as Healthchecks;
    const balancer = new Balancer(upstream, byUpstream.get(upstream.id) ?? [], (target) => book.health(upstream.id, upstream.name, target.target, checks, used));
    balancers.set(upstream.name.toLowerCase(), balancer);
  }
  book.keep(used);
  return balancers;
}
