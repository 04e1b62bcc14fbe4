import type { Family } from '../model/address.js';
import { IDLE, type Track } from './sequence-track.js';

// Everything the tracker remembers about one source. A source with nothing to remember
// (isIdle) is not kept at all, and each collection exists only while it holds something:
// under a flood of new sources, memory per source is what decides how many fit under the cap.
// There is no ban: wrong knocks are a signal anyone can forge with the owner's address, so they
// only reset that address's own progress (docs/replay-and-spoofing.md).

export interface DoorTracks {
  readonly open: Track;
  readonly close: Track;
}

export const IDLE_TRACKS: DoorTracks = { open: IDLE, close: IDLE };

export interface SourceState {
  readonly src: string;
  readonly family: Family;
  /** Doors with a track in progress (both tracks idle = no entry). */
  tracks: Map<string, DoorTracks> | undefined;
  /** sport × 65536 + dport → packet time of the last SYN sighting, oldest first (for retransmit detection). */
  sightings: Map<number, number> | undefined;
  /** Packet time of the newest sighting: all of them are dropped together once it is old. */
  lastSighting: number;
  /** Door → clock time a 'not-allowed' rejection was last reported. */
  notices: Map<string, number> | undefined;
}

export function newSource(src: string, family: Family): SourceState {
  return { src, family, tracks: undefined, sightings: undefined, lastSighting: -Infinity, notices: undefined };
}

export function isIdle(state: SourceState): boolean {
  return !state.tracks && !state.sightings && !state.notices;
}

export function tracksOf(state: SourceState, door: string): DoorTracks {
  return state.tracks?.get(door) ?? IDLE_TRACKS;
}

export function setTracks(state: SourceState, door: string, tracks: DoorTracks): void {
  if (tracks.open.phase === 'knocking' || tracks.close.phase === 'knocking') {
    (state.tracks ??= new Map()).set(door, tracks);
  } else if (state.tracks?.delete(door) && state.tracks.size === 0) {
    state.tracks = undefined;
  }
}

/** Record a SYN sighting, returning the previous one for the same ports. Past `max` sightings the older half is forgotten. */
export function noteSighting(
  state: SourceState,
  sport: number,
  dport: number,
  at: number,
  max: number,
): number | undefined {
  const key = sport * 65_536 + dport;
  let sightings = (state.sightings ??= new Map<number, number>());
  const previous = sightings.get(key);
  sightings.delete(key);
  if (sightings.size >= max) sightings = state.sightings = new Map([...sightings].slice(-Math.floor(max / 2)));
  sightings.set(key, at);
  state.lastSighting = Math.max(state.lastSighting, at);
  return previous;
}

export interface Windows {
  readonly retransmitWindow: number;
  readonly timeoutOf: (door: string) => number;
}

/** Drop sightings and notices that are over at `now` (partial sequences are the tracker's: they produce events). */
export function pruneState(state: SourceState, now: number, windows: Windows): void {
  // Older sightings may linger until the newest is old: harmless, as a retransmit is judged on times.
  if (state.sightings && now - state.lastSighting > windows.retransmitWindow) {
    state.sightings = undefined;
    state.lastSighting = -Infinity;
  }
  if (state.notices) {
    for (const [door, noticed] of state.notices)
      if (now - noticed > windows.timeoutOf(door)) state.notices.delete(door);
    if (state.notices.size === 0) state.notices = undefined;
  }
}

/** The first clock time at which sweeping `state` would drop something (Infinity when never). */
export function deadlineOf(state: SourceState, windows: Windows): number {
  let at = Infinity;
  // Everything below is dropped once strictly older than its window, hence the +1.
  if (state.tracks) {
    for (const [door, { open, close }] of state.tracks) {
      if (open.phase === 'knocking') at = Math.min(at, open.startedAt + windows.timeoutOf(door) + 1);
      if (close.phase === 'knocking') at = Math.min(at, close.startedAt + windows.timeoutOf(door) + 1);
    }
  }
  if (state.sightings) at = Math.min(at, state.lastSighting + windows.retransmitWindow + 1);
  if (state.notices)
    for (const [door, noticed] of state.notices) at = Math.min(at, noticed + windows.timeoutOf(door) + 1);
  return at;
}
