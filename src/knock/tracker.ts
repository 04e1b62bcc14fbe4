import { addressInAny } from '../model/address.js';
import type { Limits } from '../config/types.js';
import type { Packet } from '../parse/packet.js';
import { DeadlineQueue } from './deadline-queue.js';
import type { Door } from '../model/door.js';
import { planDoor, type DoorPlan } from './door-plan.js';
import {
  advancedEvent,
  closedEvent,
  completedEvent,
  rejectedEvent,
  resetEvent,
  scannerEvent,
  type EventBase,
} from './event-builders.js';
import type { KnockEvent } from './events.js';
import { knockStepOf } from './knock-step.js';
import { stepTrack, type Candidate, type TrackResult } from './sequence-track.js';
import { ScannerMarks } from './scanner-marks.js';
import {
  deadlineOf,
  IDLE_TRACKS,
  isIdle,
  newSource,
  noteSighting,
  pruneState,
  setTracks,
  tracksOf,
  type SourceState,
  type Windows,
} from './source-state.js';
import { SourceTable } from './source-table.js';
import { usedKeysFrom, UsedSequences } from './used-sequences.js';

export { oneTimeKey } from './door-plan.js';

/** Default limits.scannerHold: above the guard's one tripwire line per source per minute, so a scan stays marked while it runs. */
export const DEFAULT_SCANNER_HOLD = 120_000;
/** Default limits.maxScanners. */
export const DEFAULT_MAX_SCANNERS = 65_536;

export interface TrackerOptions {
  readonly doors: readonly Door[];
  readonly limits: Limits;
  /** Single-use sequences already used (oneTimeKey(), timeBasedKey(), or a state file's older door-named keys). */
  readonly usedOneTime?: ReadonlySet<string>;
  /** Tripwire ports, spelled as knockStepOf() spells packets ("tcp:31598"): a hit marks the source as a scanner. */
  readonly tripwires?: ReadonlySet<string>;
}

export interface TrackerStats {
  /** Sources currently remembered (mid-sequence, recent SYNs, recent failures, notices or bans). */
  readonly trackedSources: number;
  /** Sources dropped because the cap was reached. */
  readonly evicted: number;
  /** TCP SYN retransmits ignored. */
  readonly retransmits: number;
  /** Sources marked as scanners (some marks may have just ended: they go at the next expire()). */
  readonly scanners: number;
  /** Tripwire hits seen. */
  readonly tripwireHits: number;
  /** Knocks ignored because they were older than their door's timeout when read. */
  readonly stale: number;
}

/** A source part-way through one of a door's sequences, as `status` lists it. */
export interface SourceProgress {
  readonly src: string;
  readonly door: string;
  readonly sequence: Sequence;
  /** Steps knocked so far, and the length of the shortest sequence still possible. */
  readonly step: number;
  readonly of: number;
  /** Packet time of the first knock (epoch ms). */
  readonly since: number;
}

// Remembered SYN sightings per source: enough for any real client, bounded against a source
// that sprays source ports.
const MAX_SIGHTINGS = 64;

type Sequence = 'open' | 'close';

// The knock engine: per source × door state machines fed with packets (observe) and with time
// (expire). Pure apart from its own memory: no I/O, no clock; `now` is always passed in.
//
// Memory is bounded by limits.maxTrackedSources. Sources with nothing to remember are not stored
// (noise to non-knock ports costs nothing); past the cap, the least recently seen source goes,
// taking first those that are not part-way through a sequence (see SourceTable). The trade-off:
// a legitimate knocker loses a partial sequence only when at least maxTrackedSources other
// sources knock a first step between two of its own knocks, so a flood of R such sources per
// second starves knockers whose knocks are more than maxTrackedSources / R seconds apart, and
// nobody else. Scanner marks live in their own LRU (limits.maxScanners), so a flood of sources
// can neither evict a mark by knocking nor push out a knocker by scanning.
export class KnockTracker {
  private readonly plans: readonly DoorPlan[];
  private readonly plansByName: ReadonlyMap<string, DoorPlan>;
  private readonly limits: Limits;
  private readonly used: UsedSequences;
  private readonly tripwires: ReadonlySet<string>;
  private readonly scanners: ScannerMarks;
  private tripwireHits = 0;
  private readonly usedListeners: ((key: string, door: string) => void)[] = [];
  private readonly sources = new SourceTable();
  private readonly deadlines = new DeadlineQueue<string>();
  private readonly windows: Windows;
  private evicted = 0;
  private retransmits = 0;
  private stale = 0;

  constructor(options: TrackerOptions) {
    this.plans = options.doors.map(planDoor);
    this.plansByName = new Map(this.plans.map((plan) => [plan.door.name, plan]));
    this.limits = options.limits;
    this.used = new UsedSequences(usedKeysFrom(options.doors, options.usedOneTime ?? new Set()));
    this.tripwires = options.tripwires ?? new Set();
    this.scanners = new ScannerMarks(
      options.limits.scannerHold ?? DEFAULT_SCANNER_HOLD,
      options.limits.maxScanners ?? DEFAULT_MAX_SCANNERS,
    );
    this.windows = {
      retransmitWindow: options.limits.retransmitWindow,
      timeoutOf: (door) => this.plansByName.get(door)?.door.timeout ?? 0,
    };
  }

  /** Feed one packet: `packet.at` drives sequence timing, `now` (the clock) staleness and abuse limits. */
  observe(packet: Packet, now: number): KnockEvent[] {
    const key = knockStepOf(packet);
    if (key === undefined) return [];
    if (this.tripwires.has(key)) return this.tripwire(packet, key, now);
    const knocked = this.plans.filter((plan) => plan.knocks(key, packet.at));
    if (knocked.length === 0) return [];
    // An old line (read after a restart or a rotation) must never open anything.
    if (knocked.some((plan) => packet.at < now - plan.door.timeout)) {
      this.stale++;
      return [];
    }
    const existing = this.sources.get(packet.src);
    const state = existing ?? newSource(packet.src, packet.family);
    const events: KnockEvent[] = [];
    if (this.isRetransmit(state, packet)) this.retransmits++;
    else this.knock(state, key, knocked, packet.at, now, events);
    this.store(state, existing !== undefined, now, events);
    return events;
  }

  /** Drop what has timed out by `now`: partial sequences (reset 'timeout'), SYN sightings, notices, scanner marks. */
  expire(now: number): KnockEvent[] {
    const events: KnockEvent[] = [];
    this.scanners.expire(now);
    for (let next = this.deadlines.peek(); next && next.at <= now; next = this.deadlines.peek()) {
      const state = this.sources.get(next.key)!;
      this.sweep(state, now, events);
      if (isIdle(state)) {
        this.forget(state.src);
      } else {
        this.sources.settle(state); // a timed-out attempt puts the source first in line for eviction
        this.deadlines.set(state.src, deadlineOf(state, this.windows));
      }
    }
    return events;
  }

  /** When expire() next has work, for arming a real timer. */
  nextExpiry(): number | undefined {
    const sources = this.deadlines.peek()?.at;
    const marks = this.scanners.nextExpiry();
    return sources === undefined ? marks : marks === undefined ? sources : Math.min(sources, marks);
  }

  /** Stale packets so far (stats().stale without building the stats), checked per packet by the pipeline. */
  get staleCount(): number {
    return this.stale;
  }

  stats(): TrackerStats {
    return {
      trackedSources: this.sources.size,
      evicted: this.evicted,
      retransmits: this.retransmits,
      scanners: this.scanners.size,
      tripwireHits: this.tripwireHits,
      stale: this.stale,
    };
  }

  /** Sources mid-sequence, most recently started first: at most `limit` of them, and how many there are. */
  inProgress(limit: number): { total: number; sources: SourceProgress[] } {
    const all: SourceProgress[] = [];
    for (const state of this.sources.values()) {
      for (const [door, tracks] of state.tracks ?? []) {
        for (const sequence of ['open', 'close'] as const) {
          const track = tracks[sequence];
          if (track.phase !== 'knocking') continue;
          const of = Math.min(...track.candidates.map((candidate) => candidate.keys.length));
          all.push({ src: state.src, door, sequence, step: track.matched, of, since: track.startedAt });
        }
      }
    }
    all.sort((a, b) => b.since - a.since || (a.src < b.src ? -1 : a.src > b.src ? 1 : 0));
    return { total: all.length, sources: all.slice(0, limit) };
  }

  /** Whether `src` is marked as a scanner at packet time `at`. */
  isScanner(src: string, at: number): boolean {
    return this.scanners.marked(src, at);
  }

  /** Mark a single-use sequence used because a fleet peer used it (onSequenceUsed listeners do not hear of it). */
  markOneTimeUsed(key: string): void {
    this.used.add(key);
  }

  /** Every used single-use sequence still worth keeping at `now` (time-based ones only while they could complete). */
  usedOneTimeKeys(now?: number): string[] {
    if (now !== undefined) this.used.prune(now - this.maxTimeout);
    return this.used.keys();
  }

  /** Observe single-use sequences as they are used here, with the door they opened (the fleet shares those of fleet doors). */
  onSequenceUsed(listener: (key: string, door: string) => void): void {
    this.usedListeners.push(listener);
  }

  private get maxTimeout(): number {
    return Math.max(0, ...this.plans.map((plan) => plan.door.timeout));
  }

  // A logged packet to a tripwire port: mark the source, and say so every time (the guard logs a
  // source's tripwire hits at most once a minute) so the grant engine revokes what it just got.
  private tripwire(packet: Packet, key: string, now: number): KnockEvent[] {
    const hold = this.limits.scannerHold ?? DEFAULT_SCANNER_HOLD;
    // An old line (read after a restart) marks nothing: its hold is over.
    if (packet.at + hold <= now) {
      this.stale++;
      return [];
    }
    this.tripwireHits++;
    this.scanners.mark(packet.src, packet.at);
    // A scanner's partial sequences go: what it knocked so far proves nothing.
    const state = this.sources.get(packet.src);
    if (state?.tracks) {
      state.tracks = undefined;
      this.store(state, true, now, []);
    }
    return [scannerEvent(packet.src, packet.family, packet.at, key, packet.at + hold)];
  }

  // Same source, source port and destination port within the window of the previous sighting;
  // every sighting refreshes the window, so a long run of retransmits stays one knock.
  private isRetransmit(state: SourceState, packet: Packet): boolean {
    if (packet.proto !== 'tcp' || packet.sport === undefined) return false;
    const previous = noteSighting(state, packet.sport, packet.dport ?? 0, packet.at, MAX_SIGHTINGS);
    return previous !== undefined && Math.abs(packet.at - previous) <= this.limits.retransmitWindow;
  }

  private knock(
    state: SourceState,
    key: string,
    knocked: readonly DoorPlan[],
    at: number,
    now: number,
    events: KnockEvent[],
  ): void {
    for (const plan of this.plans) {
      const door = plan.door.name;
      const base: EventBase = { door, src: state.src, family: state.family, at };
      const tracks = tracksOf(state, door);
      if (!knocked.includes(plan)) {
        // A knock on another door's port spoils this door's attempt.
        for (const sequence of ['open', 'close'] as const) {
          if (tracks[sequence].phase === 'knocking') events.push(resetEvent(base, sequence, 'other-door'));
        }
        setTracks(state, door, IDLE_TRACKS);
        continue;
      }
      if (!this.allowed(plan, state)) {
        this.notice(state, plan, now, base, events);
        continue;
      }
      const { timeout } = plan.door;
      const open = stepTrack(tracks.open, {
        key,
        at,
        timeout,
        usable: this.usable,
        fresh: () => plan.openCandidates(at),
      });
      this.report(state, 'open', open, base, events);
      const close = stepTrack(tracks.close, {
        key,
        at,
        timeout,
        usable: this.usable,
        fresh: () => plan.closeCandidates,
      });
      this.report(state, 'close', close, base, events);
      setTracks(state, door, { open: open.track, close: close.track });
    }
  }

  private readonly usable = (candidate: Candidate): boolean =>
    !('key' in candidate.origin) || !this.used.has(candidate.origin.key);

  // Turn a track step into events. A marked scanner completes nothing (and uses up no sequence);
  // a wrong knock resets only this source's own progress.
  private report(
    state: SourceState,
    sequence: Sequence,
    result: TrackResult,
    base: EventBase,
    events: KnockEvent[],
  ): void {
    if (result.reset) events.push(resetEvent(base, sequence, result.reset === 'timeout' ? 'timeout' : 'out-of-order'));
    const { outcome } = result;
    if (outcome.kind === 'advanced') events.push(advancedEvent(base, sequence, outcome.step, outcome.of));
    if (outcome.kind !== 'finished') return;
    const { origin } = outcome.winner;
    if (sequence === 'close') events.push(closedEvent(base));
    else if (this.scanners.marked(state.src, base.at)) events.push(rejectedEvent(base, 'scanner'));
    else if ('key' in origin && this.used.has(origin.key))
      events.push(rejectedEvent(base, origin.kind === 'one-time' ? 'one-time-reused' : 'time-based-reused'));
    else {
      if ('key' in origin && this.used.add(origin.key))
        for (const listener of this.usedListeners) listener(origin.key, base.door);
      events.push(completedEvent(base));
    }
  }

  private allowed(plan: DoorPlan, state: SourceState): boolean {
    const { allowFrom } = plan.door;
    return allowFrom.length === 0 || addressInAny({ text: state.src, family: state.family }, allowFrom);
  }

  // One 'not-allowed' per source × door per timeout window: a stranger's flood is not an event flood.
  private notice(state: SourceState, plan: DoorPlan, now: number, base: EventBase, events: KnockEvent[]): void {
    const last = state.notices?.get(plan.door.name);
    if (last !== undefined && now - last <= plan.door.timeout) return;
    (state.notices ??= new Map()).set(plan.door.name, now);
    events.push(rejectedEvent(base, 'not-allowed'));
  }

  private sweep(state: SourceState, now: number, events: KnockEvent[]): void {
    pruneState(state, now, this.windows);
    for (const [door, tracks] of [...(state.tracks ?? [])]) {
      const timeout = this.windows.timeoutOf(door);
      let { open, close } = tracks;
      for (const sequence of ['open', 'close'] as const) {
        const track = sequence === 'open' ? open : close;
        if (track.phase !== 'knocking' || now - track.startedAt <= timeout) continue;
        if (sequence === 'open') open = IDLE_TRACKS.open;
        else close = IDLE_TRACKS.close;
        events.push(resetEvent({ door, src: state.src, family: state.family, at: now }, sequence, 'timeout'));
      }
      setTracks(state, door, { open, close });
    }
  }

  // Keep (as the most recently seen) a source with something to remember; forget it otherwise.
  private store(state: SourceState, existed: boolean, now: number, events: KnockEvent[]): void {
    if (isIdle(state)) {
      if (existed) this.forget(state.src);
      return;
    }
    if (!existed)
      while (this.sources.size >= this.limits.maxTrackedSources && this.sources.size > 0) this.evictOldest(now, events);
    this.sources.put(state);
    this.deadlines.set(state.src, deadlineOf(state, this.windows));
  }

  private evictOldest(now: number, events: KnockEvent[]): void {
    const oldest = this.sources.victim()!;
    for (const [door, tracks] of oldest.tracks ?? []) {
      for (const sequence of ['open', 'close'] as const) {
        if (tracks[sequence].phase === 'knocking')
          events.push(resetEvent({ door, src: oldest.src, family: oldest.family, at: now }, sequence, 'evicted'));
      }
    }
    this.forget(oldest.src);
    this.evicted++;
  }

  private forget(src: string): void {
    this.sources.delete(src);
    this.deadlines.delete(src);
  }
}
