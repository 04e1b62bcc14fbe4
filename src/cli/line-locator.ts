import { countLines } from '../parse/line-scanner.js';

// Where a line the pipeline reports sits in the replayed files (file and line number), for
// `replay --verbose`. The reader announces each chunk before the pipeline sees it and the
// pipeline reports a chunk's lines in order, so a forward search from the last hit finds each.
export interface LineLocation {
  readonly file: string;
  /** 1-based; undefined when the text is not found in the chunk (it could not be decoded back). */
  readonly line: number | undefined;
}

const NEWLINE = 0x0a;

export class LineLocator {
  private file = '';
  private chunk: Buffer = Buffer.alloc(0);
  /** Line number of the chunk's first line, of the line at `cursor`, and of the next chunk's first line. */
  private firstLine = 1;
  private cursor = 0;
  private cursorLine = 1;
  private nextLine = 1;

  /** A chunk of `file` is next; `dropped`: lines the reader dropped whole (oversized) before it. */
  chunkRead(file: string, chunk: Buffer, dropped = 0): void {
    if (file !== this.file) {
      this.file = file;
      this.nextLine = 1;
    }
    this.nextLine += dropped;
    this.chunk = chunk;
    this.firstLine = this.cursorLine = this.nextLine;
    this.cursor = 0;
    this.nextLine += countLines(chunk);
  }

  locate(text: string): LineLocation {
    const needle = Buffer.from(`${text}\n`, 'utf8');
    let at = this.find(needle, this.cursor);
    if (at < 0) {
      // Reported out of order (an effect that failed later): search the chunk from its start.
      at = this.find(needle, 0);
      if (at < 0) return { file: this.file, line: undefined };
      this.cursor = 0;
      this.cursorLine = this.firstLine;
    }
    const line = this.cursorLine + countLines(this.chunk.subarray(this.cursor, at));
    // The next report is of a later line (the same text again is the next copy).
    this.cursor = at + needle.length;
    this.cursorLine = line + 1;
    return { file: this.file, line };
  }

  /** The first offset ≥ from where `needle` is a whole line of the chunk. */
  private find(needle: Buffer, from: number): number {
    for (let at = this.chunk.indexOf(needle, from); at >= 0; at = this.chunk.indexOf(needle, at + 1)) {
      if (at === 0 || this.chunk[at - 1] === NEWLINE) return at;
    }
    return -1;
  }
}
