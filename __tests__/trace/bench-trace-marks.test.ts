import { describe, expect, test } from '@jest/globals';
import { stageTimesAfter, stepDurations, type Mark } from '../../bench/trace-marks.js';

// The benches' breakdown from the daemon's stage trace (bench/live.ts, bench/spa.ts).
const mark = (stage: string, ms: number): Mark => ({ stage, at: BigInt(ms * 1e6) });

describe("a trial's stage times from the trace", () => {
  const marks = [mark('read', 5), mark('read', 12), mark('fw-send', 13), mark('read', 30), mark('fw-send', 31)];

  test('each stage is its first mark after the send, in ms after it; a stage with no mark in the window is left out', () => {
    expect(stageTimesAfter(['read', 'fw-send', 'fw-ack'], marks, 10_000_000n, 20_000_000n)).toEqual(
      new Map([
        ['read', 2],
        ['fw-send', 3],
      ]),
    );
  });

  test('the window excludes the send itself and includes its end', () => {
    expect(stageTimesAfter(['read'], marks, 5_000_000n, 12_000_000n)).toEqual(new Map([['read', 7]]));
    expect(stageTimesAfter(['read'], marks, 5_000_000n, 11_999_999n)).toEqual(new Map());
  });

  test("a step's durations come from the trials that reached both of its stages", () => {
    const trials = [
      new Map([
        ['read', 2],
        ['fw-send', 3.5],
      ]),
      new Map([['read', 1]]),
      new Map([
        ['read', 4],
        ['fw-send', 4],
      ]),
    ];
    expect(stepDurations(trials, { label: 'read → request', from: 'read', to: 'fw-send' })).toEqual([1.5, 0]);
  });
});
