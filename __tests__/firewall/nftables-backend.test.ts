import { describe, expect, test } from '@jest/globals';
import { parseCidr } from '../../src/model/address.js';
import { buildNftSetupStatements, nftRefusal } from '../../src/firewall/nft-args.js';
import { CommandExecutor } from '../../src/firewall/command-executor.js';
import { NftablesBackend } from '../../src/firewall/nftables-backend.js';
import type { LineSession } from '../../src/firewall/line-session.js';
import { RecordingRunner } from '../support/recording-runner.js';
import { selectBackend } from '../../src/firewall/select-backend.js';
import { backendWith } from '../support/helpers.js';
import { firewallConfig, grantFor, pingDoor, sshDoor } from './fixtures.js';

describe('the nftables backend', () => {
  test('opening is one atomic batch that replaces the element with its new timeout', async () => {
    const runner = new RecordingRunner();
    await backendWith('nftables', runner).open(grantFor('198.51.100.2'));
    expect(runner.calls).toEqual([
      {
        argv: ['nft', '-f', '-'],
        input:
          'add element inet knocktail door-ssh-v4 { 198.51.100.2 }\n' +
          'delete element inet knocktail door-ssh-v4 { 198.51.100.2 }\n' +
          'add element inet knocktail door-ssh-v4 { 198.51.100.2 timeout 3600000ms }\n',
      },
    ]);
  });

  test('an until-closed grant is an element without a timeout', async () => {
    const runner = new RecordingRunner();
    await backendWith('nftables', runner).open(grantFor('2001:db8::7', { until: null }));
    expect(runner.calls[0]!.input).toContain('add element inet knocktail door-ssh-v6 { 2001:db8::7 }\n');
    expect(runner.calls[0]!.input).not.toContain('timeout');
  });

  test('closing an absent element succeeds, and a missing table counts as absent', async () => {
    const runner = new RecordingRunner().on(['nft'], {
      exitCode: 1,
      stderr: 'Error: No such file or directory; did you mean table ‘knocktail’?',
    });
    await expect(backendWith('nftables', runner).close(grantFor('198.51.100.2'))).resolves.toBeUndefined();
    expect(runner.calls[0]!.input).toBe(
      'add element inet knocktail door-ssh-v4 { 198.51.100.2 }\ndelete element inet knocktail door-ssh-v4 { 198.51.100.2 }\n',
    );
  });

  test('setup replaces the guard chain atomically, with per-source rate-limited LOG lines', async () => {
    const runner = new RecordingRunner();
    await backendWith('nftables', runner).setup([sshDoor, pingDoor]);
    const script = runner.calls[0]!.input!.split('\n');
    expect(runner.calls).toHaveLength(1);
    expect(script).toContain('flush chain inet knocktail guard');
    expect(script).toContain(
      'add rule inet knocktail guard tcp dport { 22, 80, 443 } ct state established,related accept',
    );
    expect(script).toContain(
      'add rule inet knocktail guard meta nfproto ipv4 udp dport { 8000, 7200, 40000-40100 } ct state new update @knocklog-v4 { ip saddr limit rate 20/second } log prefix "knocktail: "',
    );
    expect(script).toContain(
      'add rule inet knocktail guard icmpv6 type echo-request update @knocklog-v6 { ip6 saddr limit rate 20/second } log prefix "knocktail: "',
    );
    expect(script).toContain(
      'add rule inet knocktail grants ip6 saddr @door-web-v6 tcp dport 443 accept comment "knocktail door=web"',
    );
    // With no host facts, "auto" refuses like a bare host's kernel: a reset for tcp.
    expect(script.indexOf('add rule inet knocktail guard tcp dport { 22, 80, 443 } reject with tcp reset')).toBe(
      script.length - 2,
    );
  });

  test("the guard drops only new flows to knock ports, so replies to the host's own connections pass", () => {
    const statements = buildNftSetupStatements([sshDoor, pingDoor], {
      logPrefix: 'knocktail: ',
      logRateLimit: '20/second',
    });
    const drops = statements.filter(
      (line) => line.startsWith('add rule inet knocktail guard') && line.endsWith(' drop'),
    );
    expect(drops).toEqual([
      'add rule inet knocktail guard tcp dport { 7000, 9001, 7100 } ct state new drop',
      'add rule inet knocktail guard udp dport { 8000, 7200, 40000-40100 } ct state new drop',
      'add rule inet knocktail guard tcp dport { 22, 80, 443 } drop',
    ]);
  });

  test('alwaysAllow sources pass on the protected ports right after the established accept, per family', () => {
    const alwaysAllow = [parseCidr('192.0.2.0/24')!, parseCidr('198.51.100.7')!, parseCidr('2001:db8:9::/48')!];
    const rules = buildNftSetupStatements([sshDoor], {
      logPrefix: 'knocktail: ',
      logRateLimit: '20/second',
      alwaysAllow,
    }).filter((line) => line.startsWith('add rule inet knocktail guard'));
    expect(rules.slice(0, 4)).toEqual([
      'add rule inet knocktail guard tcp dport { 22 } ct state established,related accept',
      'add rule inet knocktail guard ip saddr { 192.0.2.0/24, 198.51.100.7/32 } tcp dport { 22 } accept comment "knocktail alwaysAllow"',
      'add rule inet knocktail guard ip6 saddr { 2001:db8:9::/48 } tcp dport { 22 } accept comment "knocktail alwaysAllow"',
      'add rule inet knocktail guard jump grants',
    ]);
  });

  test('teardown deletes only the knocktail table, and succeeds when it is already gone', () => {
    expect(backendWith('nftables', new RecordingRunner()).describeSetup([]).at(0)).toEqual([
      'nft',
      'add table inet knocktail',
    ]);
  });
});

describe('the nftables backend with a session', () => {
  test('a change the session could not apply is repeated through nft -f -', async () => {
    const runner = new RecordingRunner();
    const failing = {
      run: async () => ({ exitCode: 255, stdout: '', stderr: 'nft -i exited' }),
      stop: () => undefined,
    };
    const exec = new CommandExecutor(runner, { retries: 0, sleep: async () => undefined });
    const backend = new NftablesBackend(
      exec,
      { logPrefix: 'knocktail: ', logRateLimit: '20/second' },
      () => 0,
      failing as unknown as LineSession,
    );
    await backend.open(grantFor('198.51.100.2', { until: null }));
    expect(runner.lines()).toEqual(['nft -f -']);
  });

  test('the door sets are sized by limits.maxGrants', () => {
    const backend = selectBackend(
      { ...firewallConfig('nftables'), setSize: 1000 },
      { runner: new RecordingRunner(), now: () => 0 },
    );
    const lines = backend.describeSetup([sshDoor]).map((argv) => argv.join(' '));
    expect(lines).toContain('nft add set inet knocktail door-ssh-v4 { type ipv4_addr; flags timeout; size 1000; }');
    expect(lines).toContain('nft add set inet knocktail door-ssh-v6 { type ipv6_addr; flags timeout; size 1000; }');
  });

  test('listing grants reads the set names, then only the door sets (never the LOG limiter sets); ports come from the doors set up', async () => {
    const terse = JSON.stringify({
      nftables: [
        { set: { name: 'door-ssh-v4', table: 'knocktail' } },
        { set: { name: 'knocklog-v6', table: 'knocktail' } },
        { set: { name: 'door-x-v4', table: 'other' } },
      ],
    });
    const door = JSON.stringify({
      nftables: [
        { set: { name: 'door-ssh-v4', table: 'knocktail', elem: [{ elem: { val: '198.51.100.2', expires: 60 } }] } },
      ],
    });
    const runner = new RecordingRunner()
      .on(['nft', '-j', '-t', 'list', 'sets'], { stdout: terse })
      .on(['nft', '-j', 'list', 'set', 'inet', 'knocktail', 'door-ssh-v4'], { stdout: door });
    const backend = backendWith('nftables', runner);
    await backend.setup([sshDoor]);
    runner.calls.length = 0;
    const grants = await backend.list();
    expect(runner.lines()).toEqual(['nft -j -t list sets inet', 'nft -j list set inet knocktail door-ssh-v4']);
    expect(grants).toEqual([
      expect.objectContaining({
        door: 'ssh',
        src: '198.51.100.2',
        until: 1_000_000 + 60_000,
        ports: [{ proto: 'tcp', port: 22 }],
      }),
    ]);
  });
});

describe('the nftables refusal and tripwires', () => {
  const base = { logPrefix: 'knocktail: ', logRateLimit: '20/second' };
  const tripwires = [
    { proto: 'tcp' as const, from: 7001, to: 7001 },
    { proto: 'udp' as const, from: 8001, to: 8001 },
  ];

  test('"reject" sends a tcp reset for tcp and icmpx port unreachable for udp; "drop" (the default) drops', () => {
    const reject = buildNftSetupStatements([sshDoor], { ...base, refusal: 'reject' });
    expect(reject.slice(-3)).toEqual([
      'add rule inet knocktail guard tcp dport { 7000, 9001 } ct state new reject with tcp reset',
      'add rule inet knocktail guard udp dport { 8000 } ct state new reject with icmpx type port-unreachable',
      'add rule inet knocktail guard tcp dport { 22 } reject with tcp reset',
    ]);
    expect(buildNftSetupStatements([sshDoor], base).at(-1)).toBe('add rule inet knocktail guard tcp dport { 22 } drop');
    expect(nftRefusal('udp', 'drop')).toBe('drop');
  });

  test('tripwires get a bounded dynamic set per family, one LOG line per source per minute, and the refusal of knock ports', () => {
    const statements = buildNftSetupStatements([sshDoor], { ...base, refusal: 'reject', tripwires });
    expect(statements).toContain(
      'add set inet knocktail tripwire-v6 { type ipv6_addr; flags dynamic,timeout; timeout 1m; size 65536; }',
    );
    expect(statements).toContain(
      'add rule inet knocktail guard meta nfproto ipv4 tcp dport { 7001 } ct state new update @tripwire-v4 { ip saddr limit rate 1/minute burst 1 packets } log prefix "knocktail: "',
    );
    expect(statements).toContain(
      'add rule inet knocktail guard meta nfproto ipv6 udp dport { 8001 } ct state new update @tripwire-v6 { ip6 saddr limit rate 1/minute burst 1 packets } log prefix "knocktail: "',
    );
    const knockRefusal = statements.indexOf(
      'add rule inet knocktail guard tcp dport { 7000, 9001 } ct state new reject with tcp reset',
    );
    expect(
      statements.indexOf('add rule inet knocktail guard tcp dport { 7001 } ct state new reject with tcp reset'),
    ).toBeGreaterThan(knockRefusal);
    expect(statements.at(-1)).toBe('add rule inet knocktail guard tcp dport { 22 } reject with tcp reset');
  });

  test('no tripwires, no tripwire sets', () => {
    expect(buildNftSetupStatements([sshDoor], base).some((line) => line.includes('tripwire'))).toBe(false);
  });
});
