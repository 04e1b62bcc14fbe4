import { addressInAny } from '../address.js';
import type { Limits } from '../config/types.js';
import type { Packet } from '../parse/packet.js';
import { DeadlineQueue } from './deadline-queue.js';
import type { Door } from '../model/door.js';
import { planDoor, type DoorPlan } from './door-plan.js';
import { advancedEvent, closedEvent, completedEvent, rejectedEvent, resetEvent, type EventBase } from './event-builders.js';
import type { KnockEvent } from './events.js';
import { knockStepOf } from './knock-step.js';
import { stepTrack, type Candidate, type TrackResult } from './sequence-track.js';
import { ban, deadlineOf, IDLE_TRACKS, isIdle, newSource, noteFailure, noteSighting, pruneState, setTracks, tracksOf, type SourceState, type Windows } from './source-state.js';
import { SourceTable } from './source-table.js';

export { oneTimeKey } from './door-plan.js';

export interface TrackerOptions {
  readonly doors: readonly Door[];
  readonly limits: Limits;
  /** One-time sequences already used (keys from oneTimeKey()), e.g. from the state file. */
  readonly usedOneTime?: ReadonlySet<string>;
}

export interface TrackerStats {
  /** Sources currently remembered (mid-sequence, recent SYNs, recent failures, notices or bans). */
  readonly trackedSources: number;
  /** Sources dropped because the cap was reached. */
  readonly evicted: number;
  /** TCP SYN retransmits ignored. */
  readonly retransmits: number;
  /** Sources banned right now. */
  readonly banned: number;
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
// nobody else; evicting a banned source lifts its ban, the price of never growing past the cap.
export class KnockTracker {
  private readonly plans: readonly DoorPlan[];
  private readonly plansByName: ReadonlyMap<string, DoorPlan>;
  private readonly limits: Limits;
  private readonly used: Set<string>;
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
    this.used = new Set(options.usedOneTime ?? []);
    this.windows = {
      retransmitWindow: options.limits.retransmitWindow,
      failWindow: options.limits.failWindow,
      timeoutOf: (door) => this.plansByName.get(door)?.door.timeout ?? 0,
    };
  }

  /** Feed one packet: `packet.at` drives sequence timing, `now` (the clock) staleness and abuse limits. */
  observe(packet: Packet, now: number): KnockEvent[] {
    const key = knockStepOf(packet);
    if (key === undefined) return [];
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
    if (state.standing.kind === 'banned' && now >= state.standing.until) state.standing = { kind: 'clear' };
    if (state.standing.kind === 'clear') {
      if (this.isRetransmit(state, packet)) this.retransmits++;
      else this.knock(state, key, knocked, packet.at, now, events);
    }
    this.store(state, existing !== undefined, now, events);
    return events;
  }

  /** Drop what has timed out by `now`: partial sequences (reset 'timeout'), SYN sightings, notices, failures, bans. */
  expire(now: number): KnockEvent[] {
    const events: KnockEvent[] = [];
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
    return this.deadlines.peek()?.at;
  }

  /** Stale packets so far (stats().stale without building the stats), checked per packet by the pipeline. */
  get staleCount(): number {
    return this.stale;
  }

  stats(): TrackerStats {
    let banned = 0;
    for (const state of this.sources.values()) if (state.standing.kind === 'banned') banned++;
    return { trackedSources: this.sources.size, evicted: this.evicted, retransmits: this.retransmits, banned, stale: this.stale };
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

  markOneTimeUsed(key: string): void {
    this.used.add(key);
  }

  usedOneTimeKeys(): string[] {
    return [...this.used].sort();
  }

  // Same source, source port and destination port within the window of the previous sighting;
  // every sighting refreshes the window, so a long run of retransmits stays one knock.
  private isRetransmit(state: SourceState, packet: Packet): boolean {
    if (packet.proto !== 'tcp' || packet.sport === undefined) return false;
    const previous = noteSighting(state, packet.sport, packet.dport ?? 0, packet.at, MAX_SIGHTINGS);
    return previous !== undefined && Math.abs(packet.at - previous) <= this.limits.retransmitWindow;
  }

  private knock(state: SourceState, key: string, knocked: readonly DoorPlan[], at: number, now: number, events: KnockEvent[]): void {
    for (const plan of this.plans) {
      const door = plan.door.name;
      const base: EventBase = { door, src: state.src, family: state.family, at };
      const tracks = tracksOf(state, door);
      if (!knocked.includes(plan)) {
        // A knock on another door's port spoils this door's attempt.
        for (const sequence of ['open', 'close'] as const) {
          if (tracks[sequence].phase === 'knocking') {
            events.push(resetEvent(base, sequence, 'other-door'));
            if (this.fail(state, door, at, now, events)) return;
          }
        }
        setTracks(state, door, IDLE_TRACKS);
        continue;
      }
      if (!this.allowed(plan, state)) {
        this.notice(state, plan, now, base, events);
        continue;
      }
      const { timeout } = plan.door;
      const open = stepTrack(tracks.open, { key, at, timeout, usable: this.usable, fresh: () => plan.openCandidates(at) });
      if (this.report(state, 'open', open, base, now, events)) return;
      const close = stepTrack(tracks.close, { key, at, timeout, usable: this.usable, fresh: () => plan.closeCandidates });
      if (this.report(state, 'close', close, base, now, events)) return;
      setTracks(state, door, { open: open.track, close: close.track });
    }
  }

  private readonly usable = (candidate: Candidate): boolean => candidate.origin.kind !== 'one-time' || !this.used.has(candidate.origin.key);

  // Turn a track step into events; true when the source got banned on the way.
  private report(state: SourceState, sequence: Sequence, result: TrackResult, base: EventBase, now: number, events: KnockEvent[]): boolean {
    if (result.reset) {
      events.push(resetEvent(base, sequence, result.reset === 'timeout' ? 'timeout' : 'out-of-order'));
      if (this.fail(state, base.door, base.at, now, events)) return true;
    }
    const { outcome } = result;
    if (outcome.kind === 'advanced') events.push(advancedEvent(base, sequence, outcome.step, outcome.of));
    if (outcome.kind !== 'finished') return false;
    const { origin } = outcome.winner;
    if (sequence === 'close') events.push(closedEvent(base));
    else if (origin.kind === 'one-time' && this.used.has(origin.key)) events.push(rejectedEvent(base, 'one-time-reused'));
    else {
      if (origin.kind === 'one-time') this.used.add(origin.key);
      events.push(completedEvent(base));
    }
    return false;
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

  // Count a failed attempt; past limits.maxFailures within limits.failWindow, ban the source
  // (its progress is dropped and the ban reported once). True when it got banned.
  private fail(state: SourceState, door: string, at: number, now: number, events: KnockEvent[]): boolean {
    if (noteFailure(state, now, this.limits.failWindow) <= this.limits.maxFailures) return false;
    ban(state, now + this.limits.banFor);
    events.push(rejectedEvent({ door, src: state.src, family: state.family, at }, 'banned'));
    return true;
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
        if (this.fail(state, door, now, now, events)) return;
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
    if (!existed) while (this.sources.size >= this.limits.maxTrackedSources && this.sources.size > 0) this.evictOldest(now, events);
    this.sources.put(state);
    this.deadlines.set(state.src, deadlineOf(state, this.windows));
  }

  private evictOldest(now: number, events: KnockEvent[]): void {
    const oldest = this.sources.victim()!;
    for (const [door, tracks] of oldest.tracks ?? []) {
      for (const sequence of ['open', 'close'] as const) {
        if (tracks[sequence].phase === 'knocking') events.push(resetEvent({ door, src: oldest.src, family: oldest.family, at: now }, sequence, 'evicted'));
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
