import { describe, expect, test } from '@jest/globals';
import { ManualClock } from '../src/model/clock.js';

describe('ManualClock', () => {
  test('fires due timers in time order, each seeing its own time', () => {
    const clock = new ManualClock(1000);
    const seen: [string, number][] = [];
    clock.setTimer(3000, () => seen.push(['b', clock.now()]));
    clock.setTimer(2000, () => seen.push(['a', clock.now()]));
    clock.setTimer(9000, () => seen.push(['late', clock.now()]));
    clock.advanceTo(5000);
    expect(seen).toEqual([
      ['a', 2000],
      ['b', 3000],
    ]);
    expect(clock.now()).toBe(5000);
    expect(clock.pendingTimers()).toBe(1);
  });

  test('a timer set by a firing timer fires in the same advance when due', () => {
    const clock = new ManualClock(0);
    const seen: number[] = [];
    clock.setTimer(10, () => clock.setTimer(20, () => seen.push(clock.now())));
    clock.advanceTo(30);
    expect(seen).toEqual([20]);
  });

  test('never moves backwards and cleared timers never fire', () => {
    const clock = new ManualClock(100);
    const handle = clock.setTimer(150, () => {
      throw new Error('must not fire');
    });
    clock.clearTimer(handle);
    clock.advanceTo(50);
    expect(clock.now()).toBe(100);
    clock.advanceTo(200);
  });
});
