import { constants, promises as fs } from 'node:fs';
import { KnocktailError } from '../model/errors.js';
import { NO_TRACE, type Tracer } from '../trace/stage-trace.js';
import type { ChunkSource } from './chunk-source.js';
import { recordSequence, selectRecords } from './kmsg-record.js';
import type { Waker } from './kmsg-waker.js';
import { LineLimiter } from './line-limit.js';

/** The part of a FileHandle the reader uses; a test can hand in a fake. */
export interface KmsgHandle {
  read(buffer: Buffer, offset: number, length: number, position: null): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}

export interface KmsgSourceOptions {
  /** Default /dev/kmsg. */
  path?: string;
  /** Longest wait after the device had nothing more (default 100); a waker makes it quick. */
  pollIntervalMs?: number;
  /** Largest chunk handed out (default 256 KiB). */
  maxChunkBytes?: number;
  open?: (path: string) => Promise<KmsgHandle>;
  /** Reads the device in a helper and wakes the source when it did (the daemon passes a KmsgWaker); without one the source polls. */
  waker?: Waker;
  /** Marks reads for the latency trace (default: none). */
  readonly tracer?: Tracer;
}

export interface KmsgStats {
  /** Records handed out. */
  readonly records: number;
  /** Times the kernel overwrote records before we read them (EPIPE): knocks may be missing. */
  readonly overwritten: number;
  /** Records already in the ring buffer at start, skipped as old. */
  readonly skippedAtStart: number;
}

// Largest record the kernel hands out in one read (CONSOLE_EXT_LOG_MAX is 8 KiB).
const RECORD_BUFFER = 16 * 1024;

// Kernel log records straight from /dev/kmsg, without rsyslog: only those newer than the start.
export class KmsgSource implements ChunkSource {
  private readonly path: string;
  private readonly pollIntervalMs: number;
  private readonly maxChunkBytes: number;
  private readonly open: (path: string) => Promise<KmsgHandle>;
  private readonly waker: Waker | undefined;
  private readonly tracer: Tracer;
  private counts = { records: 0, overwritten: 0, skippedAtStart: 0 };
  private readonly limiter = new LineLimiter();
  /** Over-long lines the helper's stream dropped, not yet reported. */
  private fedDropped = 0;

  constructor(options: KmsgSourceOptions = {}) {
    this.path = options.path ?? '/dev/kmsg';
    this.pollIntervalMs = options.pollIntervalMs ?? 100;
    this.maxChunkBytes = options.maxChunkBytes ?? 256 * 1024;
    this.open = options.open ?? ((path) => fs.open(path, constants.O_RDONLY | constants.O_NONBLOCK));
    this.waker = options.waker;
    this.tracer = options.tracer ?? NO_TRACE;
  }

  takeOversized(): number {
    const dropped = this.limiter.takeDropped() + this.fedDropped;
    this.fedDropped = 0;
    return dropped;
  }

  stats(): KmsgStats {
    return { ...this.counts };
  }

  async *chunks(signal?: AbortSignal): AsyncIterable<Buffer> {
    let handle: KmsgHandle;
    try {
      handle = await this.open(this.path);
    } catch (error) {
      throw new KnocktailError(
        'SOURCE_IO',
        `Expected to read kernel records from ${this.path} (root or CAP_SYSLOG), got: ${(error as Error).message}`,
        { cause: error },
      );
    }
    try {
      const buffer = Buffer.allocUnsafe(RECORD_BUFFER);
      // Everything in the ring buffer now is history: read it through and remember its last sequence.
      let after = -1;
      for (;;) {
        const bytes = await this.readSome(handle, buffer);
        if (bytes === undefined) break;
        const selected = selectRecords(bytes, -1);
        this.counts.skippedAtStart += selected.lines.length;
        after = Math.max(after, selected.lastSequence);
      }
      this.limiter.takeDropped();
      while (!signal?.aborted) {
        const lines: Buffer[] = [];
        let size = 0;
        const keep = (bytes: Buffer, fromHelper: boolean): void => {
          const selected = selectRecords(bytes, after);
          // Sequence numbers have no holes: a helper started anew after an EPIPE shows lost records as one.
          const first = selected.lines[0] && recordSequence(selected.lines[0]);
          if (fromHelper && after >= 0 && first !== undefined && first > after + 1) this.counts.overwritten += 1;
          after = selected.lastSequence;
          for (const line of selected.lines) {
            lines.push(line);
            size += line.length;
          }
        };
        // The helper's records when it runs (see KmsgWaker), else our own reads of the device.
        const fed = this.waker?.take();
        if (fed) {
          this.fedDropped += fed.dropped;
          for (const bytes of fed.lines) keep(bytes, true);
        } else {
          while (size < this.maxChunkBytes) {
            const bytes = await this.readSome(handle, buffer);
            if (bytes === undefined) break;
            keep(bytes, false);
          }
        }
        if (lines.length > 0) {
          this.counts.records += lines.length;
          this.tracer.mark('read');
          yield Buffer.concat(lines, size);
        } else if (this.limiter.pendingDropped > 0 || this.fedDropped > 0) {
          // Only dropped over-long records: an empty chunk so the consumer counts them now.
          yield Buffer.alloc(0);
        } else {
          await (this.waker ? this.waker.wait(this.pollIntervalMs, signal) : pause(this.pollIntervalMs, signal));
        }
      }
    } finally {
      this.waker?.stop();
      await handle.close().catch(() => undefined);
    }
  }

  // One read (one record on the real device), cut into whole lines with over-long ones
  // dropped; undefined when there is nothing more for now.
  private async readSome(handle: KmsgHandle, buffer: Buffer): Promise<Buffer | undefined> {
    for (;;) {
      try {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
        if (bytesRead === 0) return undefined;
        return this.limiter.push(buffer.subarray(0, bytesRead));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') return undefined;
        // The kernel overwrote records we had not read; the next read returns the oldest left.
        if (code === 'EPIPE') {
          this.counts.overwritten += 1;
          continue;
        }
        throw new KnocktailError(
          'SOURCE_IO',
          `Expected to read a kernel record from ${this.path}, got: ${(error as Error).message}`,
          { cause: error },
        );
      }
    }
  }
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
