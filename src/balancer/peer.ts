// One target as the balancer uses it: where to connect, the Host it gets, its weight, its
// health, and the counts least-connections and latency choose by.
import type { Target } from "../entities/target.ts";
import { parseTarget } from "../entities/target.ts";
import type { UpstreamEndpoint } from "../proxy/upstream/client.ts";
import type { TargetHealth } from "./health.ts";

/** Weight of the latency average given to each new sample. */
const EWMA_WEIGHT = 0.2;

export class Peer {
  readonly hostname: string;
  readonly port: number;
  /** The gateway's own HTTP/1.1 client connects here (http services). */
  readonly endpoint: UpstreamEndpoint;
  /** `host:port` in URL form, for fetch (https services, requests with a body). */
  readonly authority: string;
  /** Host header per service protocol: the port only when it is not the protocol's default. */
  readonly httpHost: string;
  readonly httpsHost: string;
  /** Requests sent and not yet answered (least-connections). */
  inFlight = 0;
  /** Moving average of the time to the response head, ms; 0 until measured (latency). */
  latencyMs = 0;

  constructor(
    readonly target: Target,
    readonly health: TargetHealth,
    /** The upstream's host_header: sent instead of the target's host. */
    hostHeader: string | null,
  ) {
    const address = parseTarget(target.target);
    if (typeof address === "string") throw new Error(`target ${target.target}: ${address}`);
    this.hostname = address.hostname;
    this.port = address.port;
    this.authority = `${address.host}:${address.port}`;
    this.endpoint = { key: this.authority, hostname: address.hostname, port: address.port };
    const host = hostHeader ?? address.host;
    this.httpHost = address.port === 80 ? host : `${host}:${address.port}`;
    this.httpsHost = address.port === 443 ? host : `${host}:${address.port}`;
  }

  get weight(): number {
    return this.target.weight;
  }

  /** In the rotation: weighted, healthy and its name resolves. */
  get available(): boolean {
    return this.target.weight > 0 && this.health.usable;
  }

  observeLatency(ms: number): void {
    this.latencyMs = this.latencyMs === 0 ? Math.max(ms, 0.001) : this.latencyMs + (ms - this.latencyMs) * EWMA_WEIGHT;
  }
}

/** How one algorithm chooses among the peers of an upstream. */
export interface Picker {
  /** `key`: the hash input (consistent-hashing), null otherwise; `tried`: peers a retry should avoid. */
  pick(key: string | null, tried: readonly Peer[] | null): Peer | null;
}

/** Whether `peer` may be chosen: available, and not tried yet unless nothing else is left. */
export function eligible(peer: Peer, tried: readonly Peer[] | null): boolean {
  return peer.available && (tried === null || !tried.includes(peer));
}
