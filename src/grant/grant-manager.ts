import type { Clock, TimerHandle } from '../clock.js';
import type { AuditRecord, AuditSink } from '../audit/record.js';
import { isoTime } from '../audit/record.js';
import type { FirewallBackend } from '../firewall/backend.js';
import type { Door } from '../model/door.js';
import { formatPort } from '../model/door.js';
import type { KnockEvent } from '../knock/events.js';
import type { Family } from '../address.js';
import type { CloseReason, Grant } from '../model/grant.js';
import { grantKey } from '../model/grant.js';
import { GrantTable } from './grant-table.js';

// Turns knock events into grants, and grants into firewall changes with an audit
// record written first (intent) and a failure record after (outcome). Expiry runs on
// the injected clock; a close that fails is retried until it succeeds and is visible
// in pendingCloses() meanwhile, so a port is never left open silently.
export interface GrantManagerOptions {
  readonly doors: readonly Door[];
  readonly backend: FirewallBackend;
  readonly audit: AuditSink;
  readonly clock: Clock;
  readonly table?: GrantTable;
  /** Called after every change of the grant table (the daemon persists state here). */
  readonly persist?: (grants: readonly Grant[]) => Promise<void>;
  /** Delay before retrying a failed close: attempt → ms. */
  readonly closeRetryDelay?: (attempt: number) => number;
  /** Observer for counters/metrics. */
  readonly onRecord?: (record: AuditRecord) => void;
}

export interface PendingClose {
  readonly door: string;
  readonly src: string;
  readonly attempts: number;
  readonly lastError: string;
}

interface PendingEntry {
  grant: Grant;
  attempts: number;
  lastError: string;
  timer?: TimerHandle;
}

/** Grants this close to expiry are left to the expiry timer by the drift check. */
const EXPIRY_SLACK_MS = 2000;

const defaultRetryDelay = (attempt: number): number => Math.min(60_000, 1000 * 2 ** Math.min(attempt, 6));

export class GrantManager {
  private readonly options: GrantManagerOptions;
  private readonly table: GrantTable;
  private doors: Map<string, Door>;
  private expiryTimer: TimerHandle | undefined;
  private readonly pending = new Map<string, PendingEntry>();
  /** Firewall changes run one at a time, in order. */
  private queue: Promise<void> = Promise.resolve();
  /** Work started by timers (expiry, close retries), awaited by idle(). */
  private readonly inflight = new Set<Promise<void>>();
  private stopped = false;

  constructor(options: GrantManagerOptions) {
    this.options = options;
    this.table = options.table ?? new GrantTable();
    this.doors = new Map(options.doors.map((door) => [door.name, door]));
  }

  /** Apply a new set of doors (config reload); grants of removed doors stay until they expire. */
  setDoors(doors: readonly Door[]): void {
    this.doors = new Map(doors.map((door) => [door.name, door]));
  }

  grants(): Grant[] {
    return this.table.all();
  }

  pendingCloses(): PendingClose[] {
    return [...this.pending.values()].map(({ grant, attempts, lastError }) => ({ door: grant.door, src: grant.src, attempts, lastError }));
  }

  /** Whether timer-started work is still running (idle() would wait). */
  busy(): boolean {
    return this.inflight.size > 0;
  }

  /** Wait until every timer-started task and queued firewall change has run. */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
    await this.queue;
  }

  /** React to one knock event; resolves once its firewall change and audit record are done. */
  async handle(event: KnockEvent): Promise<void> {
    if (event.kind === 'completed') {
      const door = this.doors.get(event.door);
      if (door) await this.open(door, event.src, event.family, 'knock');
    } else if (event.kind === 'closed') {
      if (this.table.get(event.door, event.src)) await this.close(event.door, event.src, 'close-sequence');
    } else if (event.kind === 'rejected') {
      await this.record({ event: 'reject', at: isoTime(event.at), door: event.door, src: event.src, reason: event.reason });
    }
  }

  /** Open (or refresh) a door for a source. `openFor` overrides the door's lifetime (manual grants). */
  async open(door: Door, src: string, family: Family, by: 'knock' | 'manual', openFor?: number | null): Promise<Grant> {
    const now = this.options.clock.now();
    const { kind, grant } = this.table.open(door, src, family, now, openFor);
    this.cancelPendingClose(grant);
    await this.record({
      event: kind === 'opened' ? 'open' : 'refresh',
      door: grant.door,
      src: grant.src,
      ports: grant.ports.map(formatPort),
      at: isoTime(now),
      until: grant.until === null ? null : isoTime(grant.until),
      by,
    });
    await this.persist();
    this.scheduleExpiry();
    await this.enqueue(async () => {
      try {
        await this.options.backend.open(grant);
      } catch (error) {
        await this.recordFailure(grant, 'open', error, 1);
      }
    });
    return grant;
  }

  /** Close a grant now; resolves false when the source held no such grant. */
  async close(doorName: string, src: string, reason: CloseReason): Promise<boolean> {
    const grant = this.table.close(doorName, src);
    if (!grant) return false;
    await this.record({
      event: 'close',
      door: grant.door,
      src: grant.src,
      reason,
      ports: grant.ports.map(formatPort),
      at: isoTime(this.options.clock.now()),
    });
    await this.persist();
    this.scheduleExpiry();
    await this.enqueue(() => this.applyClose({ grant, attempts: 0, lastError: '' }));
    return true;
  }

  /** Close every grant that is due at the clock's time. */
  async expireDue(): Promise<void> {
    const now = this.options.clock.now();
    for (const grant of this.table.due(now)) {
      await this.close(grant.door, grant.src, 'expired');
    }
    this.scheduleExpiry();
  }

  /**
   * Bring the firewall in line with the persisted grants after a start: close grants that
   * expired while knocktail was down, remove rules no grant explains, re-add missing ones.
   */
  async reconcile(reason: 'start' | 'check'): Promise<void> {
    await this.queue;
    const now = this.options.clock.now();
    if (reason === 'start') {
      for (const grant of this.table.due(now)) {
        await this.close(grant.door, grant.src, 'expired-while-down');
      }
    }
    let held: Grant[];
    try {
      held = await this.options.backend.list();
    } catch (error) {
      await this.recordFailure(undefined, 'list', error, 1);
      return;
    }
    const wanted = new Map(this.table.all().map((grant) => [grantKey(grant), grant]));
    const heldKeys = new Set(held.map(grantKey));
    for (const grant of held) {
      if (wanted.has(grantKey(grant)) || this.pending.has(grantKey(grant))) continue;
      await this.repair(grant, 'remove-orphan', () => this.options.backend.close(grant));
    }
    for (const grant of wanted.values()) {
      // A set backend's kernel timeout may drop an element just before our expiry timer
      // fires; that grant is closing, not missing.
      if (heldKeys.has(grantKey(grant)) || (grant.until !== null && grant.until <= now + EXPIRY_SLACK_MS)) continue;
      await this.repair(grant, 're-add-missing', () => this.options.backend.open(grant));
    }
    this.scheduleExpiry();
  }

  /** Cancel timers; grants stay in the firewall and the state file (they carry their expiry). */
  stop(): void {
    this.stopped = true;
    if (this.expiryTimer) this.options.clock.clearTimer(this.expiryTimer);
    this.expiryTimer = undefined;
    for (const entry of this.pending.values()) if (entry.timer) this.options.clock.clearTimer(entry.timer);
  }

  private async repair(grant: Grant, action: string, apply: () => Promise<void>): Promise<void> {
    await this.record({ event: 'firewall-repair', at: isoTime(this.options.clock.now()), door: grant.door, src: grant.src, action });
    await this.enqueue(async () => {
      try {
        await apply();
      } catch (error) {
        await this.recordFailure(grant, action, error, 1);
      }
    });
  }

  private async applyClose(entry: PendingEntry): Promise<void> {
    const key = grantKey(entry.grant);
    try {
      await this.options.backend.close(entry.grant);
      this.pending.delete(key);
    } catch (error) {
      entry.attempts += 1;
      entry.lastError = error instanceof Error ? error.message : String(error);
      this.pending.set(key, entry);
      await this.recordFailure(entry.grant, 'close', error, entry.attempts);
      if (this.stopped) return;
      const delay = (this.options.closeRetryDelay ?? defaultRetryDelay)(entry.attempts);
      entry.timer = this.options.clock.setTimer(this.options.clock.now() + delay, () => {
        entry.timer = undefined;
        this.track(this.enqueue(() => this.applyClose(entry)));
      });
    }
  }

  private cancelPendingClose(grant: Grant): void {
    const entry = this.pending.get(grantKey(grant));
    if (!entry) return;
    if (entry.timer) this.options.clock.clearTimer(entry.timer);
    this.pending.delete(grantKey(grant));
  }

  private scheduleExpiry(): void {
    if (this.stopped) return;
    const next = this.table.nextDue();
    if (this.expiryTimer && this.expiryTimer.at === next) return;
    if (this.expiryTimer) this.options.clock.clearTimer(this.expiryTimer);
    this.expiryTimer = undefined;
    if (next === undefined) return;
    this.expiryTimer = this.options.clock.setTimer(next, () => {
      this.expiryTimer = undefined;
      this.track(this.expireDue());
    });
  }

  private async recordFailure(grant: Grant | undefined, action: string, error: unknown, attempt: number): Promise<void> {
    const command = (error as { command?: readonly string[] } | undefined)?.command;
    await this.record({
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

  private async record(record: AuditRecord): Promise<void> {
    this.options.onRecord?.(record);
    await this.options.audit.write(record);
  }

  private async persist(): Promise<void> {
    await this.options.persist?.(this.table.all());
  }

  private track(work: Promise<void>): void {
    const done = work.catch(() => undefined).finally(() => this.inflight.delete(done));
    this.inflight.add(done);
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
