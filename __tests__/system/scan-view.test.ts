import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { ExecaRunner } from '../../src/firewall/command-runner.js';
import { withHostFirewallCheck } from '../../src/firewall/host-firewall-check.js';
import type { GuardHost } from '../../src/firewall/refusal.js';
import { selectBackend } from '../../src/firewall/select-backend.js';
import { firewallConfig, pingDoor, sshDoor } from '../firewall/fixtures.js';
import { createRig, type Rig } from './support/netns.js';
import { describeSystem } from './support/requirements.js';
import { createUfwSandbox, type UfwSandbox } from './support/ufw.js';

// What Debian's nmap sees from a client namespace, before and after setup, on every backend,
// on a bare host and next to ufw, IPv4 and IPv6: a SYN scan of all 65535 ports and a slow UDP
// scan of the udp knock port and the edge of a time-based range with their neighbours. No port
// may stand out: the knock, close, tripwire and protected ports answer like unused ports (a
// reset and port unreachable on a bare host, silence behind ufw's default deny). The only
// port that differs before setup is 22, where a service listens; after setup the guard hides
// it too. The doors: tcp:7000 udp:8000 close tcp:9001 → tcp:22; icmp tcp:7100, one-time
// udp:7200, time-based udp:40000-40100 → tcp:80, tcp:443.
const TOOLS = ['ip', 'iptables', 'ip6tables', 'ipset', 'nft', 'nmap', 'ufw', 'unshare', 'mount'];
const DOORS = [sshDoor, pingDoor];
const UDP_PORTS = '7999-8001,39999-40001';

interface ScanView {
  /** The state nmap collapsed (most ports), e.g. "closed (65535)", or "" when none was. */
  readonly ignored: string;
  /** The ports nmap listed one by one: "22/open". */
  readonly ports: readonly string[];
}

// Grepable output: "Host: A ()\tPorts: 22/open/tcp//ssh///, …\tIgnored State: closed (65534)".
function parseGrepable(text: string): ScanView {
  const line = text.split('\n').find((l) => l.includes('Ports:') || l.includes('Ignored State:')) ?? '';
  const ports = /Ports: ([^\t]*)/.exec(line)?.[1] ?? '';
  return {
    ignored: /Ignored State: ([^\t]*)/.exec(line)?.[1]?.trim() ?? '',
    ports: ports
      .split(', ')
      .filter(Boolean)
      .map((entry) => entry.split('/').slice(0, 2).join('/')),
  };
}

async function nmap(rig: Rig, args: readonly string[], target: string, family: 4 | 6): Promise<ScanView> {
  // Bounded: one retry, a host timeout, and a timeout on the process itself.
  const argv = [
    'nmap',
    '-n',
    '-Pn',
    ...(family === 6 ? ['-6'] : []),
    '--max-retries',
    '1',
    '--host-timeout',
    '90s',
    '-oG',
    '-',
    ...args,
    target,
  ];
  // A scan that reports no port state at all (seen once on a loaded machine) is run once more;
  // a scan that reports states is never repeated, so a port that stands out always fails the test.
  let text = '';
  for (let attempt = 0; attempt < 2; attempt++) {
    const result = await rig.exec(rig.client, argv, { timeoutMs: 120_000 });
    if (result.exitCode !== 0) throw new Error(`nmap failed (${result.exitCode}): ${result.stderr}`);
    const view = parseGrepable(result.stdout);
    if (view.ignored !== '' || view.ports.length > 0) return view;
    text = `${result.stdout}${result.stderr}`;
  }
  throw new Error(`nmap reported no port states twice:\n${text}`);
}

// A full SYN scan: -T5 and a minimum rate keep it to seconds inside the veth pair, filtered ports included.
function synScan(rig: Rig, family: 4 | 6): Promise<ScanView> {
  return nmap(
    rig,
    ['-sS', '-p', '1-65535', '-T5', '--min-rate', '20000', '--max-rtt-timeout', '200ms'],
    family === 4 ? rig.serverV4 : rig.serverV6,
    family,
  );
}

// Slow where answers come: the kernel sends at most about one port unreachable per second per
// peer after a small burst (REJECT's answers count against the same limit). Behind a default
// drop nothing answers, and the delay would only add time.
function udpScan(rig: Rig, family: 4 | 6, slow: boolean): Promise<ScanView> {
  return nmap(
    rig,
    ['-sU', '-p', UDP_PORTS, ...(slow ? ['--scan-delay', '1100ms'] : []), '--max-rtt-timeout', '400ms'],
    family === 4 ? rig.serverV4 : rig.serverV6,
    family,
  );
}

/** Every port in one state: collapsed, or all six udp ports listed with the same state. */
function states(view: ScanView): string[] {
  return [...new Set(view.ports.map((port) => port.split('/')[1]!))];
}

describeSystem('what a port scanner sees', TOOLS, () => {
  describe.each([
    {
      host: 'bare',
      tcp: 'closed (65535)',
      udp: 'closed',
      refusal: 'reject',
      backends: ['iptables', 'ipset', 'nftables'] as const,
    },
    // Next to ufw the nftables backend refuses to set up (host-firewall-ufw.test.ts): its grants could not pass ufw's INPUT.
    {
      host: 'ufw',
      tcp: 'filtered (65535)',
      udp: 'open|filtered',
      refusal: 'drop',
      backends: ['iptables', 'ipset'] as const,
    },
  ])('on a $host host', ({ host, tcp, udp, refusal, backends }) => {
    let rig: Rig | undefined;
    let sandbox: UfwSandbox | undefined;
    let stopListener: (() => Promise<void>) | undefined;
    const before = new Map<4 | 6, { syn: ScanView; udp: ScanView }>();

    beforeAll(async () => {
      rig = await createRig('ktscan');
      if (host === 'ufw') {
        sandbox = await createUfwSandbox(rig);
        await sandbox.enable();
      }
      stopListener = await rig.listen(rig.server, 22);
      for (const family of [4, 6] as const)
        before.set(family, { syn: await synScan(rig, family), udp: await udpScan(rig, family, host === 'bare') });
    }, 240_000);

    afterAll(async () => {
      await stopListener?.().catch(() => undefined);
      await rig?.destroy();
      await sandbox?.restore();
    }, 30_000);

    test.each([4, 6] as const)('before setup only the listening service stands out (IPv%s)', (family) => {
      const { syn, udp: udpView } = before.get(family)!;
      if (host === 'bare') expect(syn).toEqual({ ignored: 'closed (65534)', ports: ['22/open'] });
      else expect(syn).toEqual({ ignored: tcp, ports: [] });
      expect(udpView.ports).toHaveLength(6);
      expect(states(udpView)).toEqual([udp]);
    });

    test.each(backends)(
      'after setup with the %s backend the knock, close, tripwire and protected ports look like every unused port, IPv4 and IPv6',
      async (backend) => {
        const runner = new ExecaRunner({ netns: rig!.server });
        const logPrefix = `kt-scan-${randomBytes(3).toString('hex')}: `;
        const inner = selectBackend(
          { ...firewallConfig(backend), logPrefix },
          { runner, now: Date.now, sessions: false, baseDelayMs: 10 },
        );
        const hosts: GuardHost[] = [];
        const guarded = withHostFirewallCheck(inner, runner, {
          backend,
          mode: 'check',
          listening: () => Promise.resolve([{ proto: 'tcp', port: 22 }]),
          onHost: (h) => hosts.push(h),
        });
        await guarded.setup(DOORS);
        try {
          expect(hosts.map((h) => h.refusal.refusal)).toEqual([refusal]);
          for (const family of [4, 6] as const) {
            expect(await synScan(rig!, family)).toEqual({ ignored: tcp, ports: [] });
            const view = await udpScan(rig!, family, host === 'bare');
            expect(view.ports).toHaveLength(6);
            expect(states(view)).toEqual([udp]);
          }
        } finally {
          await inner.teardown();
        }
      },
      180_000,
    );
  });
});
