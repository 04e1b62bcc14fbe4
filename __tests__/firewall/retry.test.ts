import { describe, expect, test } from '@jest/globals';
import { withRetry } from '../../src/firewall/retry.js';

describe('withRetry', () => {
  test('it retries a failing step with doubling delays and returns the first success', async () => {
    const sleeps: number[] = [];
    let calls = 0;
    const result = await withRetry(
      () => {
        calls++;
        return calls < 3 ? Promise.reject(new Error('flaky')) : Promise.resolve('done');
      },
      { retries: 5, baseDelayMs: 100, sleep: (ms) => (sleeps.push(ms), Promise.resolve()) },
    );
    expect(result).toBe('done');
    expect(sleeps).toEqual([100, 200]);
  });

  test('it rethrows the last error once the retries are spent', async () => {
    const sleeps: number[] = [];
    let calls = 0;
    const run = withRetry(() => Promise.reject(new Error(`failure ${++calls}`)), {
      retries: 2,
      baseDelayMs: 10,
      sleep: (ms) => (sleeps.push(ms), Promise.resolve()),
    });
    await expect(run).rejects.toThrow('failure 3');
    expect(sleeps).toEqual([10, 20]);
  });

  test('an error that is not retryable is thrown at once', async () => {
    let calls = 0;
    const run = withRetry(
      () => {
        calls++;
        return Promise.reject(new Error('fatal'));
      },
      { retries: 5, baseDelayMs: 10, sleep: () => Promise.resolve(), retryable: () => false },
    );
    await expect(run).rejects.toThrow('fatal');
    expect(calls).toBe(1);
  });
});
