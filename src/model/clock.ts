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

// A clock that moves only on advanceTo(); due timers fire in time order (then in the order set),
// each seeing now() == its own time. Timers sit in a min-heap: replay moves the clock on every
// packet, so advancing past no due timer is O(1) and setting or clearing one is O(log n).
export class ManualClock implements Clock {
  private current: number;
  private readonly timers: ManualTimer[] = [];
  private readonly cleared = new Set<ManualTimer>();
  /** Timers in the heap (cleared or not). */
  private readonly queued = new Set<ManualTimer>();
  private seq = 0;

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimer(at: number, fn: () => void): TimerHandle {
    const timer: ManualTimer = { at, fn, seq: this.seq++ };
    this.push(timer);
    return timer;
  }

  // Lazily: a cleared timer stays in the heap, marked, until it reaches the top.
  clearTimer(handle: TimerHandle): void {
    const timer = handle as ManualTimer;
    if (this.queued.has(timer)) this.cleared.add(timer);
    this.dropCleared();
  }

  /** Move forward to `at`, firing every timer due on the way. Never moves backwards. */
  advanceTo(at: number): void {
    for (let next = this.timers[0]; next !== undefined && next.at <= at; next = this.timers[0]) {
      this.pop();
      this.current = Math.max(this.current, next.at);
      next.fn();
      this.dropCleared();
    }
    if (at > this.current) this.current = at;
  }

  pendingTimers(): number {
    return this.timers.length - this.cleared.size;
  }

  private dropCleared(): void {
    for (let top = this.timers[0]; top !== undefined && this.cleared.has(top); top = this.timers[0]) {
      this.cleared.delete(top);
      this.pop();
    }
  }

  private before(a: ManualTimer, b: ManualTimer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(timer: ManualTimer): void {
    const heap = this.timers;
    this.queued.add(timer);
    heap.push(timer);
    for (let child = heap.length - 1; child > 0;) {
      const parent = (child - 1) >> 1;
      if (!this.before(heap[child]!, heap[parent]!)) break;
      [heap[child], heap[parent]] = [heap[parent]!, heap[child]!];
      child = parent;
    }
  }

  private pop(): void {
    const heap = this.timers;
    this.queued.delete(heap[0]!);
    const last = heap.pop()!;
    if (heap.length === 0) return;
    heap[0] = last;
    for (let parent = 0; ;) {
      const left = parent * 2 + 1;
      const right = left + 1;
      let best = parent;
      if (left < heap.length && this.before(heap[left]!, heap[best]!)) best = left;
      if (right < heap.length && this.before(heap[right]!, heap[best]!)) best = right;
      if (best === parent) return;
      [heap[best], heap[parent]] = [heap[parent]!, heap[best]!];
      parent = best;
    }
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
      timer.handle.unref();
    };
    arm();
    return timer;
  }

  clearTimer(handle: TimerHandle): void {
    const timer = handle as SystemTimer;
    if (timer.handle) clearTimeout(timer.handle);
  }
}
