// /dev/kmsg records: `PRI,SEQ,USEC,FLAGS[,...];message\n` followed by dictionary lines that
// start with a space (` SUBSYSTEM=net\n`). The pipeline wants the first line only.

/** The sequence number of a record line, or undefined when the line is not a record. */
export function recordSequence(line: Buffer): number | undefined {
  const firstComma = line.indexOf(0x2c);
  if (firstComma < 0) return undefined;
  const secondComma = line.indexOf(0x2c, firstComma + 1);
  if (secondComma < 0) return undefined;
  const digits = line.toString('latin1', firstComma + 1, secondComma);
  return /^\d+$/.test(digits) ? Number(digits) : undefined;
}

/**
 * The record lines in `bytes` (each with its '\n') whose sequence number is above `after`,
 * without dictionary lines; `rest` is an unterminated tail to prepend to the next read.
 */
export function selectRecords(
  bytes: Buffer,
  after: number,
): { lines: Buffer[]; lastSequence: number; rest: Buffer | undefined } {
  const lines: Buffer[] = [];
  let lastSequence = after;
  let start = 0;
  for (let end = bytes.indexOf(0x0a); end >= 0; end = bytes.indexOf(0x0a, start)) {
    const line = bytes.subarray(start, end + 1);
    start = end + 1;
    if (line[0] === 0x20) continue;
    const sequence = recordSequence(line);
    if (sequence === undefined || sequence <= after) continue;
    lastSequence = Math.max(lastSequence, sequence);
    lines.push(line);
  }
  return { lines, lastSequence, rest: start < bytes.length ? Buffer.from(bytes.subarray(start)) : undefined };
}
