import { describe, expect, test } from '@jest/globals';
import { collectDoorPorts } from '../../src/firewall/door-ports.js';
import { parseCidr } from '../../src/model/address.js';
import {
  buildGuardRestore,
  buildGuardRuleSpecs,
  buildGuardSetupArgs,
  buildGuardTeardownArgs,
  buildGuardTeardownRestore,
  buildJumpRepairRestore,
  buildRefusalTarget,
  EMPTY_GUARD_STATE,
} from '../../src/firewall/guard-args.js';
import { pingDoor, sshDoor } from './fixtures.js';

const options = { logPrefix: 'knocktail: ', logRateLimit: '20/second', inputPosition: 3 };
const limit4 = [
  '-m',
  'hashlimit',
  '--hashlimit-upto',
  '20/second',
  '--hashlimit-mode',
  'srcip',
  '--hashlimit-name',
  'knocktail4',
];
const log = ['-j', 'LOG', '--log-prefix', 'knocktail: '];
const NEW = ['-m', 'conntrack', '--ctstate', 'NEW'];

describe('guard rules', () => {
  test('the guard accepts established flows, consults the grants, logs and drops new knocks, then drops the protected port', () => {
    expect(buildGuardRuleSpecs([sshDoor], 4, options)).toEqual([
      ['-p', 'tcp', '--dport', '22', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT'],
      ['-j', 'KNOCKTAIL'],
      ['-p', 'tcp', '--dport', '7000', ...NEW, ...limit4, ...log],
      ['-p', 'udp', '--dport', '8000', ...NEW, ...limit4, ...log],
      ['-p', 'tcp', '--dport', '9001', ...NEW, ...limit4, ...log],
      ['-p', 'tcp', '--dport', '7000', ...NEW, '-j', 'DROP'],
      ['-p', 'udp', '--dport', '8000', ...NEW, '-j', 'DROP'],
      ['-p', 'tcp', '--dport', '9001', ...NEW, '-j', 'DROP'],
      ['-p', 'tcp', '--dport', '22', '-j', 'DROP'],
    ]);
  });

  test("every knock DROP matches only NEW packets, so replies to the host's own connections pass the guard", () => {
    for (const family of [4, 6] as const) {
      const drops = buildGuardRuleSpecs([sshDoor, pingDoor], family, options).filter((spec) => spec.at(-1) === 'DROP');
      const knockDrops = drops.filter((spec) => !['22', '80', '443'].includes(spec[spec.indexOf('--dport') + 1]!));
      expect(knockDrops).toHaveLength(6);
      for (const spec of knockDrops) expect(spec.join(' ')).toContain('-m conntrack --ctstate NEW -j DROP');
    }
  });

  test('alwaysAllow sources of the family pass on the protected ports before the grants, and nowhere else', () => {
    const alwaysAllow = [parseCidr('192.0.2.0/24')!, parseCidr('2001:db8:9::/48')!];
    const v4 = buildGuardRuleSpecs([pingDoor], 4, { ...options, alwaysAllow });
    const v6 = buildGuardRuleSpecs([pingDoor], 6, { ...options, alwaysAllow });
    expect(v4.slice(2, 5)).toEqual([
      ['-s', '192.0.2.0/24', '-p', 'tcp', '--dport', '80', '-j', 'ACCEPT'],
      ['-s', '192.0.2.0/24', '-p', 'tcp', '--dport', '443', '-j', 'ACCEPT'],
      ['-j', 'KNOCKTAIL'],
    ]);
    expect(v6.filter((spec) => spec[0] === '-s')).toEqual([
      ['-s', '2001:db8:9::/48', '-p', 'tcp', '--dport', '80', '-j', 'ACCEPT'],
      ['-s', '2001:db8:9::/48', '-p', 'tcp', '--dport', '443', '-j', 'ACCEPT'],
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
    expect(v6).toContainEqual([
      '-p',
      'ipv6-icmp',
      '--icmpv6-type',
      'echo-request',
      ...limit4.slice(0, -1),
      'knocktail6',
      ...log,
    ]);
    expect(v6).toContainEqual(['-p', 'udp', '--dport', '40000:40100', ...NEW, '-j', 'DROP']);
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

  test('a fresh setup is one transaction that creates both chains, fills the guard and inserts the jump', () => {
    const text = buildGuardRestore([sshDoor], 4, options, EMPTY_GUARD_STATE);
    const lines = text.trimEnd().split('\n');
    expect(lines.slice(0, 3)).toEqual(['*filter', ':KNOCKTAIL - [0:0]', ':KNOCKTAIL-GUARD - [0:0]']);
    expect(lines).toContain(
      '-A KNOCKTAIL-GUARD -p tcp --dport 7000 -m conntrack --ctstate NEW -m hashlimit --hashlimit-upto 20/second --hashlimit-mode srcip --hashlimit-name knocktail4 -j LOG --log-prefix "knocktail: "',
    );
    expect(lines.slice(-2)).toEqual(['-I INPUT 1 -j KNOCKTAIL-GUARD', 'COMMIT']);
    expect(lines.filter((line) => line === 'COMMIT')).toHaveLength(1);
  });

  test('a re-setup replaces the guard in the same COMMIT, keeps the grant chain and does not jump twice', () => {
    const text = buildGuardRestore([sshDoor], 6, options, {
      grantChain: true,
      guardChain: true,
      jumps: 1,
      inputRules: 4,
    });
    expect(text).not.toContain(':KNOCKTAIL - ');
    expect(text).toContain(':KNOCKTAIL-GUARD - [0:0]');
    expect(text).not.toContain('-I INPUT');
    expect(text.trimEnd().split('\n').at(-1)).toBe('COMMIT');
  });

  test("ipset's match-set rules replace the grant chain in the same transaction", () => {
    const text = buildGuardRestore(
      [sshDoor],
      4,
      options,
      { grantChain: true, guardChain: false, jumps: 0, inputRules: 0 },
      [['-m', 'set', '--match-set', 'knocktail-ssh-v4', 'src', '-j', 'ACCEPT']],
    );
    expect(text).toContain(
      ':KNOCKTAIL - [0:0]\n:KNOCKTAIL-GUARD - [0:0]\n-A KNOCKTAIL -m set --match-set knocktail-ssh-v4 src -j ACCEPT\n',
    );
  });

  test('teardown is one transaction that removes every jump before the chains and skips absent pieces', () => {
    expect(buildGuardTeardownRestore({ grantChain: true, guardChain: true, jumps: 2, inputRules: 3 })).toBe(
      '*filter\n-D INPUT -j KNOCKTAIL-GUARD\n-D INPUT -j KNOCKTAIL-GUARD\n-F KNOCKTAIL-GUARD\n-X KNOCKTAIL-GUARD\n-F KNOCKTAIL\n-X KNOCKTAIL\nCOMMIT\n',
    );
    expect(buildGuardTeardownRestore({ grantChain: true, guardChain: false, jumps: 0, inputRules: 0 })).toBe(
      '*filter\n-F KNOCKTAIL\n-X KNOCKTAIL\nCOMMIT\n',
    );
  });
});

describe('the refusal and the tripwires', () => {
  const tripwires = [
    { proto: 'tcp' as const, from: 31598, to: 31598 },
    { proto: 'tcp' as const, from: 31599, to: 31599 },
    { proto: 'udp' as const, from: 8002, to: 8002 },
  ];

  test('"reject" answers tcp with a reset and udp with port unreachable in each family, knock and protected ports alike', () => {
    const v4 = buildGuardRuleSpecs([sshDoor], 4, { ...options, refusal: 'reject' });
    expect(v4.slice(-4)).toEqual([
      ['-p', 'tcp', '--dport', '7000', ...NEW, '-j', 'REJECT', '--reject-with', 'tcp-reset'],
      ['-p', 'udp', '--dport', '8000', ...NEW, '-j', 'REJECT', '--reject-with', 'icmp-port-unreachable'],
      ['-p', 'tcp', '--dport', '9001', ...NEW, '-j', 'REJECT', '--reject-with', 'tcp-reset'],
      ['-p', 'tcp', '--dport', '22', '-j', 'REJECT', '--reject-with', 'tcp-reset'],
    ]);
    const v6 = buildGuardRuleSpecs([sshDoor], 6, { ...options, refusal: 'reject' });
    expect(v6).toContainEqual([
      '-p',
      'udp',
      '--dport',
      '8000',
      ...NEW,
      '-j',
      'REJECT',
      '--reject-with',
      'icmp6-port-unreachable',
    ]);
    expect(v6.filter((spec) => spec.includes('DROP'))).toEqual([]);
  });

  test('"drop" (the default) refuses silently', () => {
    expect(buildRefusalTarget('udp', 6, 'drop')).toEqual(['-j', 'DROP']);
    expect(buildGuardRuleSpecs([sshDoor], 4, options).at(-1)).toEqual(['-p', 'tcp', '--dport', '22', '-j', 'DROP']);
  });

  test('tripwires are logged once per source per minute after the knock ports, then refused like knock ports, NEW only', () => {
    const specs = buildGuardRuleSpecs([sshDoor], 4, { ...options, refusal: 'reject', tripwires });
    const once = [
      ...[
        '-m',
        'hashlimit',
        '--hashlimit-upto',
        '1/minute',
        '--hashlimit-burst',
        '1',
        '--hashlimit-mode',
        'srcip',
        '--hashlimit-name',
        'knocktailtw4',
      ],
      ...['--hashlimit-htable-size', '16384', '--hashlimit-htable-max', '65536', '--hashlimit-htable-expire', '60000'],
    ];
    const logTcp = ['-p', 'tcp', '-m', 'multiport', '--dports', '31598,31599', ...NEW, ...once, ...log];
    const logUdp = ['-p', 'udp', '-m', 'multiport', '--dports', '8002', ...NEW, ...once, ...log];
    expect(specs.indexOf(specs.find((spec) => spec.join(' ') === logTcp.join(' '))!)).toBe(5);
    expect(specs[6]).toEqual(logUdp);
    expect(specs).toContainEqual([
      '-p',
      'tcp',
      '-m',
      'multiport',
      '--dports',
      '31598,31599',
      ...NEW,
      '-j',
      'REJECT',
      '--reject-with',
      'tcp-reset',
    ]);
    expect(specs).toContainEqual([
      '-p',
      'udp',
      '-m',
      'multiport',
      '--dports',
      '8002',
      ...NEW,
      '-j',
      'REJECT',
      '--reject-with',
      'icmp-port-unreachable',
    ]);
    // The protected port's refusal stays last.
    expect(specs.at(-1)).toEqual(['-p', 'tcp', '--dport', '22', '-j', 'REJECT', '--reject-with', 'tcp-reset']);
  });

  test('multiport rules hold at most 15 tripwires each', () => {
    const many = Array.from({ length: 40 }, (_, i) => ({ proto: 'tcp' as const, from: 20000 + i, to: 20000 + i }));
    const logs = buildGuardRuleSpecs([sshDoor], 4, { ...options, tripwires: many }).filter((spec) =>
      spec.includes('knocktailtw4'),
    );
    expect(logs.map((spec) => spec[spec.indexOf('--dports') + 1]!.split(',').length)).toEqual([15, 15, 10]);
  });
});

describe('the jump position', () => {
  const auto = { ...options, inputPosition: 'auto' as const };
  const jumpOf = (restore: string): string[] => restore.split('\n').filter((line) => line.includes('INPUT'));

  test('"auto" puts a new jump right after the last ban rule, or first when there is none', () => {
    expect(jumpOf(buildGuardRestore([sshDoor], 4, auto, { ...EMPTY_GUARD_STATE, inputRules: 5, banRule: 2 }))).toEqual([
      '-I INPUT 3 -j KNOCKTAIL-GUARD',
    ]);
    expect(jumpOf(buildGuardRestore([sshDoor], 4, auto, { ...EMPTY_GUARD_STATE, inputRules: 5, banRule: 0 }))).toEqual([
      '-I INPUT 1 -j KNOCKTAIL-GUARD',
    ]);
  });

  test('"auto" moves a jump that sits ahead of a ban rule behind it in the same transaction, and leaves one behind it alone', () => {
    const ahead = {
      ...EMPTY_GUARD_STATE,
      guardChain: true,
      grantChain: true,
      jumps: 1,
      jumpAt: 1,
      inputRules: 4,
      banRule: 3,
    };
    expect(jumpOf(buildGuardRestore([sshDoor], 4, auto, ahead))).toEqual([
      '-D INPUT -j KNOCKTAIL-GUARD',
      '-I INPUT 3 -j KNOCKTAIL-GUARD',
    ]);
    expect(jumpOf(buildGuardRestore([sshDoor], 4, auto, { ...ahead, jumpAt: 4 }))).toEqual([]);
  });

  test('a number still wins over the ban rules', () => {
    expect(
      jumpOf(
        buildGuardRestore(
          [sshDoor],
          4,
          { ...options, inputPosition: 1 },
          { ...EMPTY_GUARD_STATE, inputRules: 5, banRule: 2 },
        ),
      ),
    ).toEqual(['-I INPUT 1 -j KNOCKTAIL-GUARD']);
    const ahead = {
      ...EMPTY_GUARD_STATE,
      guardChain: true,
      grantChain: true,
      jumps: 1,
      jumpAt: 1,
      inputRules: 4,
      banRule: 3,
    };
    expect(jumpOf(buildGuardRestore([sshDoor], 4, { ...options, inputPosition: 1 }, ahead))).toEqual([]);
  });
});

describe('the periodic repair of the jump', () => {
  const auto = { ...options, inputPosition: 'auto' as const };
  const held = { grantChain: true, guardChain: true, jumps: 1, jumpAt: 1, inputRules: 3, banRule: 2 };

  test('a jump that a ban rule added later now follows is moved behind it', () => {
    expect(buildJumpRepairRestore(auto, held)).toBe(
      '*filter\n-D INPUT -j KNOCKTAIL-GUARD\n-I INPUT 2 -j KNOCKTAIL-GUARD\nCOMMIT\n',
    );
  });

  test('a jump already behind every ban rule, or a numbered position, is left alone', () => {
    expect(buildJumpRepairRestore(auto, { ...held, jumpAt: 3 })).toBeUndefined();
    expect(buildJumpRepairRestore({ ...options, inputPosition: 1 }, held)).toBeUndefined();
  });

  test('a missing jump goes back in while the guard chain exists, never without it', () => {
    expect(buildJumpRepairRestore(auto, { ...held, jumps: 0, jumpAt: 0 })).toBe(
      '*filter\n-I INPUT 3 -j KNOCKTAIL-GUARD\nCOMMIT\n',
    );
    expect(buildJumpRepairRestore(auto, { ...held, guardChain: false, jumps: 0, jumpAt: 0 })).toBeUndefined();
  });
});
