// The attempts of one request to a load-balanced service, whichever client carries them: the
// target of each attempt, its in-flight count and latency (least-connections, latency), its
// health (passive checks), and whether a failed attempt may go to another target.
import type { Balancer } from "../balancer/balancer.ts";
import type { HashInput } from "../balancer/hash-key.ts";
import type { Peer } from "../balancer/peer.ts";
import { eventNow } from "./event-clock.ts";
import { isIdempotent } from "./upstream/client.ts";
import { ClientGone, UpstreamClosedBeforeResponse, UpstreamConnectFailed, UpstreamConnectTimeout, UpstreamTimeout } from "./upstream/errors.ts";

export class TargetAttempts {
  /** The target of the attempt in progress (null before the first). */
  peer: Peer | null = null;
  private tried: Peer[] | null = null;
  private started = 0;

  constructor(
    private readonly balancer: Balancer,
    private readonly hashInput: HashInput | null,
    private readonly retries: number,
    /** The request can be sent again (it has no body). */
    private readonly replayable: boolean,
    private readonly method: string,
  ) {}

  /** The target of the next attempt, counted as in flight; null when none is left (Kong's 503). */
  next(): Peer | null {
    const peer = this.balancer.pick(this.hashInput, this.tried);
    if (peer === null) return null;
    this.peer = peer;
    if (this.balancer.tracksLoad) {
      peer.inFlight++;
      this.started = eventNow();
    }
    return peer;
  }

  answered(status: number): void {
    const peer = this.peer!;
    if (this.balancer.tracksLoad) {
      peer.inFlight--;
      peer.observeLatency(eventNow() - this.started);
    }
    if (peer.health.countsResponses) peer.health.passiveStatus(status);
  }

  /**
   * The attempt failed with `error`: told to the target's health; true when another target may
   * take the request: nothing was sent, or nothing came back to a request that may be sent twice
   * (nginx's proxy_next_upstream error), within `service.retries`.
   */
  again(error: Error): boolean {
    const peer = this.peer!;
    if (this.balancer.tracksLoad) peer.inFlight--;
    if (error instanceof ClientGone) return false;
    if (error instanceof UpstreamTimeout) peer.health.passiveTimeout();
    else if (error instanceof UpstreamConnectFailed && error.unresolved) peer.health.nameNotFound();
    else peer.health.passiveTcpFailure();
    (this.tried ??= []).push(peer);
    if (!this.replayable || this.tried.length > this.retries) return false;
    const unsent = error instanceof UpstreamConnectFailed || error instanceof UpstreamConnectTimeout;
    const unanswered = error instanceof UpstreamClosedBeforeResponse && isIdempotent(this.method);
    return unsent || unanswered;
  }
}
