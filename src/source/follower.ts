import { promises as fs } from 'node:fs';
import { basename, dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { KnocktailError } from '../model/errors.js';
import { NO_TRACE, type Tracer } from '../trace/stage-trace.js';
import { ChangeWaker } from './change-waker.js';
import { readCheckpoint, writeCheckpoint, type Checkpoint } from './checkpoint-file.js';
import type { ChunkSource } from './chunk-source.js';
import type { FollowerEvent, FollowerPosition } from './follower-event.js';
import { LogFile } from './log-file.js';
import { findFileByInode } from './rotated-file.js';

const EMPTY: Buffer = Buffer.alloc(0);

export type { FollowerEvent, FollowerPosition } from './follower-event.js';

export interface FileFollowerOptions {
  path: string;
  /** Where the position is saved (atomically) once the consumer is done with a chunk. */
  checkpointPath?: string;
  /** Where to begin when there is no checkpoint (default 'end': only lines written from now on). */
  startAt?: 'start' | 'end';
  /** Longest wait between looks at the file when no watch event comes (default 250). */
  pollIntervalMs?: number;
  /** How long a rotated-away file is still drained, as its writer may append for a moment (default 2000). */
  rotateGraceMs?: number;
  /** Largest chunk handed out (default 1 MiB). */
  maxChunkBytes?: number;
  onEvent?: (event: FollowerEvent) => void;
  /** Marks wake-ups and reads for the latency trace (default: none). */
  tracer?: Tracer;
}

// Which file is being read: the one at the path; one rotated away and drained until a
// deadline, then its successor from 0 (opened when the rotation was seen, so a second
// rotation within the grace period cannot skip it); or none while the path does not exist.
// Deadlines are on the monotonic clock: a wall-clock step must not end or stretch a grace period.
type Phase =
  | { readonly kind: 'following'; readonly file: LogFile }
  | { readonly kind: 'draining'; readonly file: LogFile; readonly until: number; readonly next: LogFile | undefined }
  | { readonly kind: 'missing' };

type Step = { readonly phase: Phase; readonly chunk?: Buffer; readonly idle?: number };

// Follows a log file across rotation, truncation and deletion without losing a line, and
// resumes from a checkpoint saved only after the consumer finished with a chunk.
export class FileFollower implements ChunkSource {
  private readonly path: string;
  private readonly checkpointPath: string | undefined;
  private readonly startAt: 'start' | 'end';
  private readonly pollIntervalMs: number;
  private readonly rotateGraceMs: number;
  private readonly maxChunkBytes: number;
  private readonly onEvent: (event: FollowerEvent) => void;
  private readonly tracer: Tracer;
  private current: FollowerPosition;
  private saved: Checkpoint | undefined;
  /** The checkpoint to write once the one in flight (`saving`) is done. */
  private wanted: Checkpoint | undefined;
  private saving: Promise<void> | undefined;
  private readonly lastErrors = new Map<'read' | 'save', string>();
  private oversized = 0;

  constructor(options: FileFollowerOptions) {
    this.path = options.path;
    this.checkpointPath = options.checkpointPath;
    this.startAt = options.startAt ?? 'end';
    this.pollIntervalMs = options.pollIntervalMs ?? 250;
    this.rotateGraceMs = options.rotateGraceMs ?? 2000;
    this.maxChunkBytes = options.maxChunkBytes ?? 1 << 20;
    this.onEvent = options.onEvent ?? (() => undefined);
    this.tracer = options.tracer ?? NO_TRACE;
    this.current = { path: options.path, device: 0, inode: 0, offset: 0, lagBytes: 0 };
  }

  takeOversized(): number {
    const dropped = this.oversized;
    this.oversized = 0;
    return dropped;
  }

  position(): FollowerPosition {
    return this.current;
  }

  async *chunks(signal?: AbortSignal): AsyncIterable<Buffer> {
    const name = basename(this.path);
    const waker = new ChangeWaker(dirname(this.path), (changed) => changed.startsWith(name), this.tracer);
    let phase: Phase = { kind: 'missing' };
    // A consumer parked between chunks never resumes this generator: drop the watch now so
    // it cannot keep the process alive (the file closes when the iterator is returned).
    const stopWaker = (): void => waker.stop();
    signal?.addEventListener('abort', stopWaker, { once: true });
    try {
      // A file that cannot be opened yet (permissions, I/O) is retried like a missing one.
      for (;;) {
        if (signal?.aborted) return;
        try {
          phase = await this.begin();
          break;
        } catch (error) {
          this.report(error, 'read');
          await waker.wait(this.pollIntervalMs, signal);
        }
      }
      for (;;) {
        // Running here means the consumer asked for more: everything handed out so far is
        // done, also when it asks only to see the iteration end on abort.
        await this.commit(phase);
        if (signal?.aborted) return;
        let step: Step;
        try {
          step = await this.step(phase);
          this.lastErrors.delete('read');
        } catch (error) {
          this.report(error, 'read');
          step = { phase, idle: this.pollIntervalMs };
        }
        phase = step.phase;
        this.track(phase);
        // A dropped over-long line is reported with the next chunk, or an empty one of its own.
        if (step.chunk) {
          this.tracer.mark('read');
          yield step.chunk;
        } else if (this.oversized > 0) yield EMPTY;
        else if (step.idle !== undefined) await waker.wait(step.idle, signal);
      }
    } finally {
      signal?.removeEventListener('abort', stopWaker);
      waker.stop();
      await this.saving;
      if (phase.kind !== 'missing') await phase.file.close();
      if (phase.kind === 'draining') await phase.next?.close();
    }
  }

  // Where to start: the checkpoint (same file, or the rotated file found by inode), else startAt.
  private async begin(): Promise<Phase> {
    let checkpoint: Checkpoint | undefined;
    try {
      checkpoint = this.checkpointPath === undefined ? undefined : await readCheckpoint(this.checkpointPath);
      this.saved = checkpoint;
    } catch (error) {
      this.report(error, 'read');
    }
    if (checkpoint) {
      const at = { offset: checkpoint.offset, anchor: Buffer.from(checkpoint.anchor ?? '', 'base64') };
      const here = await statOrUndefined(this.path);
      if (here && here.ino === checkpoint.inode && here.dev === checkpoint.device) {
        const file = await LogFile.open(this.path, at);
        if (file.inode === checkpoint.inode)
          return this.resumed(file, 'checkpointed-file', { kind: 'following', file });
        await file.close();
      }
      const rotated = await findFileByInode(this.path, checkpoint.device, checkpoint.inode);
      if (rotated !== undefined) {
        const file = await LogFile.open(rotated, at);
        // A checkpoint from before the rotation: the writer may have moved on only just now.
        const next = await openOrUndefined(this.path, 'start');
        return this.resumed(file, 'rotated-file', {
          kind: 'draining',
          file,
          until: performance.now() + this.rotateGraceMs,
          next,
        });
      }
      const file = await openOrUndefined(this.path, 'start');
      if (file) return this.resumed(file, 'start-of-current', { kind: 'following', file });
      return this.missing();
    }
    const file = await openOrUndefined(this.path, this.startAt);
    if (!file) return this.missing();
    this.emit({ type: 'opened', path: this.path, inode: file.inode, offset: file.offset, reason: this.startAt });
    return { kind: 'following', file };
  }

  private async step(phase: Phase): Promise<Step> {
    if (phase.kind === 'missing') {
      const file = await openOrUndefined(this.path, 'start');
      if (!file) return { phase, idle: this.pollIntervalMs };
      this.emit({ type: 'opened', path: this.path, inode: file.inode, offset: 0, reason: 'created' });
      return { phase: { kind: 'following', file } };
    }
    const { file } = phase;
    const outcome = await file.read(this.maxChunkBytes);
    this.oversized += file.takeDropped();
    if (outcome.kind === 'lines') return { phase, chunk: outcome.chunk };
    if (outcome.kind === 'skipping') return { phase };
    if (outcome.kind === 'truncated') {
      this.emit({ type: 'truncated', path: file.path, inode: file.inode, lostOffset: outcome.lostOffset });
      return { phase };
    }
    // Caught up with this file: is it still the one at the path?
    const here = await statOrUndefined(this.path);
    const stillHere = here !== undefined && here.ino === file.inode && here.dev === file.device;
    if (phase.kind === 'following') {
      if (stillHere) return { phase, idle: this.pollIntervalMs };
      const next = here === undefined ? undefined : await openOrUndefined(this.path, 'start');
      return { phase: { kind: 'draining', file, until: performance.now() + this.rotateGraceMs, next }, idle: 0 };
    }
    if (stillHere) {
      await phase.next?.close();
      return { phase: { kind: 'following', file }, idle: this.pollIntervalMs };
    }
    const left = phase.until - performance.now();
    if (left > 0) return { phase, idle: Math.min(left, this.pollIntervalMs) };
    return this.switchFrom(phase.file, phase.next);
  }

  // The grace period is over: hand out a last unterminated line, if any, then take the successor.
  private async switchFrom(file: LogFile, successor: LogFile | undefined): Promise<Step> {
    const rest = await file.readRest();
    this.oversized += file.takeDropped();
    if (rest) return { phase: { kind: 'draining', file, until: 0, next: successor }, chunk: rest };
    await file.close();
    // Deleted rather than renamed: whatever appeared at the path since then comes next.
    const next = successor ?? (await openOrUndefined(this.path, 'start'));
    if (!next) return { phase: this.missing() };
    this.emit({ type: 'rotated', path: this.path, fromInode: file.inode, toInode: next.inode });
    return { phase: { kind: 'following', file: next } };
  }

  // The checkpoint write (temp file, chmod, rename: half a dozen thread-pool round trips) runs
  // beside the next read instead of before it, so a knock's next packet is not kept waiting: at
  // most one write is in flight and the newest finished position is written next. Only the very
  // first one (nothing saved yet) is awaited. The end of chunks() waits for the last one.
  private async commit(phase: Phase): Promise<void> {
    if (this.checkpointPath === undefined || phase.kind === 'missing') return;
    const { file } = phase;
    const latest = this.wanted ?? this.saved;
    if (latest && latest.inode === file.inode && latest.device === file.device && latest.offset === file.offset) return;
    this.wanted = {
      device: file.device,
      inode: file.inode,
      offset: file.offset,
      anchor: file.anchor.toString('base64'),
    };
    const first = this.saved === undefined && this.saving === undefined;
    this.saving ??= this.saveWanted(this.checkpointPath);
    if (first) await this.saving;
  }

  private async saveWanted(path: string): Promise<void> {
    for (let checkpoint = this.wanted; checkpoint; checkpoint = this.wanted) {
      this.wanted = undefined;
      try {
        await writeCheckpoint(path, checkpoint);
        this.saved = checkpoint;
        this.lastErrors.delete('save');
      } catch (error) {
        this.report(error, 'save');
      }
    }
    this.saving = undefined;
  }

  private resumed(file: LogFile, from: 'checkpointed-file' | 'rotated-file' | 'start-of-current', phase: Phase): Phase {
    this.emit({ type: 'resumed', path: file.path, inode: file.inode, offset: file.offset, from });
    return phase;
  }

  private missing(): Phase {
    this.emit({ type: 'missing', path: this.path });
    return { kind: 'missing' };
  }

  private track(phase: Phase): void {
    if (phase.kind === 'missing') return;
    const { file } = phase;
    this.current = {
      path: file.path,
      device: file.device,
      inode: file.inode,
      offset: file.offset,
      lagBytes: file.lagBytes,
    };
  }

  // The same failure on every poll is reported once, until that kind of work succeeds again.
  private report(error: unknown, kind: 'read' | 'save'): void {
    const wrapped =
      error instanceof KnocktailError
        ? error
        : new KnocktailError('SOURCE_IO', `Expected to read ${this.path}, got: ${(error as Error).message}`, {
            cause: error,
          });
    if (this.lastErrors.get(kind) === wrapped.message) return;
    this.lastErrors.set(kind, wrapped.message);
    this.emit({ type: 'error', error: wrapped });
  }

  private emit(event: FollowerEvent): void {
    this.onEvent(event);
  }
}

async function statOrUndefined(path: string): Promise<{ ino: number; dev: number } | undefined> {
  try {
    return await fs.stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function openOrUndefined(path: string, at: 'start' | 'end'): Promise<LogFile | undefined> {
  try {
    return await LogFile.open(path, at);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
