import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { planDoor } from '../../src/knock/door-plan.js';
import { LiveWindowKeys } from '../../src/knock/live-window-keys.js';
import { deriveSequence, MAX_LIVE_WINDOWS, windowAt } from '../../src/knock/time-based.js';
import { formatStep } from '../../src/model/door.js';
import { makeDoor } from './knock-fixtures.js';

// Keys of a window: three ports that depend on the window only.
const keysOf = (window: number): string[] => [0, 1, 2].map((i) => `tcp:${((window * 7 + i * 13) % 50) + 1}`);

describe('LiveWindowKeys', () => {
  test('answers exactly as a scan of every window in the range would, as the range moves in any direction', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 1, max: 50 })),
          { minLength: 1, maxLength: 40 },
        ),
        (queries) => {
          const live = new LiveWindowKeys(keysOf);
          for (const [from, span, port] of queries) {
            const key = `tcp:${port}`;
            let expected = false;
            for (let window = from; window <= from + span; window++) expected ||= keysOf(window).includes(key);
            expect(live.has(key, from, from + span)).toBe(expected);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  test('a packet costs no derivation while the range stays, one per window when it moves on, and a bounded number however wide the range', () => {
    let derived = 0;
    const live = new LiveWindowKeys((window) => {
      derived += 1;
      return keysOf(window);
    });
    live.has('tcp:1', 100, 103);
    expect(derived).toBe(4);
    for (let i = 0; i < 1000; i++) live.has(`tcp:${i % 50}`, 100, 103);
    expect(derived).toBe(4);
    live.has('tcp:1', 101, 104);
    expect(derived).toBe(5);
    derived = 0;
    live.has('tcp:1', 0, 2_592_000);
    expect(derived).toBeLessThanOrEqual(4 * MAX_LIVE_WINDOWS);
  });
});

describe('a time-based door plan', () => {
  test('a door that skipped validation (period 1s, timeout 30d) still answers from a bounded set of windows: the current one counts, one from an hour ago not', () => {
    const timeBased = {
      secret: 's',
      length: 3,
      period: 1000,
      portRange: [20000, 29999] as const,
      proto: 'tcp' as const,
    };
    const plan = planDoor(makeDoor({ name: 'tb', timeout: 30 * 86_400_000, timeBased }));
    const at = Date.parse('2026-11-24T12:00:00Z');
    const current = deriveSequence(timeBased, windowAt(timeBased, at)).map(formatStep);
    const old = deriveSequence(timeBased, windowAt(timeBased, at - 3_600_000))
      .map(formatStep)
      .filter((key) => !current.includes(key));
    for (let i = 0; i < 100; i++) expect(plan.knocks(current[0]!, at)).toBe(true);
    expect(old.some((key) => plan.knocks(key, at))).toBe(false);
  });
});
