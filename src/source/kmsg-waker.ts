import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { NO_TRACE, type Tracer } from '../trace/stage-trace.js';
import { LineLimiter } from './line-limit.js';

// Reads /dev/kmsg for the kmsg source in a helper process, and wakes the source when it did.
// Node cannot poll(2) a character device (libuv reads files on its thread pool, where a
// blocking read of /dev/kmsg would hold a pool thread and keep the process from ever exiting),
// so `cat /dev/kmsg` does the blocking read and its output, read from a pipe on the event loop,
// is the record stream: no thread-pool read after the wake-up (measured in bench/live.ts,
// "awake → chunk read"). The helper starts at the oldest record in the ring buffer; the source
// skips by sequence number what it has seen. While no helper runs (not started yet, ended,
// cannot start) the source reads the device itself on its poll interval, so a dead or missing
// helper costs speed, never a record. The helper is ours alone: it is killed by its PID on
// stop, and restarted at most once per RESTART_MS when it ends (cat exits on EPIPE when the
// kernel overwrote records it had not read). Its output is paused while more than
// MAX_QUEUED_BYTES wait for the source, so a slow consumer never makes the queue grow.
export interface Waker {
  /** Resolve on a change (also one that came since the last wait), after `ms`, or on abort. */
  wait(ms: number, signal?: AbortSignal): Promise<void>;
  /** The helper's whole lines since the last call and the over-long ones it dropped; undefined while no helper runs. */
  take(): { readonly lines: Buffer[]; readonly dropped: number } | undefined;
  stop(): void;
}

/** A running helper: calls back with its output and once when it has ended. */
export interface WakeProcess {
  onOutput(fn: (chunk: Buffer) => void): void;
  onExit(fn: () => void): void;
  /** Stop or go on reading the helper's output (backpressure). */
  pause(): void;
  resume(): void;
  kill(): void;
}

export type StartWakeProcess = (path: string) => WakeProcess;

const RESTART_MS = 1000;
const MAX_QUEUED_BYTES = 256 * 1024;

/** `cat PATH`, its output read from a pipe. */
export const startCat: StartWakeProcess = (path) => {
  const child = spawn('cat', [path], { stdio: ['ignore', 'pipe', 'ignore'] });
  return {
    onOutput(fn) {
      child.stdout.on('data', (chunk: Buffer) => fn(chunk));
    },
    onExit(fn) {
      let ended = false;
      const once = (): void => {
        if (ended) return;
        ended = true;
        fn();
      };
      child.once('exit', once);
      child.once('error', once);
    },
    pause() {
      child.stdout.pause();
    },
    resume() {
      child.stdout.resume();
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
};

export class KmsgWaker implements Waker {
  private readonly path: string;
  private readonly start: StartWakeProcess;
  private readonly now: () => number;
  private process: WakeProcess | undefined;
  private startedAt = Number.NEGATIVE_INFINITY;
  private changed = false;
  private stopped = false;
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  private dropped = 0;
  private wake: (() => void) | undefined;

  constructor(
    path: string,
    start: StartWakeProcess = startCat,
    now: () => number = () => performance.now(),
    private readonly tracer: Tracer = NO_TRACE,
  ) {
    this.path = path;
    this.start = start;
    this.now = now;
  }

  wait(ms: number, signal?: AbortSignal): Promise<void> {
    this.ensureRunning();
    if (this.changed || signal?.aborted) {
      this.changed = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (woken: boolean): void => {
        if (woken) this.tracer.mark('wake-watch');
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.wake = undefined;
        this.changed = false;
        resolve();
      };
      const onAbort = (): void => done(false);
      const timer = setTimeout(() => done(false), Math.max(0, ms));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.wake = () => done(true);
    });
  }

  take(): { lines: Buffer[]; dropped: number } | undefined {
    this.ensureRunning();
    if (!this.process && this.queued.length === 0 && this.dropped === 0) return undefined;
    const taken = { lines: this.queued, dropped: this.dropped };
    this.queued = [];
    this.queuedBytes = 0;
    this.dropped = 0;
    this.process?.resume();
    return taken;
  }

  stop(): void {
    this.stopped = true;
    const process = this.process;
    this.process = undefined;
    process?.kill();
    this.wake?.();
  }

  private ensureRunning(): void {
    if (this.process || this.stopped || this.now() - this.startedAt < RESTART_MS) return;
    this.startedAt = this.now();
    let process: WakeProcess;
    try {
      process = this.start(this.path);
    } catch {
      return;
    }
    this.process = process;
    // Each helper's stream is cut on its own: a partial line of one that ended is not the start of the next one's.
    const limiter = new LineLimiter();
    process.onOutput((chunk) => {
      if (this.stopped) return;
      const lines = limiter.push(chunk);
      this.dropped += limiter.takeDropped();
      if (lines.length > 0) {
        this.queued.push(lines);
        this.queuedBytes += lines.length;
        if (this.queuedBytes > MAX_QUEUED_BYTES) process.pause();
      }
      this.changed = true;
      this.wake?.();
    });
    process.onExit(() => {
      if (this.process === process) this.process = undefined;
    });
  }
}
