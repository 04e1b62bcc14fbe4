import type { Clock, TimerHandle } from '../model/clock.js';
import type { RejectRecord, RejectSummaryRecord } from '../audit/record.js';
import { isoTime } from '../audit/record.js';

// Rejects (and bans, which are rejects with reason `banned`) cost one audit line each only up to
// a burst per door and window; past it they are counted and written as one `reject-summary` when
// the window ends, so the audit log grows with time, not with the number of spoofed addresses.
export interface RejectAuditOptions {
  readonly clock: Clock;
  /** Writes one record (the engine's audit path). */
  readonly write: (record: RejectRecord | RejectSummaryRecord) => Promise<void>;
  /** Window length, ms (default 60 s). */
  readonly windowMs?: number;
  /** Rejects written in full per door and window before the rest are summarised (default 10). */
  readonly burst?: number;
  /** Distinct sources counted exactly per window; past it the summary says `sourcesCapped` (default 65,536). */
  readonly maxDistinct?: number;
  /** What the summary is called (default `reject-summary`; refreshes are summarised as `refresh-summary`). */
  readonly summaryEvent?: RejectSummaryRecord['event'];
}

export const REJECT_WINDOW_MS = 60_000;
export const REJECT_BURST = 10;
const MAX_DISTINCT = 65_536;

interface Window {
  readonly from: number;
  written: number;
  suppressed: number;
  readonly sources: Set<string>;
  capped: boolean;
  readonly reasons: Map<string, number>;
  timer: TimerHandle | undefined;
}

export class RejectAudit {
  private readonly options: RejectAuditOptions;
  private readonly windowMs: number;
  private readonly burst: number;
  private readonly maxDistinct: number;
  private readonly windows = new Map<string, Window>();

  constructor(options: RejectAuditOptions) {
    this.options = options;
    this.windowMs = options.windowMs ?? REJECT_WINDOW_MS;
    this.burst = options.burst ?? REJECT_BURST;
    this.maxDistinct = options.maxDistinct ?? MAX_DISTINCT;
  }

  /** One reject: written in full while the door's window has room (the write's promise), else only counted (undefined). */
  reject(record: RejectRecord): Promise<void> | undefined {
    const window = this.windowOf(record.door);
    if (window.written < this.burst) {
      window.written += 1;
      return this.options.write(record);
    }
    this.count(record.door, record.src, record.reason);
    return undefined;
  }

  /** Count one event for the door's summary without writing it. */
  count(door: string, src: string, reason: string): void {
    const window = this.windowOf(door);
    window.suppressed += 1;
    window.reasons.set(reason, (window.reasons.get(reason) ?? 0) + 1);
    if (window.sources.size < this.maxDistinct) window.sources.add(src);
    else if (!window.sources.has(src)) window.capped = true;
  }

  /** End every open window now, writing the summaries due (at stop, so nothing counted is lost). */
  flush(): Promise<void> {
    const closing = [...this.windows].map(([door, window]) => {
      if (window.timer) this.options.clock.clearTimer(window.timer);
      window.timer = undefined;
      return this.close(door, window);
    });
    return Promise.all(closing).then(() => undefined);
  }

  /** Windows open now (tests, status). */
  get openWindows(): number {
    return this.windows.size;
  }

  private windowOf(door: string): Window {
    let window = this.windows.get(door);
    if (!window) {
      const now = this.options.clock.now();
      const opened: Window = {
        from: now,
        written: 0,
        suppressed: 0,
        sources: new Set(),
        capped: false,
        reasons: new Map(),
        timer: undefined,
      };
      this.windows.set(door, opened);
      opened.timer = this.options.clock.setTimer(now + this.windowMs, () => {
        opened.timer = undefined;
        void this.close(door, opened).catch(() => undefined);
      });
      window = opened;
    }
    return window;
  }

  private close(door: string, window: Window): Promise<void> {
    if (this.windows.get(door) === window) this.windows.delete(door);
    if (window.suppressed === 0) return Promise.resolve();
    const to = Math.min(this.options.clock.now(), window.from + this.windowMs);
    return this.options.write({
      event: this.options.summaryEvent ?? 'reject-summary',
      at: isoTime(to),
      door,
      src: '',
      from: isoTime(window.from),
      suppressed: window.suppressed,
      sources: window.sources.size,
      ...(window.capped ? { sourcesCapped: true } : {}),
      reasons: Object.fromEntries(window.reasons),
    });
  }
}
