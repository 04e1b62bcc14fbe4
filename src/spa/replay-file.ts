import { constants, writeSync } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { writeFileAtomic } from '../fs/atomic-write.js';
import type { ReplayEntry } from './replay-cache.js';

// The SPA replay cache on disk (stateDir/spa-replay.journal), so a packet used before a restart
// stays used after it. An append-only journal, one `<digest> <until>` line per used packet:
// remembering a packet before its grant costs one small write(2) on an open descriptor, whatever
// the size of the cache (rewriting the whole cache per packet grew with it: 65,536 entries are
// 4.5 MB). The write is synchronous on purpose: 80 bytes to a local file take microseconds,
// while the thread pool's round trip cost 0.3 ms at the median and up to 11 ms at p95 under
// load, on the SPA → open path (bench/spa.ts). At open, and whenever the journal holds many more
// lines than live entries, it is rewritten atomically with the live entries only (appends made
// meanwhile wait for it). Not fsync'ed: a restart keeps every line, a power cut may lose the last
// ones (packets younger than the age limit at that moment). A line that is not a digest and a
// time (a write torn by a crash) is skipped.
const LINE = /^([0-9a-f]{64}) (\d{1,16})$/;
/** Compact when the journal has this many more lines than the cache has live entries... */
const SLACK_LINES = 4096;
/** ...and more than twice as many. */
const SLACK_FACTOR = 2;

export function parseReplayJournal(text: string): ReplayEntry[] {
  return text.split('\n').flatMap((line): ReplayEntry[] => {
    const match = LINE.exec(line);
    return match ? [{ digest: match[1]!, until: Number(match[2]) }] : [];
  });
}

const lineOf = (entry: ReplayEntry): string => `${entry.digest} ${entry.until}\n`;

/** What the journal mirrors: the replay cache. */
export interface JournalSource {
  /** The live entries: what a rewrite keeps. */
  entries(): readonly ReplayEntry[];
  /** How many entries are held (expired ones not yet pruned included): decides when to rewrite, in O(1) per append. */
  count(): number;
}

export class ReplayJournal {
  private file: FileHandle | undefined;
  private lines = 0;
  /** The running rewrite, if any: appends wait for it, so none lands in the file it replaces. */
  private rewriting: Promise<void> | undefined;

  private constructor(
    private readonly path: string,
    private readonly source: JournalSource,
  ) {}

  /** The entries saved in `path` (none when it is missing or unreadable). */
  static async load(path: string): Promise<ReplayEntry[]> {
    try {
      return parseReplayJournal(await readFile(path, 'utf8'));
    } catch {
      return [];
    }
  }

  /** Rewrite `path` with the live entries and keep it open for appending. */
  static async open(path: string, source: JournalSource): Promise<ReplayJournal> {
    const journal = new ReplayJournal(path, source);
    await journal.compact();
    return journal;
  }

  /** Resolves once `entry` is written (at once, unless a rewrite runs). */
  append(entry: ReplayEntry): Promise<void> {
    if (this.rewriting) return this.rewriting.then(() => this.append(entry));
    if (!this.file) return Promise.reject(new Error(`the replay journal ${this.path} is closed`));
    try {
      writeSync(this.file.fd, lineOf(entry));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    this.lines += 1;
    const live = this.source.count();
    // The entry is in the cache already, so the rewrite keeps it.
    if (this.lines > live + SLACK_LINES && this.lines > live * SLACK_FACTOR) void this.compact().catch(() => undefined);
    return Promise.resolve();
  }

  /** Rewrite the journal with the live entries only. */
  compact(): Promise<void> {
    const run = (this.rewriting ?? Promise.resolve()).then(() => this.rewrite());
    const tracked: Promise<void> = run
      .catch(() => undefined)
      .then(() => {
        if (this.rewriting === tracked) this.rewriting = undefined;
      });
    this.rewriting = tracked;
    return run;
  }

  async close(): Promise<void> {
    await this.rewriting;
    await this.file?.close();
    this.file = undefined;
  }

  private async rewrite(): Promise<void> {
    const entries = this.source.entries();
    await writeFileAtomic(this.path, entries.map(lineOf).join(''), { mode: 0o600, createDirMode: 0o700 });
    const previous = this.file;
    // O_NOFOLLOW: the name was just renamed into place by us; a link planted since is not followed.
    this.file = await open(this.path, constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW);
    this.lines = entries.length;
    await previous?.close();
  }
}
