import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { FirewallBackend } from '../../src/firewall/backend.js';
import { ExecaRunner } from '../../src/firewall/command-runner.js';
import { selectBackend } from '../../src/firewall/select-backend.js';
import { parseCidr } from '../../src/model/address.js';
import type { Door } from '../../src/model/door.js';
import { firewallConfig, grantFor, sshDoor } from '../firewall/fixtures.js';
import { makeDoor } from '../support/door.js';
import { createRig, runArgv, enableLogAllNetns } from './support/netns.js';
import type { Rig } from './support/netns.js';
import { firewallSnapshot } from './support/firewall-snapshot.js';
import { describeSystem } from './support/requirements.js';

// One contract, every real backend (fail2ban's per-backend test case): inside a fresh pair
// of namespaces, a grant admits exactly its source to the protected port and nothing else.
const BACKENDS = ['iptables', 'ipset', 'nftables'] as const;
// A time-based door whose TCP knock range lies in Linux's ephemeral ports, like the default 10000–60000.
const rangeDoor: Door = makeDoor({
  name: 'range',
  sequence: [],
  timeBased: { secret: 's', length: 2, period: 30_000, portRange: [40000, 40100], proto: 'tcp' },
  open: [{ proto: 'tcp', port: 22 }],
});
const DOORS = [sshDoor, rangeDoor];
const PORT = 22;
const REFUSED_MS = 300;

/** How many grant rules or elements the firewall holds for a source. */
async function countEntries(rig: Rig, backend: string, src: string): Promise<number> {
  const v6 = src.includes(':');
  const argv =
    backend === 'iptables'
      ? [v6 ? 'ip6tables' : 'iptables', '-S', 'KNOCKTAIL']
      : backend === 'ipset'
        ? ['ipset', 'list', `knocktail-ssh-v${v6 ? 6 : 4}`]
        : ['nft', 'list', 'set', 'inet', 'knocktail', `door-ssh-v${v6 ? 6 : 4}`];
  const { stdout } = await rig.exec(rig.server, argv);
  return stdout.split(src).length - 1;
}

describeSystem(
  'firewall backend contract',
  ['ip', 'iptables', 'ip6tables', 'iptables-save', 'ip6tables-save', 'ipset', 'nft'],
  () => {
    describe.each(BACKENDS)('the %s backend', (name) => {
      let rig: Rig;
      let backend: FirewallBackend;
      let before: string;
      let stopListener: (() => Promise<void>) | undefined;
      // The kernel ring buffer is shared by every namespace and test run: a unique prefix finds our lines.
      const logPrefix = `ktfw-${process.pid}-${name.slice(0, 4)}: `;

      beforeAll(async () => {
        rig = await createRig(`ktfw${name.slice(0, 3)}`);
        // The admin's own rules, which setup must not disturb and teardown must leave byte-identical.
        await rig.exec(rig.server, [
          'iptables',
          '-w',
          '-A',
          'INPUT',
          '-s',
          '203.0.113.0/24',
          '-p',
          'tcp',
          '--dport',
          '25',
          '-j',
          'DROP',
        ]);
        await rig.exec(rig.server, ['ip6tables', '-w', '-A', 'INPUT', '-s', '2001:db8:ffff::/48', '-j', 'DROP']);
        await rig.exec(rig.server, ['nft', 'add table inet admin']);
        await rig.exec(rig.server, [
          'nft',
          'add chain inet admin input { type filter hook input priority 10; policy accept; }',
        ]);
        await rig.exec(rig.server, ['nft', 'add rule inet admin input tcp dport 26 drop']);
        before = await firewallSnapshot(rig);
        restoreLogAllNetns = await enableLogAllNetns();
        backend = selectBackend(
          { ...firewallConfig(name), logPrefix },
          { runner: new ExecaRunner({ netns: rig.server }), now: Date.now, baseDelayMs: 10 },
        );
        stopListener = await rig.listen(rig.server, PORT, undefined, { echo: true });
        await backend.setup(DOORS);
      });

      let restoreLogAllNetns: (() => Promise<void>) | undefined;
      afterAll(async () => {
        await restoreLogAllNetns?.();
        await (backend as FirewallBackend | undefined)?.stop?.(); // unset when beforeAll failed
        await stopListener?.().catch(() => undefined);
        await (rig as Rig | undefined)?.destroy();
      });

      for (const family of [4, 6] as const) {
        const server = (): string => (family === 4 ? rig.serverV4 : rig.serverV6);
        const client = (): string => (family === 4 ? rig.clientV4 : rig.clientV6);

        test(`an IPv${family} client is refused before the grant, admitted during it and refused after close`, async () => {
          expect(await rig.connect(rig.client, server(), PORT, REFUSED_MS)).toBe(false);
          const grant = grantFor(client(), { until: Date.now() + 60_000 });
          await backend.open(grant);
          expect(await rig.connect(rig.client, server(), PORT, 2000)).toBe(true);
          expect((await backend.list()).map((g) => [g.door, g.src, g.family, g.ports])).toEqual([
            ['ssh', client(), family, [{ proto: 'tcp', port: PORT }]],
          ]);
          await backend.close(grant);
          expect(await rig.connect(rig.client, server(), PORT, REFUSED_MS)).toBe(false);
          expect(await backend.list()).toEqual([]);
        });

        test(`refreshing an IPv${family} grant never creates a second rule or element`, async () => {
          const grant = grantFor(client(), { until: Date.now() + 60_000 });
          await backend.open(grant);
          await backend.open(grant);
          await backend.open({ ...grant, until: grant.until! + 60_000 });
          expect(await countEntries(rig, name, client())).toBe(1);
          expect(await backend.list()).toHaveLength(1);
          expect(await rig.connect(rig.client, server(), PORT, 2000)).toBe(true);
          await backend.close({ ...grant, until: grant.until! + 60_000 });
          expect(await countEntries(rig, name, client())).toBe(0);
        });

        test(`the server's own outbound IPv${family} TCP from a local port in a knock range or on a knock port gets its replies`, async () => {
          const stop = await rig.listen(rig.client, 8080, family);
          try {
            expect(await rig.connect(rig.server, client(), 8080, 2000, { localPort: 40050 + family })).toBe(true);
            expect(await rig.connect(rig.server, client(), 8080, 2000, { localPort: 7000 })).toBe(true);
          } finally {
            await stop();
          }
          // The same ports stay closed to new inbound connections.
          expect(await rig.connect(rig.client, server(), 40050 + family, REFUSED_MS)).toBe(false);
        });

        test(`the server's own outbound IPv${family} UDP from a udp knock port gets its reply`, async () => {
          const stop = await rig.listenUdp(rig.client, 5353);
          try {
            expect(await rig.udpExchange(rig.server, client(), 5353, 8000, 2000)).toBe(true);
          } finally {
            await stop();
          }
        });

        test(`an established IPv${family} connection survives the close of its grant`, async () => {
          const grant = grantFor(client(), { until: null });
          await backend.open(grant);
          const held = await rig.hold(rig.client, server(), PORT, 2000);
          expect(held).toBeDefined();
          await backend.close(grant);
          expect(await held!.probe(2000)).toBe(true);
          expect(await rig.connect(rig.client, server(), PORT, REFUSED_MS)).toBe(false);
          await held!.close();
        });
      }

      test('a knock is logged with the configured prefix and dropped', async () => {
        expect(await rig.connect(rig.client, rig.serverV4, 7000, REFUSED_MS)).toBe(false);
        let logged = false;
        for (let i = 0; i < 20 && !logged; i++) {
          const { stdout } = await runArgv(['dmesg']);
          logged = stdout
            .split('\n')
            .some(
              (line) => line.includes(logPrefix) && line.includes(`SRC=${rig.clientV4}`) && line.includes('DPT=7000'),
            );
          if (!logged) await new Promise((resolve) => setTimeout(resolve, 100));
        }
        expect(logged).toBe(true);
      });

      test('closing a grant that is not there is not an error', async () => {
        await expect(backend.close(grantFor(rig.clientV4))).resolves.toBeUndefined();
      });

      // No daemon and no reconcile here: only the kernel (xt_time, ipset/nft timeouts) can close it.
      test('the kernel expires a grant by itself when its time is up', async () => {
        await backend.open(grantFor(rig.clientV4, { until: Date.now() + 1200 }));
        expect(await rig.connect(rig.client, rig.serverV4, PORT, 2000)).toBe(true);
        await new Promise((resolve) => setTimeout(resolve, 2500));
        expect(await rig.connect(rig.client, rig.serverV4, PORT, REFUSED_MS)).toBe(false);
        await backend.close(grantFor(rig.clientV4, { until: Date.now() + 1200 }));
      });

      test('a second backend (a second offline grant) refreshes the rule or element instead of adding one', async () => {
        const other = selectBackend(
          { ...firewallConfig(name), logPrefix },
          { runner: new ExecaRunner({ netns: rig.server }), now: Date.now, baseDelayMs: 10 },
        );
        await backend.open(grantFor(rig.clientV4, { until: Date.now() + 60_000 }));
        await other.open(grantFor(rig.clientV4, { until: Date.now() + 120_000 }));
        await other.stop?.();
        expect(await countEntries(rig, name, rig.clientV4)).toBe(1);
        await backend.close(grantFor(rig.clientV4, { until: null }));
        await backend.list();
      });

      test('limits.alwaysAllow sources reach the protected port without a grant, others do not', async () => {
        const allowing = selectBackend(
          { ...firewallConfig(name), logPrefix, alwaysAllow: [parseCidr(`${rig.clientV4}/32`)!] },
          { runner: new ExecaRunner({ netns: rig.server }), now: Date.now, baseDelayMs: 10 },
        );
        try {
          await allowing.setup(DOORS);
          expect(await rig.connect(rig.client, rig.serverV4, PORT, 2000)).toBe(true);
          expect(await rig.connect(rig.client, rig.serverV6, PORT, REFUSED_MS)).toBe(false);
        } finally {
          await allowing.stop?.();
          await backend.setup(DOORS);
        }
        expect(await rig.connect(rig.client, rig.serverV4, PORT, REFUSED_MS)).toBe(false);
      });

      test('setup run twice leaves the same rules as setup run once', async () => {
        const once = await firewallSnapshot(rig);
        await backend.setup(DOORS);
        expect(await firewallSnapshot(rig)).toEqual(once);
      });

      test('teardown leaves the admin rules exactly as they were before setup', async () => {
        await backend.open(grantFor(rig.clientV4, { until: null }));
        await backend.teardown();
        expect(await firewallSnapshot(rig)).toEqual(before);
        await backend.teardown();
        expect(await firewallSnapshot(rig)).toEqual(before);
      });
    });
  },
);
