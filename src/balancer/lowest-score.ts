// Least-connections and latency: the peer with the lowest score wins; ties go round the list so
// equal peers share the load. A peer not measured yet scores 0 on latency and is tried first.
import { type Peer, type Picker, eligible } from "./peer.ts";

export type PeerScore = (peer: Peer) => number;

/** Fewest requests in flight for the peer's weight. */
export const leastConnections: PeerScore = (peer) => (peer.inFlight + 1) / peer.weight;

/** Moving average of response time, scaled by requests in flight and weight. */
export const latency: PeerScore = (peer) => (peer.latencyMs * (peer.inFlight + 1)) / peer.weight;

export class LowestScore implements Picker {
  private next = 0;

  constructor(
    private readonly peers: readonly Peer[],
    private readonly score: PeerScore,
  ) {}

  pick(_key: string | null, tried: readonly Peer[] | null): Peer | null {
    return this.choose(tried) ?? (tried !== null ? this.choose(null) : null);
  }

  private choose(tried: readonly Peer[] | null): Peer | null {
    const peers = this.peers;
    const start = this.next++ % Math.max(peers.length, 1);
    let best: Peer | null = null;
    let bestScore = Infinity;
    for (let n = 0; n < peers.length; n++) {
      const peer = peers[(start + n) % peers.length]!;
      if (!eligible(peer, tried)) continue;
      const score = this.score(peer);
      if (score < bestScore) {
        best = peer;
        bestScore = score;
      }
    }
    return best;
  }
}
