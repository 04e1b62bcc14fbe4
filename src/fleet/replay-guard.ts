// Message ids seen, each kept until its message expires (after that the expiry check
// refuses it anyway), bounded: past `capacity` the soonest-expiring ids go first.
export class ReplayGuard {
  private readonly seen = new Map<string, number>();
  private readonly capacity: number;

  constructor(capacity = 100_000) {
    this.capacity = capacity;
  }

  /** True when `id` is new (and remembers it until `exp`); false for a replay. */
  admit(id: string, exp: number, now: number): boolean {
    if (this.seen.has(id)) return false;
    if (this.seen.size >= this.capacity) this.prune(now);
    this.seen.set(id, exp);
    return true;
  }

  has(id: string): boolean {
    return this.seen.has(id);
  }

  get size(): number {
    return this.seen.size;
  }

  private prune(now: number): void {
    for (const [id, exp] of this.seen) if (exp <= now) this.seen.delete(id);
    if (this.seen.size < this.capacity) return;
    const byExpiry = [...this.seen].sort((a, b) => a[1] - b[1]);
    for (const [id] of byExpiry.slice(0, Math.max(1, Math.floor(this.capacity / 10)))) this.seen.delete(id);
  }
}
