import { MAX_LINE_BYTES } from '../../../src/model/line-limit.js';

// The attack of issue 10: a `logger` message long enough that a reader which cuts long
// lines turns its tail into a new line, and that tail is a perfect kernel LOG line.
export const FORGED_KNOCK =
  '2026-11-24T15:50:23.000000+00:00 vm kernel: knocktail: IN=eth0 OUT= SRC=203.0.113.66 DST=203.0.113.1 LEN=60 TOS=0x00 PREC=0x00 TTL=57 ID=1 DF PROTO=TCP SPT=40000 DPT=31600 WINDOW=64240 RES=0x00 SYN URGP=0 ';

export const GENUINE_KNOCK = FORGED_KNOCK.replace('203.0.113.66', '203.0.113.9');

/** A logger line of `forgedAt` bytes (at least MAX_LINE_BYTES) followed by the forged knock, with its '\n'. */
export function loggerLineWithForgedKnock(forgedAt = 2 * MAX_LINE_BYTES): string {
  const head = '2026-11-24T15:50:23.000000+00:00 vm logger: ';
  return `${head}${'A'.repeat(Math.max(MAX_LINE_BYTES, forgedAt) - head.length)}${FORGED_KNOCK}\n`;
}
