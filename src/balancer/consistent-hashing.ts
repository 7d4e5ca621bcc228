// Consistent hashing: a ring of `slots` positions. Each peer places points on it in proportion
// to its weight, at positions hashed from its address, so a peer added or removed moves only
// the keys between its points and their neighbours (about 1/N of them). Every slot owns the
// next point clockwise; a key hashes to a slot and goes to its owner, or onward round the ring
// to the first available peer when the owner is unhealthy (or already tried on a retry).
import { RoundRobin } from "./round-robin.ts";
import { type Peer, type Picker, eligible } from "./peer.ts";

/**
 * Points per unit of weight (160 for Kong's default weight of 100, as ketama places): a peer's
 * points depend on its own weight only, so adding a peer leaves every other peer's points
 * where they were and moves only the keys that now land on the new peer's points.
 */
const POINTS_PER_WEIGHT = 1.6;

export class ConsistentHashing implements Picker {
  /** The owner (an index into peers) of each slot; -1 when no peer has weight. */
  private readonly ring: Int32Array;
  /** Requests without a hash value (no header, no consumer ...) are spread round-robin. */
  private readonly unkeyed: RoundRobin;

  constructor(
    private readonly peers: readonly Peer[],
    slots: number,
  ) {
    this.unkeyed = new RoundRobin(peers);
    this.ring = new Int32Array(slots).fill(-1);
    const weighted = peers.map((peer, index) => ({ peer, index })).filter(({ peer }) => peer.weight > 0);
    if (weighted.length === 0) return;
    const points: { at: number; owner: number }[] = [];
    for (const { peer, index } of weighted) {
      const count = Math.max(1, Math.ceil(peer.weight * POINTS_PER_WEIGHT));
      for (let i = 0; i < count; i++) points.push({ at: Bun.hash.crc32(`${peer.authority}#${i}`) % slots, owner: index });
    }
    // Ties on a position go to the lower address, so the ring is the same whatever the order of targets.
    points.sort((a, b) => a.at - b.at || (peers[a.owner]!.authority < peers[b.owner]!.authority ? -1 : 1));
    let p = 0;
    for (let slot = 0; slot < slots; slot++) {
      while (p < points.length && points[p]!.at < slot) p++;
      this.ring[slot] = points[p < points.length ? p : 0]!.owner;
    }
  }

  /** The slot a key lands on. */
  slotOf(key: string): number {
    return Bun.hash.crc32(key) % this.ring.length;
  }

  pick(key: string | null, tried: readonly Peer[] | null): Peer | null {
    if (key === null) return this.unkeyed.pick(null, tried);
    return this.walk(this.slotOf(key), tried) ?? (tried !== null ? this.walk(this.slotOf(key), null) : null);
  }

  private walk(start: number, tried: readonly Peer[] | null): Peer | null {
    const ring = this.ring;
    if (ring[start] === -1) return null;
    let last = -1;
    for (let n = 0; n < ring.length; n++) {
      const owner = ring[(start + n) % ring.length]!;
      if (owner === last) continue;
      last = owner;
      const peer = this.peers[owner]!;
      if (eligible(peer, tried)) return peer;
    }
    return null;
  }
}
