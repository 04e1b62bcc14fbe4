import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { isoSecond, isoTime } from '../src/model/iso-time.js';

describe('isoTime', () => {
  test('writes what Date#toISOString writes, for any whole-ms time from 1970 to past 9999, in any order', () => {
    const time = fc.oneof(
      fc.integer({ min: 0, max: 260_000_000_000_000 }),
      fc.integer({ min: 1_795_521_600_000, max: 1_795_521_600_000 + 3 * 86_400_000 }),
    );
    fc.assert(
      fc.property(fc.array(time, { minLength: 1, maxLength: 20 }), (times) => {
        for (const t of times) {
          expect(isoTime(t)).toBe(new Date(t).toISOString());
          expect(isoSecond(t)).toBe(new Date(t).toISOString().slice(0, 19));
        }
      }),
    );
  });

  test('edges: the epoch, a day boundary, the last ms before 10000, before 1970, a fraction, and a time Date cannot write', () => {
    for (const t of [
      0, -0, 999, 1000, 86_399_999, 86_400_000, 253_402_300_799_999, 253_402_300_800_000, -1, -86_400_001, 1.5, -1.5,
      8.64e15,
    ]) {
      expect(isoTime(t)).toBe(new Date(t).toISOString());
      expect(isoSecond(t)).toBe(new Date(t).toISOString().slice(0, 19));
    }
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
    expect(() => isoTime(8.64e15 + 1)).toThrow(RangeError);
  });
});
