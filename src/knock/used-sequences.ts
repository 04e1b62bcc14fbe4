import type { Door } from '../model/door.js';
import { keyRelevantUntil, legacyOneTimeKey, oneTimeKey } from './door-plan.js';

// Single-use sequences (one-time and time-based) that have opened once: persisted in the state
// file, shared in the fleet, and keyed by the sequence itself (oneTimeKey, timeBasedKey).
export class UsedSequences {
  private readonly used: Set<string>;

  constructor(keys: Iterable<string>) {
    this.used = new Set(keys);
  }

  has(key: string): boolean {
    return this.used.has(key);
  }

  /** Remember `key`; true when it is new. */
  add(key: string): boolean {
    if (this.used.has(key)) return false;
    this.used.add(key);
    return true;
  }

  /** Drop time-based keys no attempt can complete any more (their window ended before `before`). */
  prune(before: number): void {
    for (const key of this.used) if (keyRelevantUntil(key) < before) this.used.delete(key);
  }

  keys(): string[] {
    return [...this.used].sort();
  }
}

/** The keys to start from: those given, plus the sequence-keyed form of a state file's older door-named keys. */
export function usedKeysFrom(doors: readonly Door[], saved: ReadonlySet<string>): Set<string> {
  const keys = new Set(saved);
  for (const door of doors) {
    for (const steps of door.oneTimeSequences)
      if (saved.has(legacyOneTimeKey(door.name, steps))) keys.add(oneTimeKey(steps));
  }
  return keys;
}
