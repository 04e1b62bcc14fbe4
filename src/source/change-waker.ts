import { watch, type FSWatcher } from 'node:fs';
import { NO_TRACE, type Tracer } from '../trace/stage-trace.js';

// Wakes a waiting follower when something happens in the log's directory, or after a poll
// interval at the latest: inotify misses events (NFS, some overlays, a watch set up a moment
// too late), so polling is the guarantee and the watch only makes it quick.
export class ChangeWaker {
  private readonly directory: string;
  private readonly relevant: (name: string) => boolean;
  private watcher: FSWatcher | undefined;
  private changed = false;
  private wake: (() => void) | undefined;
  private readonly tracer: Tracer;

  constructor(directory: string, relevant: (name: string) => boolean, tracer: Tracer = NO_TRACE) {
    this.directory = directory;
    this.relevant = relevant;
    this.tracer = tracer;
  }

  /** Resolve on a relevant change (also one that came since the last wait), after `ms`, or on abort. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    this.ensureWatching();
    if (this.changed || signal?.aborted) {
      this.changed = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (by?: 'wake-watch' | 'wake-poll'): void => {
        if (by) this.tracer.mark(by);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.wake = undefined;
        this.changed = false;
        resolve();
      };
      const onAbort = (): void => done();
      const timer = setTimeout(() => done('wake-poll'), Math.max(0, ms));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.wake = () => done('wake-watch');
    });
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
    this.wake?.();
  }

  private ensureWatching(): void {
    if (this.watcher) return;
    try {
      this.watcher = watch(this.directory, { persistent: true }, (_event, name) => {
        if (name !== null && !this.relevant(name)) return;
        this.changed = true;
        this.wake?.();
      });
      // The directory itself went away: fall back to polling until it is back.
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      this.watcher = undefined;
    }
  }
}
