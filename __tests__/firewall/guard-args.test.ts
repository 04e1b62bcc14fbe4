import { describe, expect, test } from '@jest/globals';
import { collectDoorPorts } from '../../src/firewall/door-ports.js';
import { buildGuardRuleSpecs, buildGuardSetupArgs, buildGuardTeardownArgs } from '../../src/firewall/guard-args.js';
import { pingDoor, sshDoor } from './fixtures.js';

const options = { logPrefix: 'knocktail: ', logRateLimit: '20/second', inputPosition: 3 };
const limit4 = ['-m', 'hashlimit', '--hashlimit-upto', '20/second', '--hashlimit-mode', 'srcip', '--hashlimit-name', 'knocktail4'];
const log = ['-j', 'LOG', '--log-prefix', 'knocktail: '];

describe('guard rules', () => {
  test('the guard accepts established flows, consults the grants, logs and drops knocks, then drops the protected port', () => {
    expect(buildGuardRuleSpecs([sshDoor], 4, options)).toEqual([
      ['-p', 'tcp', '--dport', '22', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT'],
      ['-j', 'KNOCKTAIL'],
      ['-p', 'tcp', '--dport', '7000', '-m', 'conntrack', '--ctstate', 'NEW', ...limit4, ...log],
      ['-p', 'udp', '--dport', '8000', '-m', 'conntrack', '--ctstate', 'NEW', ...limit4, ...log],
      ['-p', 'tcp', '--dport', '9001', '-m', 'conntrack', '--ctstate', 'NEW', ...limit4, ...log],
      ['-p', 'tcp', '--dport', '7000', '-j', 'DROP'],
      ['-p', 'udp', '--dport', '8000', '-j', 'DROP'],
      ['-p', 'tcp', '--dport', '9001', '-j', 'DROP'],
      ['-p', 'tcp', '--dport', '22', '-j', 'DROP'],
    ]);
  });

  test('one-time sequence ports and the time-based range are knock ports, and an icmp step logs echo requests without dropping them', () => {
    const ports = collectDoorPorts([pingDoor]);
    expect(ports.knockPorts).toEqual([
      { proto: 'tcp', from: 7100, to: 7100 },
      { proto: 'udp', from: 7200, to: 7200 },
      { proto: 'udp', from: 40000, to: 40100 },
    ]);
    expect(ports.icmp).toBe(true);
    const v6 = buildGuardRuleSpecs([pingDoor], 6, options);
    expect(v6).toContainEqual(['-p', 'ipv6-icmp', '--icmpv6-type', 'echo-request', ...limit4.slice(0, -1), 'knocktail6', ...log]);
    expect(v6).toContainEqual(['-p', 'udp', '--dport', '40000:40100', '-j', 'DROP']);
    expect(v6.some((spec) => spec.includes('ipv6-icmp') && spec.includes('DROP'))).toBe(false);
  });

  test('a port shared by two doors is guarded once', () => {
    const ports = collectDoorPorts([sshDoor, { ...sshDoor, name: 'ssh2', sequence: [{ proto: 'tcp', port: 7000 }] }]);
    expect(ports.protectedPorts).toEqual([{ proto: 'tcp', port: 22 }]);
    expect(ports.knockPorts.filter((p) => p.from === 7000)).toHaveLength(1);
  });

  test('setup creates both chains and inserts the jump at the configured INPUT position', () => {
    const argv = buildGuardSetupArgs([sshDoor], 4, options);
    expect(argv[0]).toEqual(['iptables', '-w', '-N', 'KNOCKTAIL']);
    expect(argv[1]).toEqual(['iptables', '-w', '-N', 'KNOCKTAIL-GUARD']);
    expect(argv.at(-1)).toEqual(['iptables', '-w', '-I', 'INPUT', '3', '-j', 'KNOCKTAIL-GUARD']);
  });

  test('teardown removes the jump before the chains', () => {
    expect(buildGuardTeardownArgs(6).map((argv) => argv.slice(2).join(' '))).toEqual([
      '-D INPUT -j KNOCKTAIL-GUARD',
      '-F KNOCKTAIL-GUARD',
      '-X KNOCKTAIL-GUARD',
      '-F KNOCKTAIL',
      '-X KNOCKTAIL',
    ]);
  });
});
