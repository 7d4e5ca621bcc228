// Least-connections: the peer with the fewest requests in flight for its weight; ties go round
// the list so equal peers share the load.
import { type Peer, type Picker, eligible } from "./peer.ts";

export class LeastConnections implements Picker {
  private next = 0;

  constructor(private readonly peers: readonly Peer[]) {}

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
      const score = (peer.inFlight + 1) / peer.weight;
      if (score < bestScore) {
        best = peer;
        bestScore = score;
      }
    }
    return best;
  }
}
