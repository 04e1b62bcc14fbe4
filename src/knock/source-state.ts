import type { Family } from '../address.js';
import { IDLE, type Track } from './sequence-track.js';

// Everything the tracker remembers about one source. A source with nothing to remember
// (isIdle) is not kept at all, so memory follows what sources are doing, not who they are.

export interface DoorTracks {
  readonly open: Track;
  readonly close: Track;
}

export const IDLE_TRACKS: DoorTracks = { open: IDLE, close: IDLE };

export type Standing = { readonly kind: 'clear' } | { readonly kind: 'banned'; readonly until: number };

export interface SourceState {
  readonly src: string;
  readonly family: Family;
  /** Doors with a track in progress (both tracks idle = no entry). */
  readonly tracks: Map<string, DoorTracks>;
  /** "sport>dport" → packet time of the last SYN sighting, oldest first (for retransmit detection). */
  readonly sightings: Map<string, number>;
  /** Clock times of failed attempts (resets) within the fail window, oldest first. */
  failures: number[];
  standing: Standing;
  /** Door → clock time a 'not-allowed' rejection was last reported. */
  readonly notices: Map<string, number>;
}

export function newSource(src: string, family: Family): SourceState {
  return { src, family, tracks: new Map(), sightings: new Map(), failures: [], standing: { kind: 'clear' }, notices: new Map() };
}

export function isIdle(state: SourceState): boolean {
  return (
    state.tracks.size === 0 &&
    state.sightings.size === 0 &&
    state.failures.length === 0 &&
    state.standing.kind === 'clear' &&
    state.notices.size === 0
  );
}

export interface Windows {
  readonly retransmitWindow: number;
  readonly failWindow: number;
  readonly timeoutOf: (door: string) => number;
}

/** The first clock time at which sweeping `state` would drop something (Infinity when never). */
export function deadlineOf(state: SourceState, windows: Windows): number {
  let at = state.standing.kind === 'banned' ? state.standing.until : Infinity;
  // Everything below is dropped once strictly older than its window, hence the +1.
  for (const [door, tracks] of state.tracks) {
    for (const track of [tracks.open, tracks.close]) {
      if (track.phase === 'knocking') at = Math.min(at, track.startedAt + windows.timeoutOf(door) + 1);
    }
  }
  for (const seen of state.sightings.values()) at = Math.min(at, seen + windows.retransmitWindow + 1);
  for (const [door, noticed] of state.notices) at = Math.min(at, noticed + windows.timeoutOf(door) + 1);
  if (state.failures.length > 0) at = Math.min(at, state.failures[0]! + windows.failWindow + 1);
  return at;
}
