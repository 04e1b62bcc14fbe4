import { describe, expect, test } from '@jest/globals';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import type { TimeBasedSequence } from '../../src/model/door.js';
import { deriveSequence, windowAt } from '../../src/knock/time-based.js';
import { KnockTracker } from '../../src/knock/tracker.js';
import { describeEvents, knock, limits, makeDoor, SECOND, T0 } from './knock-fixtures.js';

const spec: TimeBasedSequence = {
  secret: 'correct horse battery staple',
  length: 4,
  period: 60 * SECOND,
  portRange: [20_000, 29_999],
  proto: 'udp',
};

describe('deriveSequence', () => {
  test('the first port is HMAC-SHA256 of the secret over the 8-byte big-endian window, mapped into the range', () => {
    const window = windowAt(spec, T0);
    const message = Buffer.alloc(8);
    message.writeBigInt64BE(BigInt(window));
    const digest = createHmac('sha256', spec.secret).update(message).digest();
    expect(deriveSequence(spec, window)[0]).toEqual({ proto: 'udp', port: 20_000 + (digest.readUInt16BE(0) % 10_000) });
  });

  test('both ends derive the same sequence, and the next window a different one', () => {
    const window = windowAt(spec, T0);
    expect(deriveSequence(spec, window)).toEqual(deriveSequence({ ...spec }, window));
    expect(deriveSequence(spec, window + 1)).not.toEqual(deriveSequence(spec, window));
    expect(deriveSequence({ ...spec, secret: 'other' }, window)).not.toEqual(deriveSequence(spec, window));
  });

  test('windows are period-sized slices of epoch time', () => {
    expect(windowAt(spec, 0)).toBe(0);
    expect(windowAt(spec, 59_999)).toBe(0);
    expect(windowAt(spec, 60_000)).toBe(1);
  });

  test('every port lies in the range and no port repeats back to back, for any secret, length and range', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 65_000 }),
        fc.integer({ min: 1, max: 500 }),
        fc.nat(10_000_000),
        (secret, length, low, width, window) => {
          const high = Math.min(65_535, low + width);
          const derived = deriveSequence({ ...spec, secret, length, portRange: [low, high] }, window);
          expect(derived).toHaveLength(length);
          derived.forEach((step, i) => {
            expect(step.port).toBeGreaterThanOrEqual(low);
            expect(step.port).toBeLessThanOrEqual(high);
            if (i > 0) expect(step.port).not.toBe(derived[i - 1]!.port);
          });
        },
      ),
    );
  });

  test('a range of one port cannot make a sequence of two', () => {
    expect(() => deriveSequence({ ...spec, portRange: [4000, 4000], length: 2 }, 1)).toThrow(/at least 2 ports/);
  });
});

describe('KnockTracker with a time-based door', () => {
  const door = makeDoor({ name: 'rolling', timeBased: spec, timeout: 20 * SECOND });
  const src = '203.0.113.9';
  const sequenceKeys = (window: number): string[] => deriveSequence(spec, window).map((step) => `udp:${step.port}`);

  function knockWindow(window: number, at: number): string[] {
    const engine = new KnockTracker({ doors: [door], limits });
    return sequenceKeys(window).flatMap((step, i) => describeEvents(engine.observe(knock(src, step, at + i), at + i)));
  }

  test("the current window's sequence opens", () => {
    expect(knockWindow(windowAt(spec, T0), T0)).toContain(`completed rolling ${src}`);
  });

  test("the previous window's sequence still opens", () => {
    expect(knockWindow(windowAt(spec, T0) - 1, T0)).toContain(`completed rolling ${src}`);
  });

  test('an older window and a future window are refused', () => {
    const current = windowAt(spec, T0);
    expect(knockWindow(current - 2, T0)).not.toContain(`completed rolling ${src}`);
    expect(knockWindow(current + 1, T0)).not.toContain(`completed rolling ${src}`);
  });

  test('a sequence started just before the window changes completes after it', () => {
    const engine = new KnockTracker({ doors: [door], limits });
    const start = (windowAt(spec, T0) + 1) * spec.period - 2 * SECOND;
    const events = sequenceKeys(windowAt(spec, start)).flatMap((step, i) =>
      describeEvents(engine.observe(knock(src, step, start + i * SECOND), start + i * SECOND)),
    );
    expect(events.at(-1)).toBe(`completed rolling ${src}`);
  });
});

describe('KnockTracker: a derived sequence is single-use', () => {
  const door = makeDoor({ name: 'rolling', timeBased: spec, timeout: 20 * SECOND });
  const owner = '198.51.100.7';
  const replayer = '203.0.113.66';
  const window = windowAt(spec, T0);
  const sequenceKeys = deriveSequence(spec, window).map((step) => `udp:${step.port}`);

  function knockAll(engine: KnockTracker, src: string, at: number): string[] {
    return sequenceKeys.flatMap((step, i) => describeEvents(engine.observe(knock(src, step, at + i), at + i)));
  }

  test('the same knocks replayed from another address 45 s later open nothing', () => {
    const engine = new KnockTracker({ doors: [door], limits });
    expect(knockAll(engine, owner, T0)).toContain(`completed rolling ${owner}`);
    expect(knockAll(engine, replayer, T0 + 45 * SECOND)).toEqual([
      ...[1, 2, 3].map((step) => `advanced open ${step}/4 rolling ${replayer}`),
      `rejected time-based-reused rolling ${replayer}`,
    ]);
  });

  test('nor from the same address, nor after a restart that kept the used keys', () => {
    const engine = new KnockTracker({ doors: [door], limits });
    knockAll(engine, owner, T0);
    expect(knockAll(engine, owner, T0 + SECOND)).toContain(`rejected time-based-reused rolling ${owner}`);
    const restarted = new KnockTracker({
      doors: [{ ...door, name: 'renamed' }],
      limits,
      usedOneTime: new Set(engine.usedOneTimeKeys(T0 + 2 * SECOND)),
    });
    expect(knockAll(restarted, replayer, T0 + 3 * SECOND)).toContain(`rejected time-based-reused renamed ${replayer}`);
  });

  test("the next window's sequence opens as usual", () => {
    const engine = new KnockTracker({ doors: [door], limits });
    knockAll(engine, owner, T0);
    const next = (window + 1) * spec.period;
    const events = deriveSequence(spec, window + 1).flatMap((step, i) =>
      describeEvents(engine.observe(knock(owner, `udp:${step.port}`, next + i), next + i)),
    );
    expect(events).toContain(`completed rolling ${owner}`);
  });

  test('used keys are kept while an attempt could still complete them, and dropped after', () => {
    const engine = new KnockTracker({ doors: [door], limits });
    knockAll(engine, owner, T0);
    const lastUseful = (window + 2) * spec.period + door.timeout;
    expect(engine.usedOneTimeKeys(lastUseful)).toHaveLength(1);
    expect(engine.usedOneTimeKeys(lastUseful + 1)).toEqual([]);
  });
});
