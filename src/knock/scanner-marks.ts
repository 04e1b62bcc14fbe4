import { LruMap } from './lru-map.js';

// Sources marked as scanners (a logged packet to a tripwire port), each until `hold` after its
// latest hit. The guard logs at most one tripwire line per source per minute, so a hold above a
// minute keeps a scanner marked for as long as its scan goes on. Bounded: past `cap` marks the
// least recently hit goes (the price: a flood of more than `cap` scanning addresses within one
// hold lets the oldest of them knock unmarked again, never anyone else out).
export class ScannerMarks {
  private readonly marks = new LruMap<number>();
  private evictedCount = 0;

  constructor(
    private readonly hold: number,
    private readonly cap: number,
  ) {}

  get size(): number {
    return this.marks.size;
  }

  /** Marks dropped because the cap was reached. */
  get evicted(): number {
    return this.evictedCount;
  }

  /** Mark `src` from `at` (packet time) until `at + hold`; true when it was not marked before. */
  mark(src: string, at: number): boolean {
    const until = at + this.hold;
    const previous = this.marks.get(src);
    const fresh = previous === undefined || previous <= at;
    if (previous === undefined) {
      while (this.marks.size >= this.cap && this.marks.size > 0) {
        this.drop();
        this.evictedCount++;
      }
    }
    this.marks.set(src, Math.max(until, previous ?? until));
    return fresh;
  }

  /** Whether `src` is marked at `at`. */
  marked(src: string, at: number): boolean {
    const until = this.marks.get(src);
    return until !== undefined && at < until;
  }

  /** Forget marks that ended by `now` (oldest hits first: they end first, as the hold is one length). */
  expire(now: number): void {
    for (let oldest = this.marks.oldest(); oldest !== undefined && oldest <= now; oldest = this.marks.oldest())
      this.drop();
  }

  /** When the oldest mark ends (for the expiry timer). */
  nextExpiry(): number | undefined {
    return this.marks.oldest();
  }

  private drop(): void {
    const key = this.marks.oldestKey();
    if (key !== undefined) this.marks.delete(key);
  }
}
