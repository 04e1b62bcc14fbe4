import { describe, expect, test } from '@jest/globals';
import { canaryPort } from '../../src/firewall/canary-port.js';
import { buildGuardRuleSpecs } from '../../src/firewall/guard-args.js';
import { buildNftSetupStatements } from '../../src/firewall/nft-args.js';
import { makeDoor } from '../support/door.js';
import { sshDoor } from '../firewall/fixtures.js';

const options = { logPrefix: 'knocktail: ', logRateLimit: '20/second', inputPosition: 1 };
const NEW = ['-m', 'conntrack', '--ctstate', 'NEW'];

describe('the canary port', () => {
  test('is the same for the same prefix, above the ephemeral range, and differs between prefixes', () => {
    const port = canaryPort([sshDoor], 'knocktail: ');
    expect(canaryPort([sshDoor], 'knocktail: ')).toBe(port);
    expect(port).toBeGreaterThanOrEqual(61000);
    expect(port).toBeLessThanOrEqual(65535);
    expect(canaryPort([sshDoor], 'other: ')).not.toBe(port);
  });

  test('is never a udp port a door knocks on or opens', () => {
    const port = canaryPort([sshDoor], 'knocktail: ');
    const knocking = makeDoor({
      name: 'udp',
      sequence: [{ proto: 'udp', port }],
      open: [{ proto: 'udp', port: port + 1 }],
    });
    const moved = canaryPort([knocking], 'knocktail: ');
    expect([port, port + 1]).not.toContain(moved);
  });
});

describe('the canary rules', () => {
  test('iptables: first in the IPv4 guard, lo only, NEW only, logged with the prefix, then dropped; none in IPv6', () => {
    const specs = buildGuardRuleSpecs([sshDoor], 4, { ...options, canary: { port: 63000 } });
    expect(specs.slice(0, 2)).toEqual([
      ['-i', 'lo', '-p', 'udp', '--dport', '63000', ...NEW, '-j', 'LOG', '--log-prefix', 'knocktail: '],
      ['-i', 'lo', '-p', 'udp', '--dport', '63000', ...NEW, '-j', 'DROP'],
    ]);
    expect(buildGuardRuleSpecs([sshDoor], 6, { ...options, canary: { port: 63000 } })).toEqual(
      buildGuardRuleSpecs([sshDoor], 6, options),
    );
  });

  test('iptables: the first phase (armed: false) keeps every log rule and the canary and refuses nothing else', () => {
    const armed = buildGuardRuleSpecs([sshDoor], 4, { ...options, canary: { port: 63000 } });
    const first = buildGuardRuleSpecs([sshDoor], 4, { ...options, canary: { port: 63000 }, armed: false });
    expect(first.filter((spec) => spec.includes('LOG'))).toEqual(armed.filter((spec) => spec.includes('LOG')));
    expect(first.filter((spec) => spec.at(-1) === 'DROP')).toEqual([
      ['-i', 'lo', '-p', 'udp', '--dport', '63000', ...NEW, '-j', 'DROP'],
    ]);
    expect(armed.filter((spec) => spec.at(-1) === 'DROP').length).toBeGreaterThan(1);
  });

  test('nftables: the canary rule comes first in the guard chain; the first phase drops nothing else', () => {
    const statements = buildNftSetupStatements([sshDoor], { ...options, canary: { port: 63000 } });
    const guard = statements.filter((s) => s.startsWith('add rule inet knocktail guard '));
    expect(guard[0]).toBe(
      'add rule inet knocktail guard iifname "lo" meta nfproto ipv4 udp dport 63000 ct state new log prefix "knocktail: " drop',
    );
    const first = buildNftSetupStatements([sshDoor], { ...options, canary: { port: 63000 }, armed: false }).filter(
      (s) => s.endsWith(' drop'),
    );
    expect(first).toEqual([guard[0]]);
  });
});
