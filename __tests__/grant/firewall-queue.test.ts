import { describe, expect, test } from '@jest/globals';
import { ManualClock } from '../../src/model/clock.js';
import { FirewallQueue } from '../../src/grant/firewall-queue.js';
import type { Grant } from '../../src/model/grant.js';
import { FakeBackend } from '../support/fakes.js';

const grant = (src: string): Grant => ({
  door: 'ssh',
  src,
  family: 4,
  ports: [{ proto: 'tcp', port: 22 }],
  openedAt: 0,
  until: null,
});

function setup() {
  const clock = new ManualClock(0);
  const timeline: string[] = [];
  const backend = new FakeBackend(timeline);
  const failures: string[] = [];
  const queue = new FirewallQueue({
    backend,
    clock,
    closeRetryDelay: (attempt) => attempt * 1000,
    onFailure: (g, action, _error, attempt) => {
      failures.push(`${action} ${g?.src ?? ''} #${attempt}`);
      return Promise.resolve();
    },
  });
  return { clock, timeline, backend, failures, queue };
}

describe('FirewallQueue', () => {
  test('changes run one at a time in the order asked, each after what it waits for', async () => {
    const { queue, timeline } = setup();
    let release!: () => void;
    const intent = new Promise<void>((resolve) => (release = resolve));
    const first = queue.open(grant('203.0.113.1'), intent);
    const second = queue.close(grant('203.0.113.2'));
    await Promise.resolve();
    expect(timeline).toEqual([]);
    release();
    await Promise.all([first, second]);
    expect(timeline).toEqual(['firewall open ssh 203.0.113.1', 'firewall close ssh 203.0.113.2']);
  });

  test('a failed open is reported once and does not block what follows', async () => {
    const { queue, backend, failures, timeline } = setup();
    backend.failures.open = 1;
    await queue.open(grant('203.0.113.1'));
    await queue.open(grant('203.0.113.2'));
    expect(failures).toEqual(['open 203.0.113.1 #1']);
    expect(timeline.at(-1)).toBe('firewall open ssh 203.0.113.2');
  });

  test('a failed close is pending and retried on the clock with growing delays until it succeeds', async () => {
    const { queue, backend, failures, clock } = setup();
    backend.failures.close = 2;
    await queue.close(grant('203.0.113.1'));
    expect(queue.pending()).toMatchObject([{ src: '203.0.113.1', attempts: 1, lastError: 'close failed' }]);
    expect(queue.isClosing(grant('203.0.113.1'))).toBe(true);
    clock.advanceTo(999);
    await queue.drain();
    expect(failures).toEqual(['close 203.0.113.1 #1']);
    clock.advanceTo(1000);
    await queue.drain();
    expect(queue.pending()).toMatchObject([{ attempts: 2 }]);
    clock.advanceTo(3000);
    await queue.drain();
    expect(queue.pending()).toEqual([]);
    expect(failures).toEqual(['close 203.0.113.1 #1', 'close 203.0.113.1 #2']);
  });

  test('opening the grant again drops its pending close; stop cancels every retry', async () => {
    const { queue, backend, clock } = setup();
    backend.failures.close = 5;
    await queue.close(grant('203.0.113.1'));
    await queue.open(grant('203.0.113.1'));
    expect(queue.pending()).toEqual([]);
    await queue.close(grant('203.0.113.2'));
    queue.stop();
    expect(clock.pendingTimers()).toBe(0);
  });
});
