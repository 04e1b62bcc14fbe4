import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { acquireFirewallLock, firewallLockPath, withFirewallLock } from '../../src/firewall/firewall-lock.js';

describe('the firewall lock', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'knocktail-lock-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a second taker waits until the first releases, then gets the lock', async () => {
    const path = firewallLockPath(join(dir, 'state'));
    const first = await acquireFirewallLock(path, { holder: 'knocktail setup' });
    const order: string[] = [];
    const second = acquireFirewallLock(path, { holder: 'knocktail reload', timeoutMs: 5000 }).then((lock) => {
      order.push('second held');
      return lock;
    });
    await new Promise((resolve) => setTimeout(resolve, 150));
    order.push('first releases');
    await first.release();
    await (await second).release();
    expect(order).toEqual(['first releases', 'second held']);
  });

  test('a taker that times out gets FIREWALL_LOCKED naming the holder', async () => {
    const path = firewallLockPath(dir);
    const first = await acquireFirewallLock(path, {
      holder: 'knocktail setup',
      now: () => Date.parse('2026-12-01T09:00:00Z'),
    });
    await expect(acquireFirewallLock(path, { holder: 'knocktail teardown', timeoutMs: 200 })).rejects.toMatchObject({
      code: 'FIREWALL_LOCKED',
      message: expect.stringContaining(`held by knocktail setup (pid ${process.pid}) since 2026-12-01T09:00:00.000Z`),
    });
    await first.release();
  });

  test('withFirewallLock releases the lock when the work throws', async () => {
    await expect(withFirewallLock(dir, { holder: 'a' }, async () => Promise.reject(new Error('boom')))).rejects.toThrow(
      'boom',
    );
    const again = await acquireFirewallLock(firewallLockPath(dir), { holder: 'b', timeoutMs: 500 });
    expect(await readFile(firewallLockPath(dir), 'utf8')).toContain('b (pid');
    await again.release();
  });
});
