import { fstatSync, promises as fs, readSync } from 'node:fs';
import { endOfCompleteLines, terminateLine } from './line-boundary.js';
import { dropOversizedLines, MAX_LINE_BYTES } from './line-limit.js';

export type ReadOutcome =
  | { readonly kind: 'lines'; readonly chunk: Buffer }
  /** Nothing complete to hand out right now (at most a partial last line). */
  | { readonly kind: 'caught-up' }
  /** The file shrank below the offset, or the bytes before the offset changed: it was rewritten. */
  | { readonly kind: 'truncated'; readonly lostOffset: number }
  /** Inside an over-long line whose end is not read yet: read again, right away. */
  | { readonly kind: 'skipping' };

// How many bytes before the offset are re-read and compared on every read. Log lines carry
// timestamps and counters, so a rewritten file (copytruncate, inode reuse) differs there.
const ANCHOR_BYTES = 32;
const END_SEARCH_BYTES = 64 * 1024;
// How far one read() looks for the end of an over-long line before it hands control back.
const SKIP_BYTES_PER_READ = 1 << 20;
const SKIP_BLOCK = 64 * 1024;
// A tail that grew by a few lines is looked at and read on the main thread: the bytes were just
// written and sit in the page cache, so fstat(2) and pread(2) take microseconds, while each
// thread-pool round trip cost about 0.2 ms on the knock → open path (bench/live.ts, "awake →
// chunk read"). Larger reads (catching up after a pause) stay on the thread pool.
const SYNC_READ_BYTES = 64 * 1024;

// One open log file read by byte offset; the offset only ever stops just after a '\n'.
export class LogFile {
  readonly path: string;
  readonly device: number;
  readonly inode: number;
  private readonly handle: fs.FileHandle;
  private position: number;
  private anchorBytes: Buffer;
  private lastSize: number;
  /** Inside an over-long line starting at `position`: where the search for its '\n' goes on. */
  private skipFrom: number | undefined;
  private droppedLines = 0;

  constructor(
    handle: fs.FileHandle,
    path: string,
    identity: { device: number; inode: number; size: number },
    offset: number,
    anchor: Buffer,
  ) {
    this.handle = handle;
    this.path = path;
    this.device = identity.device;
    this.inode = identity.inode;
    this.lastSize = identity.size;
    this.position = offset;
    this.anchorBytes = anchor;
  }

  /**
   * Open `path` at the start, at the end (after the last complete line, so a line being
   * written is read whole), or at a checkpointed offset whose anchor the first read checks.
   */
  static async open(path: string, at: 'start' | 'end' | { offset: number; anchor: Buffer }): Promise<LogFile> {
    const handle = await fs.open(path, 'r');
    try {
      const stat = await handle.stat();
      const identity = { device: stat.dev, inode: stat.ino, size: stat.size };
      if (at === 'start') return new LogFile(handle, path, identity, 0, Buffer.alloc(0));
      // An anchor cannot reach before the start of the file (a hand-edited checkpoint might).
      if (at !== 'end')
        return new LogFile(
          handle,
          path,
          identity,
          at.offset,
          at.anchor.subarray(Math.max(0, at.anchor.length - at.offset)),
        );
      const from = Math.max(0, stat.size - END_SEARCH_BYTES);
      const tail = Buffer.allocUnsafe(stat.size - from);
      const { bytesRead } = await handle.read(tail, 0, tail.length, from);
      const end = endOfCompleteLines(tail, bytesRead);
      const offset = end === 0 && from === 0 ? 0 : from + (end === 0 ? bytesRead : end);
      const anchor = Buffer.from(tail.subarray(Math.max(0, offset - from - ANCHOR_BYTES), offset - from));
      return new LogFile(handle, path, identity, offset, anchor);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  get offset(): number {
    return this.position;
  }

  get anchor(): Buffer {
    return this.anchorBytes;
  }

  /** Bytes after the offset as of the last look. */
  get lagBytes(): number {
    return Math.max(0, this.lastSize - this.position);
  }

  /**
   * The next run of complete lines, at most about `max` bytes. A line longer than
   * MAX_LINE_BYTES is dropped whole (up to its '\n', counted in takeDropped()); the offset
   * moves past it only once its end is found, so a checkpoint never lands inside it.
   */
  async read(max: number): Promise<ReadOutcome> {
    const size = fstatSync(this.handle.fd).size;
    this.lastSize = size;
    if (size < this.position || (this.skipFrom !== undefined && size < this.skipFrom)) return this.restart();
    if (this.skipFrom !== undefined) return this.skipLongLine(size);
    if (size === this.position) return { kind: 'caught-up' };
    const anchorLength = this.anchorBytes.length;
    // Always enough to hold a whole line of the longest allowed length.
    const want = Math.min(size - this.position, Math.max(max, MAX_LINE_BYTES + 1));
    const bytes = Buffer.allocUnsafe(anchorLength + want);
    const from = this.position - anchorLength;
    const bytesRead =
      bytes.length <= SYNC_READ_BYTES
        ? readSync(this.handle.fd, bytes, 0, bytes.length, from)
        : (await this.handle.read(bytes, 0, bytes.length, from)).bytesRead;
    if (bytesRead < anchorLength || !bytes.subarray(0, anchorLength).equals(this.anchorBytes)) return this.restart();
    const data = bytes.subarray(anchorLength, bytesRead);
    const end = endOfCompleteLines(data);
    if (end === 0) {
      // A line still being written, or one already too long to be a line.
      if (data.length <= MAX_LINE_BYTES) return { kind: 'caught-up' };
      this.skipFrom = this.position + data.length;
      return this.skipLongLine(size);
    }
    const checked = dropOversizedLines(data.subarray(0, end));
    this.droppedLines += checked.dropped;
    this.advance(data, end);
    return checked.lines.length > 0 ? { kind: 'lines', chunk: checked.lines } : { kind: 'skipping' };
  }

  /** The unterminated last line, '\n' appended, for when this file will not be read again (none when over-long). */
  async readRest(): Promise<Buffer | undefined> {
    const size = (await this.handle.stat()).size;
    if (size <= this.position) return undefined;
    if (this.skipFrom !== undefined || size - this.position > MAX_LINE_BYTES) {
      this.skipFrom = undefined;
      this.droppedLines += 1;
      await this.moveTo(size);
      return undefined;
    }
    const bytes = Buffer.allocUnsafe(size - this.position);
    const { bytesRead } = await this.handle.read(bytes, 0, bytes.length, this.position);
    if (bytesRead === 0) return undefined;
    const data = bytes.subarray(0, bytesRead);
    this.advance(data, bytesRead);
    return terminateLine(data);
  }

  /** Over-long lines dropped since the last call. */
  takeDropped(): number {
    const dropped = this.droppedLines;
    this.droppedLines = 0;
    return dropped;
  }

  // Look for the '\n' that ends the over-long line, a bounded amount per call.
  private async skipLongLine(size: number): Promise<ReadOutcome> {
    const block = Buffer.allocUnsafe(SKIP_BLOCK);
    let from = this.skipFrom!;
    const stop = Math.min(size, from + SKIP_BYTES_PER_READ);
    while (from < stop) {
      const { bytesRead } = await this.handle.read(block, 0, Math.min(SKIP_BLOCK, stop - from), from);
      if (bytesRead === 0) break;
      const newline = block.subarray(0, bytesRead).indexOf(0x0a);
      if (newline >= 0) {
        this.skipFrom = undefined;
        this.droppedLines += 1;
        await this.moveTo(from + newline + 1);
        return { kind: 'skipping' };
      }
      from += bytesRead;
    }
    this.skipFrom = from;
    return from < size ? { kind: 'skipping' } : { kind: 'caught-up' };
  }

  // Jump the offset forward (past a dropped line) with a fresh anchor read at the new place.
  private async moveTo(offset: number): Promise<void> {
    const keep = Math.min(ANCHOR_BYTES, offset);
    const anchor = Buffer.alloc(keep);
    const { bytesRead } = await this.handle.read(anchor, 0, keep, offset - keep);
    this.position = offset;
    this.anchorBytes = anchor.subarray(0, bytesRead);
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }

  private advance(data: Buffer, end: number): void {
    this.position += end;
    const keep = Math.min(ANCHOR_BYTES, end);
    const fresh = data.subarray(end - keep, end);
    this.anchorBytes =
      keep === ANCHOR_BYTES ? Buffer.from(fresh) : Buffer.concat([this.anchorBytes, fresh]).subarray(-ANCHOR_BYTES);
  }

  private restart(): ReadOutcome {
    const lostOffset = this.position;
    this.position = 0;
    this.anchorBytes = Buffer.alloc(0);
    this.skipFrom = undefined;
    return { kind: 'truncated', lostOffset };
  }
}
