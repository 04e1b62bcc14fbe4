import type { Clock, TimerHandle } from '../model/clock.js';
import type { PersistedState } from './state-file.js';

// Persistence that coalesces (group commit): a change starts an atomic write (temp file, fsync,
// rename) at once unless one is in flight; everything that changes during a write goes out in
// the next one, so a burst of grants costs a write per fsync time, not one fsync of the whole
// state per grant. An open never waits for it: losing it in a crash fails closed (the rule is an
// orphan at the next start and is removed). A close before expiry would fail open (the next start
// would re-add it), so the engine makes such a close wait for persisted() before the firewall.
export interface StateStoreOptions<T = PersistedState> {
  readonly clock: Clock;
  /** The state to write, taken when the write starts (so it holds every change so far). */
  readonly snapshot: () => T;
  readonly save: (state: T) => Promise<void>;
  /** How long changes gather before a write starts (default 0: at once; what changes during a write goes into the next). */
  readonly batchMs?: number;
  /** A write failed; the state stays dirty and is written again with the next batch. */
  readonly onError: (error: unknown) => void;
}

const RETRY_AFTER_FAILURE_MS = 5000;

export class StateStore<T = PersistedState> {
  private readonly options: StateStoreOptions<T>;
  /** Changes made so far, and the count the last finished write covered. */
  private changes = 0;
  private covered = 0;
  private timer: TimerHandle | undefined;
  private writing: Promise<void> | undefined;
  private waiters: { readonly until: number; readonly resolve: () => void }[] = [];

  constructor(options: StateStoreOptions<T>) {
    this.options = options;
  }

  /** Something changed: write it with the next batch. */
  changed(): void {
    this.changes += 1;
    if (!this.writing) this.schedule(this.options.batchMs ?? 0);
  }

  /** Resolves once a write that covers every change so far has been tried (now, without waiting for the batch). */
  persisted(): Promise<void> {
    if (this.covered >= this.changes) return Promise.resolve();
    const until = this.changes;
    const done = new Promise<void>((resolve) => this.waiters.push({ until, resolve }));
    if (!this.writing) void this.write();
    return done;
  }

  /** Write now if anything changed since the last write (stop, one-shot commands). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.covered < this.changes) await this.write();
  }

  private schedule(delay: number): void {
    if (this.timer) return;
    const { clock } = this.options;
    this.timer = clock.setTimer(clock.now() + delay, () => {
      this.timer = undefined;
      if (!this.writing) void this.write();
    });
  }

  private write(): Promise<void> {
    if (this.timer) this.options.clock.clearTimer(this.timer);
    this.timer = undefined;
    const until = this.changes;
    let failed = false;
    this.writing = this.options
      .save(this.options.snapshot())
      .catch((error: unknown) => {
        failed = true;
        this.options.onError(error);
      })
      .finally(() => {
        if (!failed) this.covered = until;
        this.writing = undefined;
        // Waiters only need the attempt: a close goes ahead even when the disk refuses the state.
        const ready = this.waiters.filter((waiter) => waiter.until <= until);
        this.waiters = this.waiters.filter((waiter) => waiter.until > until);
        for (const waiter of ready) waiter.resolve();
        if (this.waiters.length > 0) void this.write();
        else if (this.covered < this.changes)
          this.schedule(failed ? RETRY_AFTER_FAILURE_MS : (this.options.batchMs ?? 0));
      });
    return this.writing;
  }
}
