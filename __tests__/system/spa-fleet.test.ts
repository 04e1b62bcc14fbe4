import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLIENT_ADDRESS, createFleetRig, type FleetMember, type FleetRig } from './support/fleet-rig.js';
import { fwknopArgs, fwknopKeyGen } from './support/fwknop.js';
import { describeSystem } from './support/requirements.js';
import { sleep } from '../support/helpers.js';

// A fleet SPA door on a real JetStream cluster: a packet from Debian's fwknop client to b1 opens
// 22 on b1 and b2 (the grant goes through the fleet), and the same bytes sent to b2 after the
// revoke are refused as replayed (the replay cache is group-wide).
const PORT = 62201;
const home = mkdtempSync(join(tmpdir(), 'kt-spa-fleet-'));

// One datagram from the client namespace, payload as a base64 argument.
const SEND = `const s=require('dgram').createSocket('udp4');s.send(Buffer.from(process.argv[1],'base64'),${PORT},process.argv[2],(e)=>{if(e)throw e;s.close()});`;

describeSystem(
  'a fleet SPA door: grants and the replay cache are group-wide (2 bastions, 3-node NATS, fwknop client)',
  ['ip', 'iptables', 'rsyslogd', 'nats-server', 'openssl', 'fwknop', 'tcpdump'],
  () => {
    let fleet: FleetRig;
    let b1: FleetMember;
    let b2: FleetMember;
    const keys = fwknopKeyGen(home);

    const counters = async (member: FleetMember): Promise<Record<string, number>> =>
      (
        JSON.parse((await member.cli(['status', '--json', '--config', member.configPath])).stdout) as {
          counters: Record<string, number>;
        }
      ).counters;

    beforeAll(async () => {
      const keyFile = join(home, 'spa.key');
      const hmacKeyFile = join(home, 'spa.hmac');
      writeFileSync(keyFile, `${keys.key}\n`, { mode: 0o600 });
      writeFileSync(hmacKeyFile, `${keys.hmac}\n`, { mode: 0o600 });
      fleet = await createFleetRig({
        members: 2,
        doors: [
          { name: 'spa', spa: { port: PORT, keyFile, hmacKeyFile }, open: ['tcp:22'], openFor: '1m', fleet: true },
        ],
        ports: [22],
      });
      [b1, b2] = fleet.members as [FleetMember, FleetMember];
      for (const member of fleet.members) await member.start();
    }, 120_000);

    afterAll(async () => {
      await (fleet as FleetRig | undefined)?.destroy();
      rmSync(home, { recursive: true, force: true });
    }, 60_000);

    test('a packet to b1 opens 22 on b1 and b2; the same bytes to b2 after the revoke are refused as replayed', async () => {
      expect(await fleet.connect(b2.address, 22, 500)).toBe(false);
      const saved = join(home, 'sent');
      const sent = await fleet.rig.exec(fleet.client, [
        'env',
        `HOME=${home}`,
        ...fwknopArgs(b1.address, PORT, keys, ['-A', 'tcp/22', '-a', CLIENT_ADDRESS, '--save-packet', saved]),
      ]);
      expect(sent.exitCode).toBe(0);
      const opened = await Promise.all([fleet.waitOpen(b1.address, 22, 5000), fleet.waitOpen(b2.address, 22, 5000)]);
      if (!opened.every(Boolean))
        process.stderr.write(`b1:\n${b1.output().slice(-3000)}\nb2:\n${b2.output().slice(-3000)}\n`);
      expect(opened).toEqual([true, true]);

      expect((await b1.cli(['revoke', CLIENT_ADDRESS, '--door', 'spa', '--config', b1.configPath])).exitCode).toBe(0);
      expect(await fleet.waitClosed(b2.address, 22, 5000)).toBe(true);
      const before = (await counters(b2))['spaRefused.replayed'] ?? 0;
      const bytes = Buffer.from(readFileSync(saved, 'utf8').trim(), 'latin1');
      const replayed = await fleet.rig.exec(fleet.client, ['node', '-e', SEND, bytes.toString('base64'), b2.address]);
      expect(replayed.exitCode).toBe(0);
      let after = before;
      for (let wait = 0; wait < 20 && after === before; wait += 1) {
        await sleep(100);
        after = (await counters(b2))['spaRefused.replayed'] ?? 0;
      }
      expect(after).toBe(before + 1);
      expect(await fleet.connect(b2.address, 22, 500)).toBe(false);
    }, 60_000);
  },
);
