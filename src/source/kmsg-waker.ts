import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { traceStage } from '../trace/stage-trace.js';

// Wakes the /dev/kmsg reader as soon as the kernel logs something. Node cannot poll(2) a
// character device (libuv reads files on its thread pool, where a blocking read of /dev/kmsg
// would hold a pool thread and keep the process from ever exiting), so a helper process does
// the blocking read: `cat /dev/kmsg`, whose output only means "there is something new" and is
// thrown away; KmsgSource still reads the records itself, so a dead or missing helper costs
// speed, never a record (the poll interval stays the guarantee, as for ChangeWaker). The helper
// is ours alone: it is killed by its PID on stop, and restarted at most once per RESTART_MS
// when it ends (cat exits on EPIPE when the kernel overwrote records it had not read).
export interface Waker {
  /** Resolve on a change (also one that came since the last wait), after `ms`, or on abort. */
  wait(ms: number, signal?: AbortSignal): Promise<void>;
  stop(): void;
}

/** A running helper: calls back on any output and once when it has ended. */
export interface WakeProcess {
  onOutput(fn: () => void): void;
  onExit(fn: () => void): void;
  kill(): void;
}

export type StartWakeProcess = (path: string) => WakeProcess;

const RESTART_MS = 1000;

/** `cat PATH` with its output only noticed, never kept. */
export const startCat: StartWakeProcess = (path) => {
  const child = spawn('cat', [path], { stdio: ['ignore', 'pipe', 'ignore'] });
  return {
    onOutput(fn) {
      child.stdout.on('data', () => fn());
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
  private wake: (() => void) | undefined;

  constructor(path: string, start: StartWakeProcess = startCat, now: () => number = () => performance.now()) {
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
        if (woken) traceStage('wake-watch');
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
    process.onOutput(() => {
      this.changed = true;
      this.wake?.();
    });
    process.onExit(() => {
      if (this.process === process) this.process = undefined;
    });
  }
}
