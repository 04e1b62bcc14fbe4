import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { createLiveRig, type LiveRig } from './support/live-rig.js';
import { describeSystem } from './support/requirements.js';

// Issue 22 item 5 with the real conntrack tool: an established connection survives a plain
// revoke (the guard only refuses new ones), and `revoke --end-sessions` ends it: the
// source's conntrack entries go, so the connection's next packet is a NEW one, refused.
const DOOR = { name: 'app', sequence: ['tcp:31700'], open: ['tcp:2222'], openFor: '1h', closeSequence: ['tcp:31701'] };
// A door that ends its sessions on every close, expiry included.
const CUTTING = { name: 'cut', sequence: ['tcp:31710'], open: ['tcp:2223'], openFor: '1h', endSessions: true };

describeSystem(
  'revoke --end-sessions ends established connections, status lists them (conntrack)',
  ['ip', 'iptables', 'ip6tables', 'rsyslogd', 'flock', 'conntrack'],
  () => {
    let live: LiveRig;
    let stopEcho: (() => Promise<void>) | undefined;
    let stopEcho2: (() => Promise<void>) | undefined;

    beforeAll(async () => {
      live = await createLiveRig({ backend: 'iptables', doors: [DOOR, CUTTING] });
      stopEcho = await live.rig.listen(live.rig.server, 2222, undefined, { echo: true });
      stopEcho2 = await live.rig.listen(live.rig.server, 2223, undefined, { echo: true });
    }, 60_000);

    afterAll(async () => {
      await stopEcho?.();
      await stopEcho2?.();
      await (live as LiveRig | undefined)?.destroy(); // unset when beforeAll failed
    }, 60_000);

    test('a plain revoke leaves the session in; revoke --end-sessions cuts it, and the audit log says how many', async () => {
      const { rig } = live;
      const config = ['--config', live.configPath];
      expect((await live.cli(['grant', rig.clientV4, '--door', 'app', ...config])).exitCode).toBe(0);
      const kept = await rig.hold(rig.client, rig.serverV4, 2222, 2000);
      expect(kept).toBeDefined();
      expect((await live.cli(['revoke', rig.clientV4, ...config])).exitCode).toBe(0);
      expect(await kept!.probe(2000)).toBe(true);
      await kept!.close();

      expect((await live.cli(['grant', rig.clientV4, '--door', 'app', ...config])).exitCode).toBe(0);
      const cut = await rig.hold(rig.client, rig.serverV4, 2222, 2000);
      expect(cut).toBeDefined();
      expect(await cut!.probe(2000)).toBe(true);
      // status shows who is in now: the held connection, from conntrack.
      const status = await live.cli(['status', ...config]);
      expect(status.stdout).toMatch(
        new RegExp(
          `^Connections from granted sources \\(1\\):\\n {2}${rig.clientV4.replaceAll('.', '\\.')}:\\d+ → ${rig.serverV4.replaceAll('.', '\\.')}:2222 tcp ESTABLISHED$`,
          'm',
        ),
      );
      const revoked = await live.cli(['revoke', rig.clientV4, '--end-sessions', ...config]);
      expect(revoked.exitCode).toBe(0);
      expect(await cut!.probe(2000)).toBe(false);
      await cut!.close();
      const records = (await readFile(live.auditLog, 'utf8'))
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { event: string; ended?: number; src: string });
      expect(records.filter((record) => record.event === 'sessions-ended')).toEqual([
        expect.objectContaining({ src: rig.clientV4, ended: expect.any(Number) }),
      ]);
      expect(records.find((record) => record.event === 'sessions-ended')!.ended).toBeGreaterThanOrEqual(1);
    }, 60_000);

    test('a door with endSessions: when its grant expires in the running daemon, the connection made under it ends too', async () => {
      const { rig } = live;
      const config = ['--config', live.configPath];
      await live.startDaemon();
      expect((await live.cli(['grant', rig.clientV4, '--door', 'cut', '--for', '2s', ...config])).exitCode).toBe(0);
      const held = await rig.hold(rig.client, rig.serverV4, 2223, 2000);
      expect(held).toBeDefined();
      expect(await held!.probe(2000)).toBe(true);
      // Bounded wait for the daemon's expiry and the sessions-ended record that follows it.
      let ended = false;
      for (let i = 0; i < 60 && !ended; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        ended = (await readFile(live.auditLog, 'utf8'))
          .split('\n')
          .some((line) => line.includes('"sessions-ended"') && line.includes('"cut"'));
      }
      expect(ended).toBe(true);
      expect(await held!.probe(2000)).toBe(false);
      await held!.close();
    }, 60_000);
  },
);
