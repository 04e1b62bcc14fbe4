// Time is a parameter: the daemon runs on the system clock, replay and tests on a
// manual clock that only moves when told to (replay moves it to each line's timestamp).
export interface TimerHandle {
  readonly at: number;
}

export interface Clock {
  now(): number;
  /** Run `fn` once the clock reaches `at` (epoch ms). */
  setTimer(at: number, fn: () => void): TimerHandle;
  clearTimer(handle: TimerHandle): void;
  /** Shown each packet's own time: a clock that follows the log (replay) moves to it; the system clock has none. */
  observe?(eventTime: number): void;
}

interface ManualTimer extends TimerHandle {
  readonly seq: number;
  readonly fn: () => void;
}

// A clock that moves only on advanceTo(); due timers fire in time order, each seeing now() == its own time.
export class ManualClock implements Clock {
  private current: number;
  private timers: ManualTimer[] = [];
  private seq = 0;

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimer(at: number, fn: () => void): TimerHandle {
    const timer: ManualTimer = { at, fn, seq: this.seq++ };
    this.timers.push(timer);
    return timer;
  }

  clearTimer(handle: TimerHandle): void {
    this.timers = this.timers.filter((timer) => timer !== handle);
  }

  /** Move forward to `at`, firing every timer due on the way. Never moves backwards. */
  advanceTo(at: number): void {
    for (;;) {
      let next: ManualTimer | undefined;
      for (const timer of this.timers) {
        if (timer.at <= at && (!next || timer.at < next.at || (timer.at === next.at && timer.seq < next.seq))) next = timer;
      }
      if (!next) break;
      this.timers = this.timers.filter((timer) => timer !== next);
      this.current = Math.max(this.current, next.at);
      next.fn();
    }
    this.current = Math.max(this.current, at);
  }

  pendingTimers(): number {
    return this.timers.length;
  }
}

// Replay's clock: log time. It stands at the latest packet time seen (never moving back), and
// timers due on the way fire in order before the packet is handled, as they would have live.
export class LogClock extends ManualClock {
  observe(eventTime: number): void {
    this.advanceTo(eventTime);
  }
}

interface SystemTimer extends TimerHandle {
  handle?: NodeJS.Timeout;
}

// Node's setTimeout caps at ~24.8 days; longer timers re-arm themselves.
const MAX_DELAY = 2 ** 31 - 1;

export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }

  setTimer(at: number, fn: () => void): TimerHandle {
    const timer: SystemTimer = { at };
    const arm = (): void => {
      const delay = at - Date.now();
      if (delay > MAX_DELAY) {
        timer.handle = setTimeout(arm, MAX_DELAY);
      } else {
        timer.handle = setTimeout(fn, Math.max(0, delay));
      }
      timer.handle.unref?.();
    };
    arm();
    return timer;
  }

  clearTimer(handle: TimerHandle): void {
    const timer = handle as SystemTimer;
    if (timer.handle) clearTimeout(timer.handle);
  }
}
