import { closeSync, openSync, writeSync } from 'node:fs';
import { sleep } from '../../support/helpers.js';

// A log writer like rsyslog: appends numbered lines through an O_APPEND descriptor it keeps
// until told to reopen (its HUP), so it goes on writing to a file renamed away or deleted.
export class LineWriter {
  private readonly path: string;
  private fd: number | undefined;
  private nextSeq = 0;

  constructor(path: string) {
    this.path = path;
  }

  get written(): number {
    return this.nextSeq;
  }

  reopen(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = openSync(this.path, 'a');
  }

  /** Append `count` lines in one write() (as whole lines, like a syslog daemon). */
  write(count: number): void {
    this.writePrepared(formatLines(this.nextSeq, count), count);
  }

  /** Append `count` lines made by formatLines() beforehand (so a benchmark does not time building them). */
  writePrepared(text: string, count: number): void {
    if (this.fd === undefined) this.reopen();
    writeSync(this.fd as number, text);
    this.nextSeq += count;
  }

  /** Write `count` lines spread over about `ms` milliseconds, in small batches on timers. */
  async pace(count: number, ms: number): Promise<void> {
    const batches = Math.max(1, Math.round(ms / 10));
    const perBatch = Math.ceil(count / batches);
    for (let left = count; left > 0; left -= perBatch) {
      this.write(Math.min(perBatch, left));
      await sleep(10);
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

const PAD = 'x'.repeat(48);

export function formatLine(seq: number): string {
  return `seq=${String(seq).padStart(8, '0')} ${PAD}\n`;
}

/** Lines `from` … `from + count - 1`, each ending in a newline. */
export function formatLines(from: number, count: number): string {
  let text = '';
  for (let seq = from; seq < from + count; seq += 1) text += formatLine(seq);
  return text;
}

export const LINE = /^seq=(\d{8}) x{48}$/;

export interface LineTally {
  readonly received: number;
  readonly lost: number[];
  readonly duplicated: number;
  readonly broken: string[];
  readonly chunksWithoutNewline: number;
}

// Every chunk must end in '\n'; every line must be whole; each of 0..written-1 exactly once.
export function tallyLines(chunks: readonly Buffer[], written: number): LineTally {
  const seen = new Uint8Array(written);
  const broken: string[] = [];
  let duplicated = 0;
  let received = 0;
  let chunksWithoutNewline = 0;
  for (const chunk of chunks) {
    if (chunk[chunk.length - 1] !== 0x0a) chunksWithoutNewline += 1;
    const lines = chunk.toString('latin1').split('\n');
    lines.pop();
    for (const line of lines) {
      received += 1;
      const match = LINE.exec(line);
      const seq = match ? Number(match[1]) : -1;
      if (seq < 0 || seq >= written) {
        broken.push(line);
      } else if (seen[seq]) {
        duplicated += 1;
      } else {
        seen[seq] = 1;
      }
    }
  }
  const lost: number[] = [];
  for (let seq = 0; seq < written; seq += 1) if (!seen[seq]) lost.push(seq);
  return { received, lost, duplicated, broken, chunksWithoutNewline };
}
