import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { describeSystem } from './support/requirements.js';
import { CLASSIC_DOOR, createLiveRig, type LiveRig } from './support/live-rig.js';

// `"source": "kmsg"`: the daemon reads /dev/kmsg itself, no rsyslog in the path.

/** PIDs of `cat /dev/kmsg` processes whose parent is `parent` (the daemon's wake-up helper). */
function kmsgHelpers(parent: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
        const ppid = Number(
          readFileSync(`/proc/${pid}/stat`, 'latin1')
            .replace(/^.*\) /s, '')
            .split(' ')[1],
        );
        return cmdline === 'cat\0/dev/kmsg\0' && ppid === parent;
      } catch {
        return false;
      }
    })
    .map(Number);
}
describeSystem('live daemon reading /dev/kmsg directly (ipset)', ['ip', 'iptables', 'ipset', 'rsyslogd'], () => {
  let live: LiveRig;

  beforeAll(async () => {
    live = await createLiveRig({
      backend: 'ipset',
      doors: [CLASSIC_DOOR],
      extra: { source: 'kmsg' },
    });
    await live.startDaemon();
  }, 60_000);

  afterAll(async () => {
    await (live as LiveRig | undefined)?.destroy(); // unset when beforeAll failed
  }, 60_000);

  test('a knock read from /dev/kmsg opens 22 and the close knock closes it', async () => {
    const { rig } = live;
    expect(await rig.connect(rig.client, rig.serverV4, 22, 500)).toBe(false);
    expect(await live.knockOpenAndClose(rig.serverV4)).toEqual({ opened: true, closed: true });
    const events = (await live.auditRecords()).map((r) => [r['event'], r['reason'] ?? null]);
    expect(events).toEqual([
      ['open', null],
      ['close', 'close-sequence'],
    ]);
  }, 30_000);

  test('the daemon runs one kmsg wake-up helper and SIGTERM ends both promptly', async () => {
    const pid = live.daemonPid();
    expect(pid).toBeDefined();
    expect(kmsgHelpers(pid!)).toHaveLength(1);
    const helper = kmsgHelpers(pid!)[0]!;
    const started = Date.now();
    await live.stopDaemon('SIGTERM');
    expect(Date.now() - started).toBeLessThan(5000);
    // Killed by the daemon on stop (and reaped by it, or by init once the daemon is gone).
    const gone = (): boolean => {
      try {
        return readFileSync(`/proc/${helper}/cmdline`, 'latin1') !== 'cat\0/dev/kmsg\0';
      } catch {
        return true;
      }
    };
    for (let wait = 0; wait < 40 && !gone(); wait += 1) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(gone()).toBe(true);
  }, 30_000);
});
