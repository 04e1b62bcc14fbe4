import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { FirewallBackend } from '../../src/firewall/backend.js';
import { ExecaRunner } from '../../src/firewall/command-runner.js';
import { selectBackend } from '../../src/firewall/select-backend.js';
import { makeDoor } from '../support/door.js';
import { firewallConfig, grantFor } from '../firewall/fixtures.js';
import { createRig, pollConnect, runArgv } from './support/netns.js';
import type { Rig } from './support/netns.js';
import { firewallSnapshot } from './support/firewall-snapshot.js';
import { describeSystem } from './support/requirements.js';

// The forward twin without Docker (#19): the server namespace publishes tcp:8080 by a plain DNAT
// rule to a listener in a third namespace ("the container", behind the server, masqueraded
// like Docker's), so nothing here depends on Docker's chain names. iptables and ipset read an
// iptables DNAT, nftables a native nft one.
const CASES = [
  { backend: 'iptables', dnat: 'iptables' },
  { backend: 'ipset', dnat: 'iptables' },
  { backend: 'nftables', dnat: 'nft' },
] as const;
const WEB = makeDoor({
  name: 'web',
  sequence: [{ proto: 'tcp', port: 7300 }],
  open: [{ proto: 'tcp', port: 8080 }],
  closeSequence: [],
});
const INNER_V4 = '203.0.113.2';
const INNER_V6 = '2001:db8:2::2';
const REFUSED_MS = 300;

async function must(argv: readonly string[]): Promise<void> {
  const result = await runArgv(argv);
  if (result.exitCode !== 0) throw new Error(`${argv.join(' ')} → ${result.exitCode}: ${result.stderr.trim()}`);
}

/** The "container" namespace behind the rig's server, its port 80 published as the server's 8080 (v4 and v6). */
async function addInner(rig: Rig, dnat: 'iptables' | 'nft'): Promise<string> {
  const inner = `${rig.server.slice(0, -4)}-in`;
  const inServer = (argv: readonly string[]): Promise<void> => must(['ip', 'netns', 'exec', rig.server, ...argv]);
  await must(['ip', 'netns', 'add', inner]);
  await must([
    'ip',
    'link',
    'add',
    'ktfwd',
    'netns',
    rig.server,
    'type',
    'veth',
    'peer',
    'name',
    'ktfwi',
    'netns',
    inner,
  ]);
  for (const [ns, dev, v4, v6] of [
    [rig.server, 'ktfwd', '203.0.113.1', '2001:db8:2::1'],
    [inner, 'ktfwi', INNER_V4, INNER_V6],
  ] as const) {
    await must(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    await must(['ip', '-n', ns, 'addr', 'add', `${v4}/24`, 'dev', dev]);
    await must(['ip', '-n', ns, '-6', 'addr', 'add', `${v6}/64`, 'dev', dev, 'nodad']);
    await must(['ip', '-n', ns, 'link', 'set', dev, 'up']);
  }
  await must(['ip', '-n', inner, 'route', 'add', 'default', 'via', '203.0.113.1']);
  await must(['ip', '-n', inner, '-6', 'route', 'add', 'default', 'via', '2001:db8:2::1']);
  await inServer(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
  if (dnat === 'iptables') {
    for (const [bin, to, net] of [
      ['iptables', `${INNER_V4}:80`, '203.0.113.0/24'],
      ['ip6tables', `[${INNER_V6}]:80`, '2001:db8:2::/64'],
    ] as const) {
      await inServer([
        bin,
        '-w',
        '-t',
        'nat',
        '-A',
        'PREROUTING',
        '-i',
        'ktfws',
        '-p',
        'tcp',
        '--dport',
        '8080',
        '-j',
        'DNAT',
        '--to-destination',
        to,
      ]);
      await inServer([bin, '-w', '-t', 'nat', '-A', 'POSTROUTING', '-s', net, '-o', 'ktfws', '-j', 'MASQUERADE']);
    }
  } else {
    await inServer(['nft', 'add table inet pub']);
    await inServer(['nft', 'add chain inet pub pre { type nat hook prerouting priority dstnat; }']);
    await inServer(['nft', 'add chain inet pub post { type nat hook postrouting priority srcnat; }']);
    await inServer([
      'nft',
      `add rule inet pub pre iifname "ktfws" meta nfproto ipv4 tcp dport 8080 dnat ip to ${INNER_V4}:80`,
    ]);
    await inServer([
      'nft',
      `add rule inet pub pre iifname "ktfws" meta nfproto ipv6 tcp dport 8080 dnat ip6 to [${INNER_V6}]:80`,
    ]);
    await inServer(['nft', 'add rule inet pub post oifname "ktfws" masquerade']);
  }
  return inner;
}

describeSystem(
  'the forward twin guards a port published by DNAT',
  ['ip', 'iptables', 'ip6tables', 'iptables-save', 'ipset', 'nft', 'sysctl'],
  () => {
    describe.each(CASES)('the $backend backend, DNAT by $dnat', ({ backend: name, dnat }) => {
      let rig: Rig;
      let inner: string;
      let backend: FirewallBackend;
      const stops: (() => Promise<void>)[] = [];

      beforeAll(async () => {
        rig = await createRig(`ktfd${name.slice(0, 3)}`);
        inner = await addInner(rig, dnat);
        stops.push(await rig.listen(inner, 80));
        // The client's own service on 8080: the "container" connecting out to it must pass.
        stops.push(await rig.listen(rig.client, 8080));
        backend = selectBackend(
          { ...firewallConfig(name), logPrefix: `ktfd-${process.pid}: ` },
          { runner: new ExecaRunner({ netns: rig.server }), now: Date.now, baseDelayMs: 10, forward: true },
        );
      });

      afterAll(async () => {
        await (backend as FirewallBackend | undefined)?.stop?.();
        for (const stop of stops) await stop().catch(() => undefined);
        if ((rig as Rig | undefined) !== undefined) {
          await rig.destroy();
          await runArgv(['ip', 'netns', 'del', inner]);
        }
      });

      test('the published port is reachable before setup, over IPv4 and IPv6', async () => {
        // The first packets wait for neighbour discovery on two links: polled, not one try.
        expect(await pollConnect(rig, rig.client, rig.serverV4, 8080, true, 5000)).toBe(true);
        expect(await pollConnect(rig, rig.client, rig.serverV6, 8080, true, 5000)).toBe(true);
      });

      test('after setup it is refused; a grant admits its own source only, until it is closed', async () => {
        await backend.setup([WEB]);
        expect(await rig.connect(rig.client, rig.serverV4, 8080, REFUSED_MS)).toBe(false);
        expect(await rig.connect(rig.client, rig.serverV6, 8080, REFUSED_MS)).toBe(false);
        const other = grantFor('198.51.100.99', {
          door: 'web',
          ports: [{ proto: 'tcp', port: 8080 }],
          until: Date.now() + 60_000,
        });
        await backend.open(other);
        expect(await rig.connect(rig.client, rig.serverV4, 8080, REFUSED_MS)).toBe(false);
        for (const src of [rig.clientV4, rig.clientV6]) {
          const grant = grantFor(src, {
            door: 'web',
            ports: [{ proto: 'tcp', port: 8080 }],
            until: Date.now() + 60_000,
          });
          await backend.open(grant);
          expect(await rig.connect(rig.client, src === rig.clientV4 ? rig.serverV4 : rig.serverV6, 8080, 2000)).toBe(
            true,
          );
          await backend.close(grant);
          expect(
            await rig.connect(rig.client, src === rig.clientV4 ? rig.serverV4 : rig.serverV6, 8080, REFUSED_MS),
          ).toBe(false);
        }
        await backend.close(other);
      });

      test("the container's own connections, to port 8080 elsewhere too, pass", async () => {
        expect(await rig.connect(inner, rig.clientV4, 8080, 2000)).toBe(true);
        expect(await rig.connect(inner, rig.clientV6, 8080, 2000)).toBe(true);
      });

      test('the periodic check puts back a lost jump, and a new setup keeps held grants', async () => {
        const grant = grantFor(rig.clientV4, {
          door: 'web',
          ports: [{ proto: 'tcp', port: 8080 }],
          until: Date.now() + 60_000,
        });
        await backend.open(grant);
        if (dnat === 'iptables') await rig.exec(rig.server, ['iptables', '-w', '-D', 'FORWARD', '-j', 'KNOCKTAIL-FWD']);
        else await rig.exec(rig.server, ['nft', 'delete chain inet knocktail forward']);
        await backend.checkForward!([WEB]);
        expect(await rig.connect(rig.client, rig.serverV6, 8080, REFUSED_MS)).toBe(false);
        expect(await rig.connect(rig.client, rig.serverV4, 8080, 2000)).toBe(true);
        await backend.setup([WEB]);
        expect(await rig.connect(rig.client, rig.serverV4, 8080, 2000)).toBe(true);
        await backend.close(grant);
      });

      test('teardown removes the twin and leaves the published port as it was', async () => {
        const before = await firewallSnapshot(rig);
        await backend.teardown();
        const after = await firewallSnapshot(rig);
        expect(after).not.toContain('KNOCKTAIL');
        expect(after).not.toContain('knocktail');
        expect(before).toContain(dnat === 'iptables' ? 'KNOCKTAIL-FWD' : 'chain forward');
        expect(await rig.connect(rig.client, rig.serverV4, 8080, 2000)).toBe(true);
      });
    });
  },
);
