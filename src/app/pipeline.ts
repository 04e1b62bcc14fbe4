import type { Clock, TimerHandle } from '../model/clock.js';
import type { Counters } from './counters.js';
import type { GrantEngine } from '../grant/grant-engine.js';
import type { KnockEvent } from '../knock/events.js';
import type { KnockTracker } from '../knock/tracker.js';
import type { Packet, ParseContext } from '../parse/packet.js';
import { AddressCache } from '../parse/address-cache.js';
import { ByteLineReader } from '../parse/byte-line-reader.js';
import { describeMalformed, parseKernelLine } from '../parse/parse-kernel-line.js';
import { scanLineBounds } from '../parse/line-scanner.js';

// source → parse → knock → grant, the same for the daemon and replay (which differ only in
// the parts they are built with). Each packet's time is shown to the clock: the log clock of
// replay moves to it (firing the timers due on the way), the system clock ignores it.
export interface PipelineOptions {
  readonly parseContext: ParseContext;
  readonly tracker: KnockTracker;
  readonly grants: GrantEngine;
  readonly clock: Clock;
  readonly counters: Counters;
  /** Every knock event, for verbose replay and debug logs. */
  readonly onKnockEvent?: (event: KnockEvent) => void;
  /** A line that could not be used (malformed, forged) or whose processing threw. */
  readonly onBadLine?: (line: string, problem: string) => void;
  /** A packet line older than its door's timeout, counted as stale and not used (replay --verbose lists them). */
  readonly onStaleLine?: (line: string) => void;
}

export class Pipeline {
  private readonly options: PipelineOptions;
  private readonly prefix: Buffer;
  private readonly fastPath: ByteLineReader;
  /** This pipeline's memo of address lookups (same input, same output), for both parsers. */
  private readonly addresses = new AddressCache();
  /** Start and end of each candidate line of the chunk being processed (reused). */
  private readonly bounds: number[] = [];
  private trackerTimer: TimerHandle | undefined;
  private stopped = false;

  constructor(options: PipelineOptions) {
    this.options = options;
    this.prefix = Buffer.from(options.parseContext.prefix, 'utf8');
    this.fastPath = new ByteLineReader(options.parseContext, this.addresses);
  }

  /**
   * Process one chunk of whole lines; resolves when every effect of those lines is done.
   * `oversized`: lines the reader dropped whole before this chunk (ChunkSource.takeOversized).
   */
  async processChunk(chunk: Buffer, oversized = 0): Promise<void> {
    const bounds = this.bounds;
    bounds.length = 0;
    const lines = scanLineBounds(chunk, this.prefix, (start, end) => bounds.push(start, end));
    const candidates = bounds.length / 2;
    const { counters } = this.options;
    counters.lines += lines + oversized;
    counters.oversized += oversized;
    counters.ignored += lines - candidates;
    // The per-line path is synchronous: every line's bookkeeping (knock state, grant table,
    // intent record, queued firewall change) happens in order, now; the chunk then waits for
    // the effects of the lines that had any, so the next line never waits for a firewall.
    let effects: Promise<unknown>[] | undefined;
    for (let k = 0; k < bounds.length; k += 2) {
      const start = bounds[k]!;
      const end = bounds[k + 1]!;
      try {
        const effect = this.processCandidate(chunk, start, end);
        if (effect)
          (effects ??= []).push(
            effect.catch((error: unknown) => this.failed(chunk.toString('utf8', start, end), error)),
          );
      } catch (error) {
        this.failed(chunk.toString('utf8', start, end), error);
      }
    }
    if (effects) await Promise.all(effects);
  }

  private failed(line: string, error: unknown): void {
    this.options.counters.errors += 1;
    this.options.onBadLine?.(line, `processing failed: ${error instanceof Error ? error.message : String(error)}`);
  }

  /** Stop the partial-sequence expiry timer. */
  stop(): void {
    this.stopped = true;
    if (this.trackerTimer) this.options.clock.clearTimer(this.trackerTimer);
    this.trackerTimer = undefined;
  }

  private processCandidate(chunk: Buffer, start: number, end: number): Promise<unknown> | undefined {
    const { counters } = this.options;
    // The line is decoded only for the strict parser and the callbacks that show it.
    const result =
      this.fastPath.read(chunk, start, end) ??
      parseKernelLine(chunk.toString('utf8', start, end), this.options.parseContext, this.addresses);
    if (result.kind === 'ignored') {
      if (result.reason === 'not-kernel') {
        counters.forged += 1;
        this.options.onBadLine?.(
          chunk.toString('utf8', start, end),
          'prefix from a userspace program (not the kernel): ignored',
        );
      }
      counters.ignored += 1;
      return undefined;
    }
    if (result.kind === 'foreign') {
      counters.foreign += 1;
      this.options.onBadLine?.(
        chunk.toString('utf8', start, end),
        `foreign (${result.reason}): not an INPUT packet for this host`,
      );
      return undefined;
    }
    if (result.kind === 'malformed') {
      counters.malformed += 1;
      this.options.onBadLine?.(chunk.toString('utf8', start, end), `malformed (${describeMalformed(result)})`);
      return undefined;
    }
    counters.packets += 1;
    const packet = result.packet;
    this.options.clock.observe?.(packet.at);
    const { onStaleLine, tracker } = this.options;
    if (!onStaleLine) return this.observe(packet);
    const stale = tracker.staleCount;
    const effect = this.observe(packet);
    if (tracker.staleCount !== stale) onStaleLine(chunk.toString('utf8', start, end));
    return effect;
  }

  private observe(packet: Packet): Promise<unknown> | undefined {
    const { counters, clock, tracker } = this.options;
    const events = tracker.observe(packet, clock.now());
    this.scheduleTrackerExpiry();
    if (events.length === 0) return undefined;
    let effects = false;
    let knock = false;
    for (const event of events) {
      this.options.onKnockEvent?.(event);
      if (event.kind === 'advanced' || event.kind === 'completed' || event.kind === 'closed') knock = true;
      if (
        event.kind === 'completed' ||
        event.kind === 'closed' ||
        event.kind === 'rejected' ||
        event.kind === 'scanner'
      )
        effects = true;
    }
    if (knock) counters.knocks += 1;
    return effects ? this.dispatch(events) : undefined;
  }

  // Every event's bookkeeping happens now, in order; the line waits for all their effects together.
  private dispatch(events: readonly KnockEvent[]): Promise<unknown> | undefined {
    let pending: Promise<unknown>[] | undefined;
    for (const event of events) {
      const effect = this.options.grants.handle(event);
      if (effect) (pending ??= []).push(effect);
    }
    return pending && (pending.length === 1 ? pending[0] : Promise.all(pending));
  }

  // Partial sequences also expire on the clock, not only when the next packet comes. The timer is
  // re-armed only when the next expiry moves earlier; one that fires early just re-arms.
  private scheduleTrackerExpiry(): void {
    if (this.stopped) return;
    const { clock, tracker } = this.options;
    const next = tracker.nextExpiry();
    if (next === undefined || (this.trackerTimer && this.trackerTimer.at <= next)) return;
    if (this.trackerTimer) clock.clearTimer(this.trackerTimer);
    this.trackerTimer = clock.setTimer(next, () => {
      this.trackerTimer = undefined;
      for (const event of tracker.expire(clock.now())) this.options.onKnockEvent?.(event);
      this.scheduleTrackerExpiry();
    });
  }
}
