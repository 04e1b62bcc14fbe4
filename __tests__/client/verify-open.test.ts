import { describe, expect, test } from '@jest/globals';
import { verifyOpen, type Connect, type ConnectOutcome } from '../../src/client/verify-open.js';

// --verify: one connection attempt, a retry after a pause, the time counted from the last knock.
const target = { text: '203.0.113.5', family: 4 as const };

function scripted(
  outcomes: ConnectOutcome[],
  clock: { t: number },
  costMs: number,
): { connect: Connect; calls: number[] } {
  const calls: number[] = [];
  return {
    calls,
    connect: (_target, port, timeoutMs) => {
      calls.push(port);
      clock.t += costMs;
      expect(timeoutMs).toBe(3000);
      return Promise.resolve(outcomes.shift()!);
    },
  };
}

describe('verifyOpen', () => {
  test('a first attempt that connects reports attempt 1 and the time since the last knock', async () => {
    const clock = { t: 1000 };
    const { connect, calls } = scripted([{ ok: true }], clock, 420);
    const result = await verifyOpen(target, 22, 1000, {
      attemptTimeoutMs: 3000,
      retryPauseMs: 1000,
      connect,
      sleep: () => Promise.resolve(),
      now: () => clock.t,
    });
    expect(result).toEqual({ ok: true, attempt: 1, elapsedMs: 420 });
    expect(calls).toEqual([22]);
  });

  test('a failed first attempt is retried once after the pause', async () => {
    const clock = { t: 0 };
    const pauses: number[] = [];
    const { connect } = scripted([{ ok: false, reason: 'no answer within 3 s' }, { ok: true }], clock, 3000);
    const sleep = (ms: number): Promise<void> => {
      pauses.push(ms);
      clock.t += ms;
      return Promise.resolve();
    };
    expect(
      await verifyOpen(target, 22, 0, {
        attemptTimeoutMs: 3000,
        retryPauseMs: 1000,
        connect,
        sleep,
        now: () => clock.t,
      }),
    ).toEqual({ ok: true, attempt: 2, elapsedMs: 7000 });
    expect(pauses).toEqual([1000]);
  });

  test('two failures are reported with both reasons, and no third attempt is made', async () => {
    const clock = { t: 0 };
    const { connect, calls } = scripted(
      [{ ok: false, reason: 'refused' }, { ok: false, reason: 'EHOSTUNREACH' }, { ok: true }],
      clock,
      5,
    );
    const result = await verifyOpen(target, 2222, 0, {
      attemptTimeoutMs: 3000,
      retryPauseMs: 0,
      connect,
      sleep: () => Promise.resolve(),
      now: () => clock.t,
    });
    expect(result).toEqual({ ok: false, failures: ['attempt 1: refused', 'attempt 2: EHOSTUNREACH'], elapsedMs: 10 });
    expect(calls).toHaveLength(2);
  });
});
