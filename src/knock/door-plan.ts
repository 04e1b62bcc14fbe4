import { formatStep, type Door, type Step } from '../model/door.js';
import type { Candidate } from './sequence-track.js';
import { LiveWindowKeys } from './live-window-keys.js';
import { SPA_USED_PREFIX } from '../spa/replay-share.js';
import { deriveSequence, liveWindows, windowAt } from './time-based.js';

// What the tracker needs to know about one door, worked out once: its candidate sequences and
// which knocks belong to it.

/**
 * The key under which a used one-time sequence is remembered, persisted and shared in the fleet:
 * the sequence itself, not the door's name, so renaming a door keeps it used and a sequence
 * that two doors share opens once.
 */
export function oneTimeKey(steps: readonly Step[]): string {
  return `once:${steps.map(formatStep).join(',')}`;
}

/** The key of a used one-time sequence in state files written before keys were the sequence alone. */
export function legacyOneTimeKey(door: string, steps: readonly Step[]): string {
  return `${door}:${steps.map(formatStep).join(',')}`;
}

/**
 * The key of a used time-based sequence: its knocks and the end of the time a first knock may
 * take it (the window after its own), so a later window that happens to derive the same knocks
 * is a new sequence and old keys can be dropped once that time and a timeout have passed.
 */
export function timeBasedKey(window: number, period: number, steps: readonly Step[]): string {
  return `time:${(window + 2) * period}:${steps.map(formatStep).join(',')}`;
}

/**
 * Until when a used-sequence key matters (epoch ms, before adding a timeout); Infinity for one-time keys.
 * Used SPA packets share the form (`spa:<until>:<digest>`, src/spa/replay-share.ts): their `until` is
 * when the packet turns stale, no timeout added.
 */
export function keyRelevantUntil(key: string): number {
  const start = key.startsWith('time:') ? 5 : key.startsWith(SPA_USED_PREFIX) ? SPA_USED_PREFIX.length : 0;
  if (start === 0) return Infinity;
  const end = Number(key.slice(start, key.indexOf(':', start)));
  return Number.isFinite(end) ? end : Infinity;
}

export interface DoorPlan {
  readonly door: Door;
  /** Open candidates for a first knock at packet time `at`. */
  openCandidates(at: number): readonly Candidate[];
  readonly closeCandidates: readonly Candidate[];
  /** Whether `key` is a knock on this door at `at` (any step of any sequence an attempt might be following). */
  knocks(key: string, at: number): boolean;
}

const keysOf = (steps: readonly Step[]): string[] => steps.map(formatStep);

export function planDoor(door: Door): DoorPlan {
  const fixed: Candidate[] = [];
  if (door.sequence.length > 0) fixed.push({ keys: keysOf(door.sequence), origin: { kind: 'fixed' } });
  for (const steps of door.oneTimeSequences) {
    if (steps.length > 0) fixed.push({ keys: keysOf(steps), origin: { kind: 'one-time', key: oneTimeKey(steps) } });
  }
  const closeCandidates: Candidate[] =
    door.closeSequence.length > 0 ? [{ keys: keysOf(door.closeSequence), origin: { kind: 'close' } }] : [];
  const fixedKeys = new Set([...fixed, ...closeCandidates].flatMap((candidate) => candidate.keys));

  const derived = new Map<number, Candidate>();
  // Enough windows for every attempt that may still be running (started up to one timeout ago, in
  // that moment's previous window), so knocks() never derives the same window twice in a row.
  const cachedWindows = door.timeBased ? liveWindows(door.timeout, door.timeBased.period) + 2 : 0;
  const timeBased = (window: number): Candidate | undefined => {
    const spec = door.timeBased;
    if (!spec) return undefined;
    let candidate = derived.get(window);
    if (!candidate) {
      const derivedSteps = deriveSequence(spec, window);
      candidate = {
        keys: keysOf(derivedSteps),
        origin: { kind: 'time-based', window, key: timeBasedKey(window, spec.period, derivedSteps) },
      };
      derived.set(window, candidate);
      if (derived.size > cachedWindows) derived.delete(derived.keys().next().value as number);
    }
    return candidate;
  };
  const live = new LiveWindowKeys((window) => timeBased(window)!.keys);

  return {
    door,
    closeCandidates,
    openCandidates(at) {
      if (!door.timeBased) return fixed;
      const window = windowAt(door.timeBased, at);
      // The current and the previous window: a knock started just before a window change still works.
      return [...fixed, timeBased(window)!, timeBased(window - 1)!];
    },
    knocks(key, at) {
      if (fixedKeys.has(key)) return true;
      if (!door.timeBased) return false;
      return live.has(key, windowAt(door.timeBased, at - door.timeout) - 1, windowAt(door.timeBased, at));
    },
  };
}
