import { MAX_LINE_BYTES } from '../model/line-limit.js';

// Dropping over-long lines whole, shared by every reader (file reader, follower, kmsg):
// everything up to the next '\n' goes, so no tail of a long line ever becomes a line.
const NEWLINE = 0x0a;
const EMPTY: Buffer = Buffer.alloc(0);

export { MAX_LINE_BYTES };

/**
 * `lines` (whole lines, each ending in '\n') without those longer than `limit` bytes, and
 * how many were dropped. Without an over-long line (the usual case) `lines` itself comes
 * back, uncopied: one forward native search per `limit / 2` bytes proves every line short
 * enough (a backward search is several times slower).
 */
export function dropOversizedLines(lines: Buffer, limit = MAX_LINE_BYTES): { lines: Buffer; dropped: number } {
  let kept: Buffer[] | undefined;
  let keptFrom = 0;
  let dropped = 0;
  const stride = limit >> 1;
  for (let start = 0; start < lines.length;) {
    // `start` begins a line. Every line starting in [start, next] ends by `next`, so when that
    // is within `limit` of `start`, none of them is longer than `limit`.
    const next = lines.indexOf(NEWLINE, Math.min(start + stride, lines.length - 1));
    if (next >= 0 && next - start <= limit) {
      start = next + 1;
      continue;
    }
    const end = lines.indexOf(NEWLINE, start);
    if (end >= 0 && end - start <= limit) {
      start = end + 1;
      continue;
    }
    kept ??= [];
    if (start > keptFrom) kept.push(lines.subarray(keptFrom, start));
    dropped += 1;
    start = end < 0 ? lines.length : end + 1;
    keptFrom = start;
  }
  if (!kept) return { lines, dropped: 0 };
  if (keptFrom < lines.length) kept.push(lines.subarray(keptFrom));
  return { lines: kept.length === 1 ? kept[0]! : Buffer.concat(kept), dropped };
}

// A byte stream cut into whole lines, over-long ones dropped: the tail of a piece waits
// for the next piece only while it is short enough to be a line; past the limit the rest
// of it is skipped up to the next '\n' without being kept.
export class LineLimiter {
  private carry: Buffer | undefined;
  private skipping = false;
  private droppedLines = 0;

  constructor(private readonly limit = MAX_LINE_BYTES) {}

  /** The complete lines that `piece` finishes (possibly none), over-long ones left out. */
  push(piece: Buffer): Buffer {
    const [first, second] = this.pushParts(piece);
    if (!first) return EMPTY;
    return second ? Buffer.concat([first, second]) : first;
  }

  /**
   * As push, but the line the carry finishes and the rest of the piece come back apart (at
   * most two buffers, none empty), so the piece itself is never copied.
   */
  pushParts(piece: Buffer): Buffer[] {
    let start = 0;
    let head: Buffer | undefined;
    if (this.skipping || this.carry) {
      const newline = piece.indexOf(NEWLINE);
      if (newline < 0) {
        if (this.skipping) return [];
        if (this.carry!.length + piece.length > this.limit) this.startSkipping();
        else this.carry = Buffer.concat([this.carry!, piece]);
        return [];
      }
      start = newline + 1;
      if (this.skipping) this.droppedLines += 1;
      else if (this.carry!.length + newline > this.limit) this.droppedLines += 1;
      else head = Buffer.concat([this.carry!, piece.subarray(0, start)]);
      this.skipping = false;
      this.carry = undefined;
    }
    const end = piece.lastIndexOf(NEWLINE) + 1;
    let body: Buffer = EMPTY;
    if (end > start) {
      const checked = dropOversizedLines(piece.subarray(start, end), this.limit);
      this.droppedLines += checked.dropped;
      body = checked.lines;
    }
    // `end` >= `start`: the '\n' that finished the carried line is in this piece.
    if (end < piece.length) {
      if (piece.length - end > this.limit) this.startSkipping();
      else this.carry = Buffer.from(piece.subarray(end));
    }
    const parts = head ? [head] : [];
    if (body.length > 0) parts.push(body);
    return parts;
  }

  /** The unterminated last line with a '\n' added, unless it is over-long; the stream has ended. */
  end(): Buffer | undefined {
    const rest = this.carry;
    this.carry = undefined;
    if (this.skipping) {
      this.skipping = false;
      this.droppedLines += 1;
      return undefined;
    }
    return rest && rest.length > 0 ? Buffer.concat([rest, Buffer.from('\n')]) : undefined;
  }

  /** Lines dropped and not yet taken. */
  get pendingDropped(): number {
    return this.droppedLines;
  }

  /** Lines dropped since the last call. */
  takeDropped(): number {
    const dropped = this.droppedLines;
    this.droppedLines = 0;
    return dropped;
  }

  private startSkipping(): void {
    this.skipping = true;
    this.carry = undefined;
  }
}
