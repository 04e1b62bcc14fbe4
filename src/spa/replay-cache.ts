// Digests of the SPA packets already used, each kept until its packet would be too old to
// accept anyway (timestamp + maxAge), so the cache holds only what could still be replayed.
// Bounded: when full of live entries it refuses to take more (the caller then refuses the
// packet: failing closed, since only a key holder can fill it).
export interface ReplayEntry {
  readonly digest: string;
  /** Epoch ms after which the packet is stale and the entry useless. */
  readonly until: number;
}

export const DEFAULT_REPLAY_CAPACITY = 65_536;

export class ReplayCache {
  private readonly entries = new Map<string, number>();
  private readonly capacity: number;

  constructor(capacity = DEFAULT_REPLAY_CAPACITY, saved: readonly ReplayEntry[] = []) {
    this.capacity = capacity;
    for (const entry of saved) this.entries.set(entry.digest, entry.until);
  }

  get size(): number {
    return this.entries.size;
  }

  seen(digest: string, now: number): boolean {
    const until = this.entries.get(digest);
    return until !== undefined && until >= now;
  }

  /** Remember a digest; false when the cache is full of entries that have not expired. */
  add(digest: string, until: number, now: number): boolean {
    if (this.entries.size >= this.capacity) this.prune(now);
    if (this.entries.size >= this.capacity) return false;
    this.entries.set(digest, until);
    return true;
  }

  prune(now: number): void {
    for (const [digest, until] of this.entries) if (until < now) this.entries.delete(digest);
  }

  /** The live entries, for the state file. */
  snapshot(now: number): ReplayEntry[] {
    this.prune(now);
    return [...this.entries].map(([digest, until]) => ({ digest, until }));
  }
}
