import { createHmac } from 'node:crypto';
import { KnocktailError } from '../model/errors.js';
import type { Step, TimeBasedSequence } from '../model/door.js';

// Time-based sequences: daemon and knock client derive the same ports from a shared secret and
// the current time window, so a recorded knock stops working once its window (and the next) pass.

/** The window index an instant falls into. */
export function windowAt(spec: Pick<TimeBasedSequence, 'period'>, epochMs: number): number {
  return Math.floor(epochMs / spec.period);
}

// HMAC-SHA256(secret, window as 8-byte big-endian) gives 16 two-byte values; longer sequences
// chain further blocks as HMAC(secret, previous block).
function* twoByteValues(secret: string, window: number): Generator<number> {
  const message = Buffer.alloc(8);
  message.writeBigInt64BE(BigInt(window));
  let block = createHmac('sha256', secret).update(message).digest();
  for (;;) {
    for (let i = 0; i + 1 < block.length; i += 2) yield block.readUInt16BE(i);
    block = createHmac('sha256', secret).update(block).digest();
  }
}

/** The knocks of `spec` for one window: each port in portRange, never the same port twice in a row. */
export function deriveSequence(spec: TimeBasedSequence, window: number): Step[] {
  const [low, high] = spec.portRange;
  const size = high - low + 1;
  if (!Number.isInteger(low) || !Number.isInteger(high) || size < 1 || (size < 2 && spec.length > 1)) {
    throw new KnocktailError(
      'CONFIG_INVALID',
      `Expected a time-based portRange with at least 2 ports, got [${low}, ${high}]`,
    );
  }
  const steps: Step[] = [];
  const values = twoByteValues(spec.secret, window);
  let previous: number | undefined;
  while (steps.length < spec.length) {
    const value = values.next().value as number;
    let port = low + (value % size);
    // A repeated port would read as a retransmit or as one knock; move to the neighbour instead.
    if (port === previous) port = low + ((value + 1) % size);
    steps.push({ proto: spec.proto, port });
    previous = port;
  }
  return steps;
}

/** Shortest period a time-based door may have: shorter ones only multiply the windows kept live. */
export const MIN_PERIOD_MS = 10_000;
/** Most windows whose derived knocks may be live at one moment (bounds memory and per-packet work). */
export const MAX_LIVE_WINDOWS = 8;

/**
 * Windows an attempt may be following at one moment: one that started up to `timeout` ago
 * took that moment's current or previous window, so ceil(timeout / period) + 2 of them.
 */
export function liveWindows(timeout: number, period: number): number {
  return Math.ceil(timeout / period) + 2;
}
