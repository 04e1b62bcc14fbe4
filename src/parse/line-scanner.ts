// The replay fast path: most lines of a kernel log are not ours, so look for the prefix
// bytes across the whole chunk with native Buffer.indexOf and decode only the lines around
// each hit. Lines are counted apart from that, again with native indexOf (bench/parse.ts
// compares this with the alternatives).
const NEWLINE = 0x0a;

/**
 * Hand every line of `chunk` that contains `prefix` (decoded as utf8, without its newline)
 * to `onCandidate`, in order; return the number of lines. `chunk` holds whole lines, each
 * ending in "\n" (the last one too). An empty prefix hands over nothing.
 */
export function scanLines(chunk: Buffer, prefix: Buffer, onCandidate: (line: string) => void): number {
  return scanLineBounds(chunk, prefix, (start, end) => onCandidate(chunk.toString('utf8', start, end)));
}

/** As scanLines, but hands over where each candidate line starts and ends in `chunk` (its newline excluded), decoding nothing. */
export function scanLineBounds(
  chunk: Buffer,
  prefix: Buffer,
  onCandidate: (start: number, end: number) => void,
): number {
  // No line holds a "\n", so a prefix with one is in none of them.
  if (prefix.length > 0 && !prefix.includes(NEWLINE)) handOverCandidates(chunk, prefix, onCandidate);
  return countLines(chunk);
}

function handOverCandidates(chunk: Buffer, prefix: Buffer, onCandidate: (start: number, end: number) => void): void {
  for (let hit = chunk.indexOf(prefix); hit >= 0;) {
    const start = hit === 0 ? 0 : chunk.lastIndexOf(NEWLINE, hit - 1) + 1;
    const newline = chunk.indexOf(NEWLINE, hit + prefix.length);
    const end = newline < 0 ? chunk.length : newline;
    onCandidate(start, end);
    if (end + 1 >= chunk.length) return;
    hit = chunk.indexOf(prefix, end + 1);
  }
}

/** Number of "\n" in `chunk`. */
export function countLines(chunk: Buffer): number {
  let count = 0;
  for (let at = chunk.indexOf(NEWLINE); at >= 0; at = chunk.indexOf(NEWLINE, at + 1)) count++;
  return count;
}
