// Weighted round-robin, smooth (nginx's algorithm): each pick adds every peer's weight to its
// running score, takes the highest and subtracts the total, so over any window of W picks
// (W the sum of weights) each peer gets exactly its weight, spread out rather than in bursts.
import { type Peer, type Picker, eligible } from "./peer.ts";

export class RoundRobin implements Picker {
  private readonly current: number[];

  constructor(private readonly peers: readonly Peer[]) {
    this.current = peers.map(() => 0);
  }

  pick(_key: string | null, tried: readonly Peer[] | null): Peer | null {
    const chosen = this.choose(tried);
    // A retry with every other peer tried goes back to one already tried.
    return chosen === null && tried !== null ? this.choose(null) : chosen;
  }

  private choose(tried: readonly Peer[] | null): Peer | null {
    const peers = this.peers;
    const current = this.current;
    let total = 0;
    let best = -1;
    for (let i = 0; i < peers.length; i++) {
      const peer = peers[i]!;
      if (!eligible(peer, tried)) continue;
      current[i]! += peer.weight;
      total += peer.weight;
      if (best < 0 || current[i]! > current[best]!) best = i;
    }
    if (best < 0) return null;
    current[best]! -= total;
    return peers[best]!;
  }
}
