import { constants } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { writeFileAtomic } from '../fs/atomic-write.js';
import type { ReplayEntry } from './replay-cache.js';

// The SPA replay cache on disk (stateDir/spa-replay.journal), so a packet used before a restart
// stays used after it. An append-only journal, one `<digest> <until>` line per used packet:
// remembering a packet before its grant costs one small write(2) on an open descriptor, whatever
// the size of the cache (rewriting the whole cache per packet grew with it: 65,536 entries are
// 4.5 MB). At open, and whenever the journal holds many more lines than live entries, it is
// rewritten atomically with the live entries only. Not fsync'ed: a restart keeps every line, a
// power cut may lose the last ones (packets younger than the age limit at that moment). A line
// that is not a digest and a time (a write torn by a crash) is skipped.
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

export class ReplayJournal {
  private file: FileHandle | undefined;
  private lines = 0;
  /** Appends and compactions, one at a time, in call order. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly path: string,
    /** The cache's live entries, for a compaction. */
    private readonly live: () => readonly ReplayEntry[],
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
  static async open(path: string, live: () => readonly ReplayEntry[]): Promise<ReplayJournal> {
    const journal = new ReplayJournal(path, live);
    await journal.compact();
    return journal;
  }

  /** Resolves once `entry` is written (in order with the others). */
  append(entry: ReplayEntry): Promise<void> {
    return this.enqueue(async () => {
      if (!this.file) throw new Error(`the replay journal ${this.path} is closed`);
      await this.file.write(lineOf(entry));
      this.lines += 1;
      const live = this.live().length;
      if (this.lines > live + SLACK_LINES && this.lines > live * SLACK_FACTOR) await this.rewrite();
    });
  }

  /** Rewrite the journal with the live entries only. */
  compact(): Promise<void> {
    return this.enqueue(() => this.rewrite());
  }

  async close(): Promise<void> {
    await this.enqueue(async () => {
      await this.file?.close();
      this.file = undefined;
    });
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    const run = this.queue.then(step);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async rewrite(): Promise<void> {
    const entries = this.live();
    await writeFileAtomic(this.path, entries.map(lineOf).join(''), { mode: 0o600, createDirMode: 0o700 });
    const previous = this.file;
    // O_NOFOLLOW: the name was just renamed into place by us; a link planted since is not followed.
    this.file = await open(this.path, constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW);
    this.lines = entries.length;
    await previous?.close();
  }
}
