import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { randomInt } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FirewallBackend } from '../../src/firewall/backend.js';
import { ExecaRunner } from '../../src/firewall/command-runner.js';
import { selectBackend } from '../../src/firewall/select-backend.js';
import { parseKernelLine } from '../../src/parse/parse-kernel-line.js';
import { firewallConfig, sshDoor } from '../firewall/fixtures.js';
import { createRig, type Rig } from './support/netns.js';
import { firewallSnapshot } from './support/firewall-snapshot.js';
import { describeSystem } from './support/requirements.js';
import { startUlogd, type PrivateUlogd } from './support/ulogd.js';

// The NFLOG rules of every backend, on the real tools, read by a real ulogd2 with the config
// `install` renders (started here, in the server namespace, stopped by PID), with
// nf_log_all_netns left as it is: a knock SYN and a knock datagram from the client namespace
// become lines the parser reads as this host's packets (docs/nflog.md). Teardown leaves nothing.
const BACKENDS = ['iptables', 'ipset', 'nftables'] as const;

async function waitForLine(path: string, needle: string, timeoutMs: number): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const line = (await readFile(path, 'utf8').catch(() => '')).split('\n').find((text) => text.includes(needle));
    if (line !== undefined) return line;
    await new Promise((done) => setTimeout(done, 25));
  }
  return undefined;
}

describeSystem(
  'NFLOG guard rules read through ulogd2',
  ['ip', 'iptables', 'ip6tables', 'ipset', 'nft', 'ulogd'],
  () => {
    describe.each(BACKENDS)('the %s backend', (name) => {
      let rig: Rig;
      let dir: string;
      let ulogd: PrivateUlogd | undefined;
      let backend: FirewallBackend | undefined;
      let before: string;
      const prefix = `ktnf${randomInt(0xffff).toString(16)}: `;
      const group = 1000 + randomInt(60_000);

      beforeAll(async () => {
        dir = await mkdtemp(join(tmpdir(), 'kt-nflog-'));
        rig = await createRig(`ktnf${name.slice(0, 3)}`);
        // The filter tables exist before setup (as on any host), so teardown can leave them as they were.
        for (const tool of ['iptables', 'ip6tables']) {
          for (const op of ['-A', '-D'])
            await rig.exec(rig.server, [tool, '-w', op, 'INPUT', '-p', 'tcp', '--dport', '9', '-j', 'ACCEPT']);
        }
        before = await firewallSnapshot(rig);
        ulogd = await startUlogd(join(dir, 'ulogd'), rig.server, { group, logFile: join(dir, 'knocks.log') });
        backend = selectBackend(
          { ...firewallConfig(name), logPrefix: prefix, logAction: { kind: 'nflog', prefix, group } },
          { runner: new ExecaRunner({ netns: rig.server }), now: Date.now, baseDelayMs: 10 },
        );
        await backend.setup([sshDoor]);
      }, 30_000);

      afterAll(async () => {
        await backend?.teardown().catch(() => undefined);
        await backend?.stop?.();
        await ulogd?.stop();
        await (rig as Rig | undefined)?.destroy();
        await rm(dir, { recursive: true, force: true });
      }, 30_000);

      test.each([
        ['a tcp knock (IPv4)', 'tcp', 4, 7000],
        ['a udp knock (IPv6)', 'udp', 6, 8000],
      ] as const)(
        '%s reaches ulogd through the guard and parses as a knock on this host',
        async (_title, proto, family, port) => {
          const server = family === 4 ? rig.serverV4 : rig.serverV6;
          if (proto === 'tcp') await rig.connect(rig.client, server, port, 300);
          else await rig.udpExchange(rig.client, server, port, 40_000 + family, 300);
          const line = await waitForLine(join(dir, 'knocks.log'), `DPT=${port} `, 3000);
          expect(line).toBeDefined();
          const result = parseKernelLine(line!, {
            prefix,
            header: 'ulogd',
            referenceTime: Date.now(),
            bootTime: 0,
            zoneOffsetMinutes: () => 0,
            localAddresses: new Set([rig.serverV4, rig.serverV6]),
          });
          expect(result).toMatchObject({
            kind: 'packet',
            packet: { proto, family, dport: port, src: family === 4 ? rig.clientV4 : rig.clientV6 },
          });
        },
      );

      test('teardown leaves the firewall as it was', async () => {
        await backend!.teardown();
        expect(await firewallSnapshot(rig)).toBe(before);
      });
    });
  },
);
