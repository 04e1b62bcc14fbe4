import { describe, expect, test } from '@jest/globals';
import { withRetry } from '../../src/firewall/retry.js';

describe('withRetry', () => {
  test('it retries a failing step with doubling delays and returns the first success', async () => {
    const sleeps: number[] = [];
    let calls = 0;
    const result = await withRetry(
      async () => {
        calls++;
        if (calls < 3) throw new Error('flaky');
        return 'done';
      },
      { retries: 5, baseDelayMs: 100, sleep: async (ms) => void sleeps.push(ms) },
    );
    expect(result).toBe('done');
    expect(sleeps).toEqual([100, 200]);
  });

  test('it rethrows the last error once the retries are spent', async () => {
    const sleeps: number[] = [];
    let calls = 0;
    const run = withRetry(
      async () => {
        throw new Error(`failure ${++calls}`);
      },
      { retries: 2, baseDelayMs: 10, sleep: async (ms) => void sleeps.push(ms) },
    );
    await expect(run).rejects.toThrow('failure 3');
    expect(sleeps).toEqual([10, 20]);
  });

  test('an error that is not retryable is thrown at once', async () => {
    let calls = 0;
    const run = withRetry(
      async () => {
        calls++;
        throw new Error('fatal');
      },
      { retries: 5, baseDelayMs: 10, sleep: async () => undefined, retryable: () => false },
    );
    await expect(run).rejects.toThrow('fatal');
    expect(calls).toBe(1);
  });
});
