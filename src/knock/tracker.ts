import { addressInAny } from '../address.js';
import type { Limits } from '../config/types.js';
import type { Packet } from '../parse/packet.js';
import { DeadlineQueue } from './deadline-queue.js';
import type { Door } from './door.js';
import { planDoor, type DoorPlan } from './door-plan.js';
import type { KnockEvent, ResetReason } from './events.js';
import { knockStepOf } from './knock-step.js';
import { stepTrack, type Candidate, type TrackResult } from './sequence-track.js';
import { deadlineOf, IDLE_TRACKS, isIdle, newSource, type SourceState, type Windows } from './source-state.js';

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

// Remembered SYN sightings per source: enough for any real client, bounded against a source
// that sprays source ports.
const MAX_SIGHTINGS = 64;

type Sequence = 'open' | 'close';

// The knock engine: per source × door state machines fed with packets (observe) and with time
// (expire). Pure apart from its own memory: no I/O, no clock; `now` is always passed in.
//
// Memory is bounded by limits.maxTrackedSources, with the Map's insertion order as an LRU
// (every packet from a source moves it to the end). The trade-off: a legitimate knocker loses a
// partial sequence only when at least maxTrackedSources other sources knock between two of its
// own knocks, so a flood of R new sources per second starves knockers whose knocks are more than
// maxTrackedSources / R seconds apart — and nobody else. Sources with nothing to remember are not
// stored, so random noise to non-knock ports costs nothing; evicting a banned source lifts its
// ban, the price of never growing past the cap.
export class KnockTracker {
  private readonly plans: readonly DoorPlan[];
  private readonly plansByName: ReadonlyMap<string, DoorPlan>;
  private readonly limits: Limits;
  private readonly used: Set<string>;
  private readonly sources = new Map<string, SourceState>();
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
      if (isIdle(state)) this.forget(state.src);
      else this.deadlines.set(state.src, deadlineOf(state, this.windows));
    }
    return events;
  }

  /** When expire() next has work, for arming a real timer. */
  nextExpiry(): number | undefined {
    return this.deadlines.peek()?.at;
  }

  stats(): TrackerStats {
    let banned = 0;
    for (const state of this.sources.values()) if (state.standing.kind === 'banned') banned++;
    return { trackedSources: this.sources.size, evicted: this.evicted, retransmits: this.retransmits, banned, stale: this.stale };
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
    const key = `${packet.sport}>${packet.dport}`;
    const previous = state.sightings.get(key);
    state.sightings.delete(key);
    state.sightings.set(key, packet.at);
    if (state.sightings.size > MAX_SIGHTINGS) state.sightings.delete(state.sightings.keys().next().value as string);
    return previous !== undefined && Math.abs(packet.at - previous) <= this.limits.retransmitWindow;
  }

  private knock(state: SourceState, key: string, knocked: readonly DoorPlan[], at: number, now: number, events: KnockEvent[]): void {
    for (const plan of this.plans) {
      const door = plan.door.name;
      const base = { door, src: state.src, family: state.family, at };
      const tracks = state.tracks.get(door) ?? IDLE_TRACKS;
      if (!knocked.includes(plan)) {
        // A knock on another door's port spoils this door's attempt.
        for (const sequence of ['open', 'close'] as const) {
          if (tracks[sequence].phase === 'knocking') {
            events.push({ ...base, kind: 'reset', sequence, reason: 'other-door' });
            if (this.fail(state, door, at, now, events)) return;
          }
        }
        state.tracks.delete(door);
        continue;
      }
      if (!this.allowed(plan, state)) {
        this.notice(state, plan, now, base, events);
        continue;
      }
      const usable = (candidate: Candidate): boolean => candidate.origin.kind !== 'one-time' || !this.used.has(candidate.origin.key);
      const input = { key, at, timeout: plan.door.timeout, usable };
      const open = stepTrack(tracks.open, { ...input, fresh: () => plan.openCandidates(at) });
      if (this.report(state, 'open', open, base, now, events)) return;
      const close = stepTrack(tracks.close, { ...input, fresh: () => plan.closeCandidates });
      if (this.report(state, 'close', close, base, now, events)) return;
      if (open.track.phase === 'idle' && close.track.phase === 'idle') state.tracks.delete(door);
      else state.tracks.set(door, { open: open.track, close: close.track });
    }
  }

  // Turn a track step into events; true when the source got banned on the way.
  private report(state: SourceState, sequence: Sequence, result: TrackResult, base: EventBase, now: number, events: KnockEvent[]): boolean {
    if (result.reset) {
      events.push({ ...base, kind: 'reset', sequence, reason: result.reset === 'timeout' ? 'timeout' : 'out-of-order' });
      if (this.fail(state, base.door, base.at, now, events)) return true;
    }
    const { outcome } = result;
    if (outcome.kind === 'advanced') events.push({ ...base, kind: 'advanced', sequence, step: outcome.step, of: outcome.of });
    if (outcome.kind !== 'finished') return false;
    const { origin } = outcome.winner;
    if (sequence === 'close') events.push({ ...base, kind: 'closed', sequence: 'close' });
    else if (origin.kind === 'one-time' && this.used.has(origin.key)) events.push({ ...base, kind: 'rejected', reason: 'one-time-reused' });
    else {
      if (origin.kind === 'one-time') this.used.add(origin.key);
      events.push({ ...base, kind: 'completed', sequence: 'open' });
    }
    return false;
  }

  private allowed(plan: DoorPlan, state: SourceState): boolean {
    const { allowFrom } = plan.door;
    return allowFrom.length === 0 || addressInAny({ text: state.src, family: state.family }, allowFrom);
  }

  // One 'not-allowed' per source × door per timeout window: a stranger's flood is not an event flood.
  private notice(state: SourceState, plan: DoorPlan, now: number, base: EventBase, events: KnockEvent[]): void {
    const last = state.notices.get(plan.door.name);
    if (last !== undefined && now - last <= plan.door.timeout) return;
    state.notices.set(plan.door.name, now);
    events.push({ ...base, kind: 'rejected', reason: 'not-allowed' });
  }

  // Count a failed attempt; past limits.maxFailures within limits.failWindow, ban the source
  // (its progress is dropped and the ban reported once). True when it got banned.
  private fail(state: SourceState, door: string, at: number, now: number, events: KnockEvent[]): boolean {
    state.failures = state.failures.filter((failedAt) => now - failedAt <= this.limits.failWindow);
    state.failures.push(now);
    if (state.failures.length <= this.limits.maxFailures) return false;
    state.standing = { kind: 'banned', until: now + this.limits.banFor };
    state.failures = [];
    state.tracks.clear();
    events.push({ door, src: state.src, family: state.family, at, kind: 'rejected', reason: 'banned' });
    return true;
  }

  private sweep(state: SourceState, now: number, events: KnockEvent[]): void {
    if (state.standing.kind === 'banned' && now >= state.standing.until) state.standing = { kind: 'clear' };
    state.failures = state.failures.filter((failedAt) => now - failedAt <= this.limits.failWindow);
    for (const [key, seen] of state.sightings) if (now - seen > this.limits.retransmitWindow) state.sightings.delete(key);
    for (const [door, noticed] of state.notices) if (now - noticed > this.windows.timeoutOf(door)) state.notices.delete(door);
    for (const [door, tracks] of [...state.tracks]) {
      const timeout = this.windows.timeoutOf(door);
      const base = { door, src: state.src, family: state.family, at: now };
      let { open, close } = tracks;
      if (open.phase === 'knocking' && now - open.startedAt > timeout) {
        open = IDLE_TRACKS.open;
        events.push({ ...base, kind: 'reset', sequence: 'open', reason: 'timeout' });
        if (this.fail(state, door, now, now, events)) return;
      }
      if (close.phase === 'knocking' && now - close.startedAt > timeout) {
        close = IDLE_TRACKS.close;
        events.push({ ...base, kind: 'reset', sequence: 'close', reason: 'timeout' });
        if (this.fail(state, door, now, now, events)) return;
      }
      if (open.phase === 'idle' && close.phase === 'idle') state.tracks.delete(door);
      else state.tracks.set(door, { open, close });
    }
  }

  // Keep (and move to the LRU's end) a source with something to remember; forget it otherwise.
  private store(state: SourceState, existed: boolean, now: number, events: KnockEvent[]): void {
    if (isIdle(state)) {
      if (existed) this.forget(state.src);
      return;
    }
    if (existed) this.sources.delete(state.src);
    else while (this.sources.size >= this.limits.maxTrackedSources && this.sources.size > 0) this.evictOldest(now, events);
    this.sources.set(state.src, state);
    this.deadlines.set(state.src, deadlineOf(state, this.windows));
  }

  private evictOldest(now: number, events: KnockEvent[]): void {
    const oldest = this.sources.values().next().value as SourceState;
    for (const [door, tracks] of oldest.tracks) {
      for (const sequence of ['open', 'close'] as const) {
        if (tracks[sequence].phase === 'knocking') events.push(resetEvent(oldest, door, sequence, 'evicted', now));
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

type EventBase = Pick<KnockEvent, 'door' | 'src' | 'family' | 'at'>;

function resetEvent(state: SourceState, door: string, sequence: Sequence, reason: ResetReason, at: number): KnockEvent {
  return { door, src: state.src, family: state.family, at, kind: 'reset', sequence, reason };
}
