import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { HeldConnection } from './support/netns.js';
import { createLiveRig, type LiveRig } from './support/live-rig.js';
import { firewallSnapshot } from './support/firewall-snapshot.js';
import { describeSystem } from './support/requirements.js';
import { sleep } from '../support/helpers.js';

// Setup and reload are atomic and serialised (issue 8, point 3): while several `knocktail setup`
// runs and SIGHUP reloads of a running daemon race each other, a prober samples every few ms
// that port 22 stays closed to new connections and that an established connection lives; at the
// end the firewall holds exactly the rules one setup leaves.
const BACKENDS = ['iptables', 'ipset', 'nftables'] as const;
const ROUNDS = 3;
const SETUPS_PER_ROUND = 3;
const MAX_SAMPLES = 3000;
const DOOR = {
  name: 'classic',
  sequence: ['tcp:31600'],
  open: ['tcp:22', 'tcp:2222'],
  openFor: 'until-closed',
  closeSequence: ['tcp:31601'],
};
/** The namespace's whole firewall without counters, timestamps or timeouts left. */
describeSystem(
  'setup and reload are atomic and serialised',
  ['ip', 'iptables', 'ip6tables', 'ipset', 'nft', 'rsyslogd', 'flock'],
  () => {
    describe.each(BACKENDS)('the %s backend', (backend) => {
      let live: LiveRig;
      let stopEcho: (() => Promise<void>) | undefined;
      let held: HeldConnection | undefined;

      beforeAll(async () => {
        live = await createLiveRig({ backend, doors: [DOOR] });
        stopEcho = await live.rig.listen(live.rig.server, 2222, undefined, { echo: true });
        await live.startDaemon();
      }, 60_000);

      afterAll(async () => {
        await held?.close();
        await stopEcho?.().catch(() => undefined);
        await (live as LiveRig | undefined)?.destroy(); // unset when beforeAll failed
      }, 60_000);

      test('racing setups and reloads never open 22 to new connections nor cut an established one, and leave the exact rule set', async () => {
        const { rig } = live;
        const config = ['--config', live.configPath];
        expect((await live.cli(['grant', rig.clientV4, '--door', 'classic', '--for', '10m', ...config])).exitCode).toBe(
          0,
        );
        held = await rig.hold(rig.client, rig.serverV4, 2222, 2000);
        expect(held).toBeDefined();
        expect((await live.cli(['revoke', rig.clientV4, ...config])).exitCode).toBe(0);
        expect(await rig.connect(rig.client, rig.serverV4, 22, 300)).toBe(false);
        const expected = await firewallSnapshot(live.rig, { ipset: 'members' });

        const status = { racing: true }; // cleared by the race below, which TS cannot see through the closure
        const race = (async () => {
          try {
            for (let round = 0; round < ROUNDS; round++) {
              const setups = Array.from({ length: SETUPS_PER_ROUND }, () => live.cli(['setup', ...config]));
              live.signalDaemon('SIGHUP');
              await sleep(20);
              live.signalDaemon('SIGHUP');
              for (const result of await Promise.all(setups)) expect(result.exitCode).toBe(0);
            }
            // The last reload's setup may still be running: it queues behind the lock like the others.
            await sleep(500);
          } finally {
            status.racing = false;
          }
        })();

        const opened: number[] = [];
        const cut: number[] = [];
        let samples = 0;
        while (status.racing && samples < MAX_SAMPLES) {
          const [open, alive] = await Promise.all([rig.connect(rig.client, rig.serverV4, 22, 40), held!.probe(1000)]);
          if (open) opened.push(samples);
          if (!alive) cut.push(samples);
          samples++;
          await sleep(3);
        }
        await race;
        expect({ samples: samples > 20, opened, cut }).toEqual({ samples: true, opened: [], cut: [] });
        expect(await held!.probe(1000)).toBe(true);
        expect(await firewallSnapshot(live.rig, { ipset: 'members' })).toEqual(expected);
        expect(live.daemonOutput()).not.toMatch(/reload refused/);
      }, 120_000);
    });
  },
);
