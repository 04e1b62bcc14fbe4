// One track (a door's open or close sequence, for one source) as an explicit state machine.
// Several candidate sequences may share a track (fixed, one-time, time-based): progress is the
// number of steps matched so far, and a knock advances while at least one candidate agrees.

/** `key`: single-use sequences (one-time and time-based) are remembered under it once used. */
export type CandidateOrigin =
  | { readonly kind: 'fixed' }
  | { readonly kind: 'close' }
  | { readonly kind: 'one-time'; readonly key: string }
  | { readonly kind: 'time-based'; readonly window: number; readonly key: string };

/** A sequence a track may be following, its steps spelled as knockStepOf() spells packets. */
export interface Candidate {
  readonly keys: readonly string[];
  readonly origin: CandidateOrigin;
}

export type Track =
  | { readonly phase: 'idle' }
  | {
      readonly phase: 'knocking';
      /** Packet time of the first knock: the timeout runs from here. */
      readonly startedAt: number;
      readonly matched: number;
      /** Candidates that agree with every knock so far and are longer than `matched`. */
      readonly candidates: readonly Candidate[];
    };

export const IDLE: Track = { phase: 'idle' };

export type TrackOutcome =
  | { readonly kind: 'none' }
  | { readonly kind: 'advanced'; readonly step: number; readonly of: number }
  /** The track went back to idle because `winner` was knocked in full (it may be unusable: a used one-time or time-based sequence). */
  | { readonly kind: 'finished'; readonly winner: Candidate };

export interface TrackResult {
  readonly track: Track;
  /** Progress thrown away before the outcome: 'mismatch' is a knock on a port that no candidate expected next. */
  readonly reset?: 'timeout' | 'mismatch';
  readonly outcome: TrackOutcome;
}

export interface TrackInput {
  /** The knock, e.g. "tcp:7000". */
  readonly key: string;
  /** Packet time. */
  readonly at: number;
  readonly timeout: number;
  /** Candidates for a first knock at this time. */
  readonly fresh: () => readonly Candidate[];
  /** False for candidates that may no longer complete (used one-time and time-based sequences). */
  readonly usable: (candidate: Candidate) => boolean;
}

type Follow = { readonly track: Track; readonly outcome: TrackOutcome };

const NONE: TrackOutcome = { kind: 'none' };

function follow(
  candidates: readonly Candidate[],
  matched: number,
  input: TrackInput,
  startedAt: number,
): Follow | undefined {
  const consistent = candidates.filter((candidate) => candidate.keys[matched] === input.key);
  if (consistent.length === 0) return undefined;
  const step = matched + 1;
  const done = consistent.filter((candidate) => candidate.keys.length === step);
  // The shortest usable sequence wins as soon as it is complete.
  const winner = done.find(input.usable);
  if (winner) return { track: IDLE, outcome: { kind: 'finished', winner } };
  const going = consistent.filter((candidate) => candidate.keys.length > step);
  if (going.length === 0) return { track: IDLE, outcome: { kind: 'finished', winner: done[0]! } };
  const of = Math.min(...going.map((candidate) => candidate.keys.length));
  return {
    track: { phase: 'knocking', startedAt, matched: step, candidates: going },
    outcome: { kind: 'advanced', step, of },
  };
}

/** Feed one knock on one of this door's ports to a track. */
export function stepTrack(track: Track, input: TrackInput): TrackResult {
  let reset: TrackResult['reset'];
  if (track.phase === 'knocking') {
    // Compared on packet times, as knockd does: a slow reader must not fail a quick knocker.
    if (input.at - track.startedAt > input.timeout) {
      reset = 'timeout';
    } else {
      const next = follow(track.candidates, track.matched, input, track.startedAt);
      if (next) return next;
      reset = 'mismatch';
    }
  }
  // Idle, or just reset: the knock may be the first of a new attempt.
  const first = follow(input.fresh(), 0, input, input.at);
  const result: Follow = first ?? { track: IDLE, outcome: NONE };
  return reset === undefined ? result : { track: result.track, outcome: result.outcome, reset };
}
