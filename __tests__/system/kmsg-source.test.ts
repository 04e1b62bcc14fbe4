import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { describeSystem } from './support/requirements.js';
import { CLASSIC_DOOR, createLiveRig, type LiveRig } from './support/live-rig.js';

// `"source": "kmsg"`: the daemon reads /dev/kmsg itself, no rsyslog in the path.
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
    expect(events).toEqual([['open', null], ['close', 'close-sequence']]);
  }, 30_000);
});
