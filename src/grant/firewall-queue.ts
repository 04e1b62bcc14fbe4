import type { Clock, TimerHandle } from '../model/clock.js';
import type { FirewallBackend } from '../firewall/backend.js';
import { grantKey, type Grant } from '../model/grant.js';

// Firewall changes, one at a time and in the order they were asked for. Each change may wait
// for something first (its audit intent record); a failed open or repair is reported once, a
// failed close is reported and retried on the clock until it succeeds (visible in pending()
// meanwhile), so a port is never left open silently.
export interface PendingClose {
  readonly door: string;
  readonly src: string;
  readonly attempts: number;
  readonly lastError: string;
}

export interface FirewallQueueOptions {
  readonly backend: FirewallBackend;
  readonly clock: Clock;
  /** A change failed (attempt counts from 1); the engine writes the firewall-error record. */
  readonly onFailure: (grant: Grant | undefined, action: string, error: unknown, attempt: number) => Promise<void>;
  /** Delay before retrying a failed close: attempt → ms. */
  readonly closeRetryDelay?: (attempt: number) => number;
}

interface Retry {
  readonly grant: Grant;
  attempts: number;
  lastError: string;
  timer?: TimerHandle;
}

const defaultRetryDelay = (attempt: number): number => Math.min(60_000, 1000 * 2 ** Math.min(attempt, 6));

export class FirewallQueue {
  private readonly options: FirewallQueueOptions;
  private readonly retries = new Map<string, Retry>();
  private tail: Promise<void> = Promise.resolve();
  private stopped = false;
  /** When the change being applied was asked for, while one runs. */
  private applying: number | undefined;

  constructor(options: FirewallQueueOptions) {
    this.options = options;
  }

  /** Open (or refresh) after `before` settles; a failure is reported, not thrown. A pending close of the grant is dropped. */
  open(grant: Grant, before?: Promise<unknown>): Promise<void> {
    this.cancelClose(grant);
    return this.enqueue(before, () => this.attempt(grant, 'open', () => this.options.backend.open(grant)));
  }

  /** Close after `before` settles; retried until it succeeds. */
  close(grant: Grant, before?: Promise<unknown>): Promise<void> {
    this.cancelClose(grant);
    return this.enqueue(before, () => this.applyClose({ grant, attempts: 0, lastError: '' }));
  }

  /** Any other change (reconcile's repairs): reported once on failure. */
  apply(
    grant: Grant | undefined,
    action: string,
    change: () => Promise<void>,
    before?: Promise<unknown>,
  ): Promise<void> {
    return this.enqueue(before, () => this.attempt(grant, action, change));
  }

  /** Whether a failed close of this grant is waiting for its retry. */
  isClosing(grant: Pick<Grant, 'door' | 'src'>): boolean {
    return this.retries.has(grantKey(grant));
  }

  pending(): PendingClose[] {
    return [...this.retries.values()].map(({ grant, attempts, lastError }) => ({
      door: grant.door,
      src: grant.src,
      attempts,
      lastError,
    }));
  }

  /**
   * The time the change being applied was asked for (undefined between changes). Backends
   * compute timeouts from it, so a change means the same whenever the queue gets to it;
   * in replay, where the log clock may have moved on meanwhile, that keeps log time exact.
   */
  time(): number | undefined {
    return this.applying;
  }

  /** Resolves once every change asked for so far (and any retry that fired meanwhile) has run. */
  async drain(): Promise<void> {
    for (let tail = this.tail; ; tail = this.tail) {
      await tail;
      if (tail === this.tail) return;
    }
  }

  /** No more retries are scheduled; queued changes still run. */
  stop(): void {
    this.stopped = true;
    for (const retry of this.retries.values()) if (retry.timer) this.options.clock.clearTimer(retry.timer);
  }

  private enqueue(before: Promise<unknown> | undefined, change: () => Promise<void>): Promise<void> {
    const at = this.options.clock.now();
    const apply = (): Promise<void> => {
      this.applying = at;
      // then(ok, fail) rather than finally(): the same reset, without finally's extra promises.
      return change().then(
        () => {
          this.applying = undefined;
        },
        (error: unknown) => {
          this.applying = undefined;
          throw error;
        },
      );
    };
    const run = before ? this.tail.then(() => before).then(apply) : this.tail.then(apply);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async attempt(grant: Grant | undefined, action: string, change: () => Promise<void>): Promise<void> {
    try {
      await change();
    } catch (error) {
      await this.options.onFailure(grant, action, error, 1);
    }
  }

  private async applyClose(retry: Retry): Promise<void> {
    try {
      await this.options.backend.close(retry.grant);
      // Nearly always no retry is waiting: the key is only built when one might be this one's.
      if (this.retries.size > 0) {
        const key = grantKey(retry.grant);
        if (this.retries.get(key) === retry) this.retries.delete(key);
      }
    } catch (error) {
      const key = grantKey(retry.grant);
      retry.attempts += 1;
      retry.lastError = error instanceof Error ? error.message : String(error);
      this.retries.set(key, retry);
      await this.options.onFailure(retry.grant, 'close', error, retry.attempts);
      if (this.stopped || this.retries.get(key) !== retry) return;
      const { clock } = this.options;
      retry.timer = clock.setTimer(
        clock.now() + (this.options.closeRetryDelay ?? defaultRetryDelay)(retry.attempts),
        () => {
          retry.timer = undefined;
          if (this.retries.get(key) === retry) void this.enqueue(undefined, () => this.applyClose(retry));
        },
      );
    }
  }

  private cancelClose(grant: Grant): void {
    if (this.retries.size === 0) return;
    const key = grantKey(grant);
    const retry = this.retries.get(key);
    if (!retry) return;
    if (retry.timer) this.options.clock.clearTimer(retry.timer);
    this.retries.delete(key);
  }
}
