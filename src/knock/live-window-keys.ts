import { MAX_LIVE_WINDOWS } from './time-based.js';

// The knock keys of a sliding range of time windows, kept as one counted union so that
// "is this packet a knock on the door?" is a single lookup: the range moves by a window
// now and then (amortised O(sequence length)), never re-derived per packet, whatever the
// door's timeout and period.
const SAFETY_WINDOWS = 4 * MAX_LIVE_WINDOWS;

export class LiveWindowKeys {
  private from = 0;
  private to = -1;
  private readonly windows = new Map<number, readonly string[]>();
  private readonly counts = new Map<string, number>();

  constructor(private readonly keysOf: (window: number) => readonly string[]) {}

  /** Whether `key` is a knock of any window in [from, to] (at most the last SAFETY_WINDOWS of them, whatever the caller asks). */
  has(key: string, from: number, to: number): boolean {
    this.moveTo(Math.max(from, to - SAFETY_WINDOWS + 1), to);
    return this.counts.has(key);
  }

  private moveTo(from: number, to: number): void {
    if (from === this.from && to === this.to) return;
    if (from > this.to || to < this.from) {
      for (const window of [...this.windows.keys()]) this.remove(window);
      for (let window = from; window <= to; window++) this.add(window);
    } else {
      for (let window = this.from; window < from; window++) this.remove(window);
      for (let window = to + 1; window <= this.to; window++) this.remove(window);
      for (let window = from; window < this.from; window++) this.add(window);
      for (let window = this.to + 1; window <= to; window++) this.add(window);
    }
    this.from = from;
    this.to = to;
  }

  private add(window: number): void {
    const keys = this.keysOf(window);
    this.windows.set(window, keys);
    for (const key of keys) this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  private remove(window: number): void {
    const keys = this.windows.get(window);
    if (!keys) return;
    this.windows.delete(window);
    for (const key of keys) {
      const left = (this.counts.get(key) ?? 1) - 1;
      if (left === 0) this.counts.delete(key);
      else this.counts.set(key, left);
    }
  }
}
