import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { createLiveRig, type LiveRig } from './support/live-rig.js';
import { describeSystem } from './support/requirements.js';

// Issue 8, point 4, through the real CLI with no daemon at all: two offline grants of one source
// leave one rule, and the kernel (xt_time) stops admitting the source when the grant ends.
const DOOR = {
  name: 'classic',
  sequence: ['tcp:31600'],
  open: ['tcp:22'],
  openFor: '1h',
  closeSequence: ['tcp:31601'],
};

describeSystem(
  'offline iptables grants expire in the kernel',
  ['ip', 'iptables', 'ip6tables', 'rsyslogd', 'flock'],
  () => {
    let live: LiveRig;

    beforeAll(async () => {
      live = await createLiveRig({ backend: 'iptables', doors: [DOOR] });
    }, 60_000);

    afterAll(async () => {
      await (live as LiveRig | undefined)?.destroy(); // unset when beforeAll failed
    }, 60_000);

    test('a second offline grant replaces the first rule, and the grant stops admitting on time with no daemon running', async () => {
      const { rig } = live;
      const config = ['--config', live.configPath];
      expect((await live.cli(['grant', rig.clientV4, '--door', 'classic', '--for', '2s', ...config])).exitCode).toBe(0);
      const second = await live.cli(['grant', rig.clientV4, '--door', 'classic', '--for', '3s', ...config]);
      expect(second.stdout).toContain('no daemon running');
      // The refresh moved the expiry: a new rule replaced the old one in the same COMMIT.
      const { stdout } = await rig.exec(rig.server, ['iptables', '-w', '-S', 'KNOCKTAIL']);
      const rules = stdout.split('\n').filter((line) => line.includes(rig.clientV4));
      expect(rules).toHaveLength(1);
      expect(rules[0]).toMatch(/-m time --datestop \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d /);
      expect(await rig.connect(rig.client, rig.serverV4, 22, 2000)).toBe(true);
      // Bounded wait: the grant ends 3 s after it was given.
      expect(await live.waitClosed(rig.serverV4, 22, 6000)).toBe(true);
      // Nothing deleted the rule: only the kernel stopped matching it.
      expect((await rig.exec(rig.server, ['iptables', '-w', '-S', 'KNOCKTAIL'])).stdout).toContain(rig.clientV4);
    }, 60_000);
  },
);
