// Where the complete lines of a byte run end: the parser and the checkpoint both need
// chunks that stop right after a '\n', never inside a line.
const NEWLINE = 0x0a;

/** Index just past the last '\n' in `bytes[0, length)`, or 0 when there is none. */
export function endOfCompleteLines(bytes: Uint8Array, length = bytes.length): number {
  const last = bytes.lastIndexOf(NEWLINE, length - 1);
  return last < 0 ? 0 : last + 1;
}

/** `bytes` with a '\n' appended, for a final line that will never get its own. */
export function terminateLine(bytes: Buffer): Buffer {
  if (bytes.length > 0 && bytes[bytes.length - 1] === NEWLINE) return bytes;
  return Buffer.concat([bytes, Buffer.from('\n')]);
}
