import { LruMap } from './lru-map.js';
import type { SourceState } from './source-state.js';

// Tracked sources in two LRU tiers: those part-way through a sequence, and those kept only for
// bookkeeping (SYN sightings, failures, notices, bans). Eviction takes the least recently seen
// source of the second tier first, so sources that never knocked a first step — scanners, floods
// to the wrong ports — can never push out someone in the middle of a knock.
export class SourceTable {
  private readonly progressing = new LruMap<SourceState>();
  private readonly lingering = new LruMap<SourceState>();

  get size(): number {
    return this.progressing.size + this.lingering.size;
  }

  get(src: string): SourceState | undefined {
    return this.progressing.get(src) ?? this.lingering.get(src);
  }

  /** Store `state` as the most recently seen of its tier. */
  put(state: SourceState): void {
    const [into, other] = state.tracks ? [this.progressing, this.lingering] : [this.lingering, this.progressing];
    other.delete(state.src);
    into.set(state.src, state);
  }

  /** Move `state` to the tier it now belongs to, if it changed, without counting that as being seen. */
  settle(state: SourceState): void {
    const [into, other] = state.tracks ? [this.progressing, this.lingering] : [this.lingering, this.progressing];
    if (into.get(state.src) !== undefined) return;
    other.delete(state.src);
    into.set(state.src, state);
  }

  delete(src: string): void {
    this.progressing.delete(src);
    this.lingering.delete(src);
  }

  /** Who goes when the table is full. */
  victim(): SourceState | undefined {
    return this.lingering.oldest() ?? this.progressing.oldest();
  }

  *values(): IterableIterator<SourceState> {
    yield* this.lingering.values();
    yield* this.progressing.values();
  }
}
