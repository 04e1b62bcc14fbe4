import { addressInAny, normaliseAddress, type Family } from '../model/address.js';
import type { Clock, TimerHandle } from '../model/clock.js';
import type { AuditRecord, AuditSink, OpenRecord } from '../audit/record.js';
import { isoTime } from '../audit/record.js';
import { KnocktailError } from '../model/errors.js';
import type { SessionEnder } from './session-ender.js';
import type { FirewallBackend } from '../firewall/backend.js';
import type { KnockEvent } from '../knock/events.js';
import { formatPort, type Door, type PortSpec } from '../model/door.js';
import { grantKey, type CloseReason, type Grant } from '../model/grant.js';
import { FirewallQueue, type PendingClose } from './firewall-queue.js';
import { GrantTable } from './grant-table.js';
import { RejectAudit } from './reject-audit.js';

// Grants: knock events (or a manual/fleet call) in, firewall changes and audit records out.
// Bookkeeping is synchronous (the table, the intent record handed to the audit sink, the
// firewall change queued), so order holds without waiting: an expiry that fires before a
// packet is closed before that packet's open, whoever awaits what. Each change's promise
// resolves when its firewall effect (and any failure record) is done. Jobs are split out:
// GrantTable (who holds what until when), FirewallQueue (ordered changes, close retries),
// StateStore (coalesced persistence, given as `store`).
export type GrantOrigin = NonNullable<OpenRecord['by']>;

export type GrantChange =
  | { readonly kind: 'opened' | 'refreshed'; readonly grant: Grant; readonly by: GrantOrigin }
  | { readonly kind: 'closed'; readonly grant: Grant; readonly reason: CloseReason };

/** What an SPA grant adds to its open record. */
export type GrantDetail = Pick<OpenRecord, 'requested' | 'clientTimeout'>;

/** Where the engine's changes are persisted (see StateStore). */
export interface GrantStore {
  changed(): void;
  persisted(): Promise<void>;
}

export interface GrantEngineOptions {
  readonly doors: readonly Door[];
  readonly backend: FirewallBackend;
  readonly audit: AuditSink;
  readonly clock: Clock;
  /** Grants held at start (from the state file). */
  readonly grants?: readonly Grant[];
  readonly store?: GrantStore;
  readonly closeRetryDelay?: (attempt: number) => number;
  /** Every audit record as it is written (counters, metrics, replay output). */
  readonly onRecord?: (record: AuditRecord) => void;
  /** Timer-started work failed in a way no record could report (the audit sink itself failed). */
  readonly onError?: (error: unknown) => void;
  /** Most grants held at once, all doors together (limits.maxGrants); each door's own cap is Door.maxGrants. Absent = unbounded. */
  readonly maxGrants?: number;
  /** Every reject, including those the audit log only summarises (counters and metrics count each one). */
  readonly onReject?: (door: string, reason: string) => void;
  /** Per-door audit window for rejects and how many are written in full per window (see RejectAudit). */
  readonly rejectWindowMs?: number;
  readonly rejectBurst?: number;
  /** Ends a closed grant's connections (doors with endSessions, revoke --end-sessions); absent = never. */
  readonly sessions?: SessionEnder;
}

/** How a close treats the source's established connections: as its door says, or ended whatever the door says. */
export interface CloseOptions {
  readonly endSessions?: boolean;
}

/**
 * A knock by a source that holds the grant refreshes it at most once per this interval: the
 * knocks in between change nothing (no record, no firewall command, nothing for the fleet) and are
 * counted in a per-door `refresh-summary`. Half the door's openFor when that is shorter, so a
 * holder who keeps knocking never sees the grant lapse; a minute for until-closed doors.
 */
export function refreshInterval(door: Door): number {
  return door.openFor === null ? REFRESH_INTERVAL_MS : Math.min(REFRESH_INTERVAL_MS, door.openFor / 2);
}

const REFRESH_INTERVAL_MS = 60_000;
/** Grants a source got by knocking this long before a tripwire hit are revoked with it (see handle()). */
export const SCANNER_LOOKBACK_MS = 60_000;

// Every record of a door's grants lists the same ports (the grant's ports are the door's
// array): formatted once per array, shared, frozen.
const PORT_TEXTS = new WeakMap<readonly PortSpec[], readonly string[]>();

function portTexts(ports: readonly PortSpec[]): readonly string[] {
  let texts = PORT_TEXTS.get(ports);
  if (!texts) {
    texts = Object.freeze(ports.map(formatPort));
    PORT_TEXTS.set(ports, texts);
  }
  return texts;
}

/** Grants this close to expiry are left to the expiry timer by the drift check. */
const EXPIRY_SLACK_MS = 2000;
/** Closes whose loss in a crash would reopen the port at the next start: persisted before the firewall is touched. */
const EARLY: ReadonlySet<CloseReason> = new Set<CloseReason>([
  'close-sequence',
  'revoked',
  'door-removed',
  'not-allowed',
  'scanner',
]);

export class GrantEngine {
  private readonly options: GrantEngineOptions;
  private readonly table: GrantTable;
  private readonly firewall: FirewallQueue;
  private doors: Map<string, Door>;
  private readonly listeners = new Set<(change: GrantChange) => void>();
  private readonly rejects: RejectAudit;
  private readonly refreshes: RejectAudit;
  /** Grant key → clock time its grant was last opened or refreshed for a knock (the coalescing of refreshes). */
  private readonly applied = new Map<string, number>();
  private maxGrants: number;
  private expiryTimer: TimerHandle | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(options: GrantEngineOptions) {
    this.options = options;
    this.table = new GrantTable(options.grants);
    this.doors = new Map(options.doors.map((door) => [door.name, door]));
    this.maxGrants = options.maxGrants ?? Number.POSITIVE_INFINITY;
    this.rejects = new RejectAudit({
      clock: options.clock,
      write: (record) => this.record(record),
      ...(options.rejectWindowMs === undefined ? {} : { windowMs: options.rejectWindowMs }),
      ...(options.rejectBurst === undefined ? {} : { burst: options.rejectBurst }),
    });
    this.refreshes = new RejectAudit({
      clock: options.clock,
      write: (record) => this.record(record),
      burst: 0,
      summaryEvent: 'refresh-summary',
    });
    this.firewall = new FirewallQueue({
      backend: options.backend,
      clock: options.clock,
      onFailure: (grant, action, error, attempt) => this.recordFailure(grant, action, error, attempt),
      ...(options.closeRetryDelay ? { closeRetryDelay: options.closeRetryDelay } : {}),
    });
  }

  /** Observe every grant change (a fleet link publishes them; returns the unsubscribe). */
  onChange(listener: (change: GrantChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  grants(): Grant[] {
    return this.table.all();
  }

  get size(): number {
    return this.table.size;
  }

  get(door: string, src: string): Grant | undefined {
    return this.table.get(door, normal(src).text);
  }

  /** The time firewall changes are applied as of: when the running one was asked for, else the clock's. */
  firewallTime(): number {
    return this.firewall.time() ?? this.options.clock.now();
  }

  pendingCloses(): PendingClose[] {
    return this.firewall.pending();
  }

  /** React to one knock event; undefined when it has no effect, else a promise of its effects. */
  handle(event: KnockEvent): Promise<unknown> | undefined {
    if (event.kind === 'completed') {
      const door = this.doors.get(event.door);
      if (!door) return undefined;
      // Fail closed: a full door (or a full host) refuses new sources; a holder's knock still refreshes.
      if (!this.table.get(door.name, event.src) && this.full(door))
        return this.reject(event.door, event.src, event.at, 'grant-limit');
      return this.openGrant(door, event.src, event.family, 'knock');
    }
    if (event.kind === 'closed') {
      const grant = this.table.get(event.door, event.src);
      return grant ? this.closeGrant(grant, 'close-sequence') : undefined;
    }
    if (event.kind === 'rejected') return this.reject(event.door, event.src, event.at, event.reason);
    if (event.kind === 'scanner') return this.revokeScanner(event.src, event.at);
    return undefined;
  }

  // A tripwire hit: grants the source got by knocking shortly before it are revoked (a random-order
  // scan may hit a knock port before any tripwire), and the hit is audited like a reject.
  private revokeScanner(src: string, at: number): Promise<unknown> {
    const since = Math.min(at, this.options.clock.now()) - SCANNER_LOOKBACK_MS;
    const effects: Promise<unknown>[] = [];
    const noted = this.reject('', src, at, 'tripwire');
    if (noted) effects.push(noted);
    for (const grant of this.table.all()) {
      if (grant.src === src && grant.openedAt >= since && this.applied.has(grantKey(grant)))
        effects.push(this.closeGrant(grant, 'scanner'));
    }
    return Promise.all(effects);
  }

  /** Whether `door` takes no new source now: its own maxGrants, or the global one, is reached. */
  full(door: Door): boolean {
    return (
      this.table.size >= this.maxGrants ||
      (door.maxGrants !== undefined && this.table.countFor(door.name) >= door.maxGrants)
    );
  }

  /** Open (or refresh) `door` for `src`; `openFor` overrides the door's lifetime (manual, fleet and SPA grants); `detail` goes into the record. */
  open(
    door: Door,
    src: string,
    family: Family,
    by: GrantOrigin,
    openFor?: number | null,
    detail?: GrantDetail,
  ): Promise<Grant> {
    const address = normal(src, family);
    // An operator's grant may pass the door's share, never the global cap (the firewall sets' size).
    if (!this.table.get(door.name, address.text) && this.table.size >= this.maxGrants) {
      return Promise.reject(
        new KnocktailError(
          'GRANT_LIMIT',
          `Expected fewer than limits.maxGrants (${this.maxGrants}) grants to add one for ${address.text} on door ${door.name}, got ${this.table.size} held; revoke one or raise limits.maxGrants`,
        ),
      );
    }
    return this.openGrant(door, address.text, address.family, by, openFor, detail);
  }

  /** Open (or refresh) until an absolute time, null for until-closed (a fleet peer's grant carries its end). */
  openUntil(door: Door, src: string, family: Family, by: GrantOrigin, until: number | null): Promise<Grant> {
    return this.open(door, src, family, by, until === null ? null : Math.max(0, until - this.options.clock.now()));
  }

  /** Refuse `src` on `door` for `reason` (SPA packets): audited like a knock's reject, summarised past the burst. */
  refuse(door: string, src: string, reason: string): Promise<void> | undefined {
    return this.reject(door, src, this.options.clock.now(), reason);
  }

  private openGrant(
    door: Door,
    src: string,
    family: Family,
    by: GrantOrigin,
    openFor?: number | null,
    detail?: GrantDetail,
  ): Promise<Grant> {
    const now = this.options.clock.now();
    const key = grantKey({ door: door.name, src });
    if (by === 'knock') {
      const held = this.table.get(door.name, src);
      const last = this.applied.get(key);
      if (held && last !== undefined && now - last < refreshInterval(door)) {
        this.refreshes.count(door.name, src, 'refresh');
        return Promise.resolve(held);
      }
      this.applied.set(key, now);
    }
    const { kind, grant } = this.table.open(door, src, family, now, openFor);
    const intent = this.record({
      event: kind === 'opened' ? 'open' : 'refresh',
      door: grant.door,
      src: grant.src,
      ports: portTexts(grant.ports),
      at: isoTime(now),
      until: grant.until === null ? null : isoTime(grant.until),
      by,
      ...detail,
    });
    this.changed({ kind, grant, by });
    return this.firewall.open(grant, intent).then(() => grant);
  }

  /** Close a grant now; resolves false when the source held no such grant. */
  close(door: string, src: string, reason: CloseReason, options: CloseOptions = {}): Promise<boolean> {
    const grant = this.table.get(door, normal(src).text);
    if (!grant) return Promise.resolve(false);
    return this.closeGrant(grant, reason, options).then(() => true);
  }

  /** Close every grant `src` holds, whatever its door; resolves to the doors closed. */
  async closeSource(src: string, reason: CloseReason, options: CloseOptions = {}): Promise<string[]> {
    const address = normal(src).text;
    const held = this.table.all().filter((grant) => grant.src === address);
    await Promise.all(held.map((grant) => this.closeGrant(grant, reason, options)));
    return held.map((grant) => grant.door);
  }

  /**
   * Apply a new set of doors (config reload): grants of a removed door close (`door-removed`),
   * grants whose source the door's allowFrom admitted before and no longer does close (`not-allowed`).
   * A manual grant for a source the old allowFrom did not admit either was an explicit exception and stays.
   */
  setDoors(doors: readonly Door[], maxGrants?: number): Promise<void> {
    const before = this.doors;
    // A lower cap refuses new sources from now on; grants already held above it run their course.
    if (maxGrants !== undefined) this.maxGrants = maxGrants;
    this.doors = new Map(doors.map((door) => [door.name, door]));
    const effects: Promise<void>[] = [];
    for (const grant of this.table.all()) {
      const door = this.doors.get(grant.door);
      if (!door) effects.push(this.closeGrant(grant, 'door-removed'));
      else if (!admits(door, grant) && admits(before.get(grant.door), grant))
        effects.push(this.closeGrant(grant, 'not-allowed'));
    }
    return Promise.all(effects).then(() => undefined);
  }

  /** Close every grant that is due at the clock's time (the expiry timer calls this). */
  expireDue(): Promise<void> {
    const now = this.options.clock.now();
    const effects: Promise<void>[] = [];
    for (let grant = this.table.firstDue(now); grant; grant = this.table.firstDue(now))
      effects.push(this.closeGrant(grant, 'expired'));
    this.scheduleExpiry();
    // Grants mostly fall due one per timer: then its close is the whole effect.
    return effects.length === 1 ? effects[0]! : Promise.all(effects).then(() => undefined);
  }

  /**
   * Bring the firewall in line with the grants: at start, close grants that expired while
   * knocktail was down and grants of doors no longer configured; then remove rules no grant
   * explains and re-add missing ones (never for a door that is not configured).
   */
  async reconcile(reason: 'start' | 'check', options: { adoptOrphans?: boolean } = {}): Promise<void> {
    if (reason === 'start') {
      const now = this.options.clock.now();
      const closing: Promise<void>[] = [];
      for (let grant = this.table.firstDue(now); grant; grant = this.table.firstDue(now))
        closing.push(this.closeGrant(grant, 'expired-while-down'));
      for (const grant of this.table.all())
        if (!this.doors.has(grant.door)) closing.push(this.closeGrant(grant, 'door-removed'));
      await Promise.all(closing);
    }
    await this.firewall.drain();
    let held: Grant[];
    try {
      held = await this.options.backend.list();
    } catch (error) {
      await this.recordFailure(undefined, 'list', error, 1);
      return;
    }
    const now = this.options.clock.now();
    const wanted = new Map(this.table.all().map((grant) => [grantKey(grant), grant]));
    const heldKeys = new Set(held.map(grantKey));
    const repairs: Promise<void>[] = [];
    for (const grant of held) {
      if (wanted.has(grantKey(grant)) || this.firewall.isClosing(grant)) continue;
      if (reason === 'start' && options.adoptOrphans === true && adoptable(this.doors.get(grant.door), grant, now)) {
        repairs.push(this.adopt(grant, now));
        continue;
      }
      repairs.push(this.repair(grant, 'remove-orphan', () => this.options.backend.close(grant)));
    }
    for (const grant of wanted.values()) {
      // A set backend's kernel timeout may drop an element just before our expiry timer fires; that grant is closing, not missing.
      if (
        heldKeys.has(grantKey(grant)) ||
        !this.doors.has(grant.door) ||
        (grant.until !== null && grant.until <= now + EXPIRY_SLACK_MS)
      )
        continue;
      repairs.push(this.repair(grant, 're-add-missing', () => this.options.backend.open(grant)));
    }
    await Promise.all(repairs);
    this.scheduleExpiry();
  }

  /** Arm the expiry timer for the grants held (call once at start). */
  start(): void {
    this.stopped = false;
    this.scheduleExpiry();
  }

  /** Resolves once every firewall change asked for so far has run. */
  drain(): Promise<void> {
    return Promise.all([this.firewall.drain(), this.flushing]).then(() => undefined);
  }

  /** Cancel timers; grants stay in the firewall and the state (they carry their expiry). */
  stop(): void {
    this.stopped = true;
    if (this.expiryTimer) this.options.clock.clearTimer(this.expiryTimer);
    this.expiryTimer = undefined;
    // Rejects counted but not yet summarised are written now (drain() waits for them).
    this.flushing = Promise.all([this.rejects.flush(), this.refreshes.flush()])
      .then(() => undefined)
      .catch((error: unknown) => this.options.onError?.(error));
    this.firewall.stop();
  }

  private reject(door: string, src: string, at: number, reason: string): Promise<void> | undefined {
    this.options.onReject?.(door, reason);
    return this.rejects.reject({ event: 'reject', at: isoTime(at), door, src, reason });
  }

  private closeGrant(grant: Grant, reason: CloseReason, options: CloseOptions = {}): Promise<void> {
    this.table.close(grant.door, grant.src);
    this.applied.delete(grantKey(grant));
    const intent = this.record({
      event: 'close',
      door: grant.door,
      src: grant.src,
      reason,
      ports: portTexts(grant.ports),
      at: isoTime(this.options.clock.now()),
    });
    this.changed({ kind: 'closed', grant, reason });
    const store = this.options.store;
    const before = store && EARLY.has(reason) ? Promise.all([intent, store.persisted()]) : intent;
    const closed = this.firewall.close(grant, before);
    const endSessions = options.endSessions ?? this.doors.get(grant.door)?.endSessions === true;
    return endSessions && this.options.sessions
      ? closed.then(() => this.endSessions(grant, this.options.sessions!))
      : closed;
  }

  // After the rule is gone: the connections' next packets are then NEW ones, which the guard refuses.
  private async endSessions(grant: Grant, sessions: SessionEnder): Promise<void> {
    const { ended, errors, commands } = await sessions.end(grant);
    await this.record({
      event: 'sessions-ended',
      door: grant.door,
      src: grant.src,
      ports: portTexts(grant.ports),
      ended,
      command: commands,
      ...(errors.length > 0 ? { errors } : {}),
      at: isoTime(this.options.clock.now()),
    });
  }

  // A rule of a configured door that the state file does not know: opened (and audited) just before a
  // crash whose state write was lost. It keeps its end, so it closes on time with a close record.
  // Not after a corrupt state file (the daemon passes adoptOrphans: false): then every rule goes.
  private adopt(grant: Grant, now: number): Promise<void> {
    if (grant.until !== null && grant.until <= now) {
      this.table.put(grant);
      return this.closeGrant(grant, 'expired-while-down');
    }
    this.table.put(grant);
    // Persisted and timed like any grant; not announced to observers (nothing changed for the group).
    this.options.store?.changed();
    this.scheduleExpiry();
    return this.record({
      event: 'firewall-repair',
      at: isoTime(now),
      door: grant.door,
      src: grant.src,
      action: 'adopt-orphan',
    });
  }

  private repair(grant: Grant, action: string, apply: () => Promise<void>): Promise<void> {
    const intent = this.record({
      event: 'firewall-repair',
      at: isoTime(this.options.clock.now()),
      door: grant.door,
      src: grant.src,
      action,
    });
    return this.firewall.apply(grant, action, apply, intent);
  }

  private changed(change: GrantChange): void {
    this.options.store?.changed();
    this.scheduleExpiry();
    for (const listener of this.listeners) listener(change);
  }

  // One timer for the soonest expiry. A timer set for a grant that closed early just fires and re-arms.
  private scheduleExpiry(): void {
    if (this.stopped) return;
    const next = this.table.nextDue();
    if (next === undefined || (this.expiryTimer && this.expiryTimer.at <= next)) return;
    if (this.expiryTimer) this.options.clock.clearTimer(this.expiryTimer);
    this.expiryTimer = this.options.clock.setTimer(next, () => {
      this.expiryTimer = undefined;
      this.expireDue().catch((error: unknown) => this.options.onError?.(error));
    });
  }

  private recordFailure(grant: Grant | undefined, action: string, error: unknown, attempt: number): Promise<void> {
    const command = (error as { command?: readonly string[] } | undefined)?.command;
    return this.record({
      event: 'firewall-error',
      at: isoTime(this.options.clock.now()),
      door: grant?.door ?? '',
      src: grant?.src ?? '',
      action,
      ...(command ? { command } : {}),
      error: error instanceof Error ? error.message : String(error),
      attempt,
    });
  }

  // The audit write starts first: observers (counters, the operational log) must not delay it.
  private record(record: AuditRecord): Promise<void> {
    const written = this.options.audit.write(record);
    this.options.onRecord?.(record);
    return written;
  }
}

// Public entry points take any spelling of an address (manual grants, a fleet peer); knock events come normalised.
function normal(src: string, family?: Family): { text: string; family: Family } {
  const address = normaliseAddress(src);
  return address ?? { text: src, family: family ?? (src.includes(':') ? 6 : 4) };
}

// Only a bounded rule that the door could have given (its lifetime at most the door's) is adopted; an
// until-closed or over-long one is removed instead (fail closed).
function adoptable(door: Door | undefined, grant: Grant, now: number): boolean {
  return (
    door !== undefined &&
    admits(door, grant) &&
    grant.until !== null &&
    door.openFor !== null &&
    grant.until <= now + door.openFor + EXPIRY_SLACK_MS
  );
}

function admits(door: Door | undefined, grant: Grant): boolean {
  return (
    door !== undefined &&
    (door.allowFrom.length === 0 || addressInAny({ text: grant.src, family: grant.family }, door.allowFrom))
  );
}
