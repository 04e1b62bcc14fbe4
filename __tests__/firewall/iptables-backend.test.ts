import { describe, expect, test } from '@jest/globals';
import { KnocktailError } from '../../src/errors.js';
import { RecordingRunner } from '../../src/firewall/recording-runner.js';
import { selectBackend } from '../../src/firewall/select-backend.js';
import { firewallConfig, grantFor } from './fixtures.js';

const RULE = ['-s', '198.51.100.2', '-p', 'tcp', '--dport', '22', '-m', 'comment', '--comment'];

function backendWith(runner: RecordingRunner, sleeps: number[] = []) {
  return selectBackend(firewallConfig('iptables'), { runner, now: () => 1_000_000, sleep: async (ms) => void sleeps.push(ms) });
}

// A runner whose firewall holds exactly the rules added and not yet deleted, answering -C truthfully.
function statefulRunner(): RecordingRunner {
  const rules = new Set<string>();
  const spec = (argv: readonly string[]) => argv.slice(3).join(' ');
  return new RecordingRunner().on(
    () => true,
    (argv) => {
      const op = argv[2];
      if (op === '-C') return { exitCode: rules.has(spec(argv)) ? 0 : 1 };
      if (op === '-A') rules.add(spec(argv));
      if (op === '-D') return { exitCode: rules.delete(spec(argv)) ? 0 : 1 };
      return { exitCode: 0 };
    },
  );
}

describe('the iptables backend', () => {
  test('opening a grant checks for the rule and then appends it to KNOCKTAIL', async () => {
    const runner = new RecordingRunner().on(['iptables', '-w', '-C'], { exitCode: 1 });
    await backendWith(runner).open(grantFor('198.51.100.2'));
    expect(runner.calls.map((c) => c.argv)).toEqual([
      ['iptables', '-w', '-C', 'KNOCKTAIL', ...RULE, 'knocktail door=ssh until=4600000', '-j', 'ACCEPT'],
      ['iptables', '-w', '-A', 'KNOCKTAIL', ...RULE, 'knocktail door=ssh until=4600000', '-j', 'ACCEPT'],
    ]);
  });

  test('an IPv6 source goes to ip6tables', async () => {
    const runner = new RecordingRunner().on(['ip6tables', '-w', '-C'], { exitCode: 1 });
    await backendWith(runner).open(grantFor('2001:db8::7'));
    expect(runner.lines()[1]).toMatch(/^ip6tables -w -A KNOCKTAIL -s 2001:db8::7 -p tcp --dport 22 /);
  });

  test('refreshing with the same expiry never adds a second rule', async () => {
    const runner = statefulRunner();
    const backend = backendWith(runner);
    await backend.open(grantFor('198.51.100.2'));
    await backend.open(grantFor('198.51.100.2'));
    expect(runner.lines().filter((line) => line.includes(' -A '))).toHaveLength(1);
  });

  test('refreshing with a new expiry adds the new rule before deleting the old one', async () => {
    const runner = statefulRunner();
    const backend = backendWith(runner);
    await backend.open(grantFor('198.51.100.2'));
    runner.clear();
    await backend.open(grantFor('198.51.100.2', { until: 9_000_000 }));
    const changes = runner.lines().filter((line) => / -[AD] /.test(line));
    expect(changes).toEqual([
      'iptables -w -A KNOCKTAIL -s 198.51.100.2 -p tcp --dport 22 -m comment --comment knocktail door=ssh until=9000000 -j ACCEPT',
      'iptables -w -D KNOCKTAIL -s 198.51.100.2 -p tcp --dport 22 -m comment --comment knocktail door=ssh until=4600000 -j ACCEPT',
    ]);
  });

  test('closing a grant that is absent only asks, and is no error', async () => {
    const runner = new RecordingRunner().on(['iptables', '-w', '-C'], { exitCode: 1 });
    await expect(backendWith(runner).close(grantFor('198.51.100.2'))).resolves.toBeUndefined();
    expect(runner.lines()).toHaveLength(1);
    expect(runner.lines()[0]).toContain(' -C KNOCKTAIL ');
  });

  test('closing deletes each port rule of a grant by its exact spec', async () => {
    const runner = statefulRunner();
    const backend = backendWith(runner);
    const grant = grantFor('198.51.100.2', { ports: [{ proto: 'tcp', port: 22 }, { proto: 'udp', port: 60001 }], until: null });
    await backend.open(grant);
    runner.clear();
    await backend.close(grant);
    expect(runner.lines().filter((line) => line.includes(' -D '))).toEqual([
      'iptables -w -D KNOCKTAIL -s 198.51.100.2 -p tcp --dport 22 -m comment --comment knocktail door=ssh until=never -j ACCEPT',
      'iptables -w -D KNOCKTAIL -s 198.51.100.2 -p udp --dport 60001 -m comment --comment knocktail door=ssh until=never -j ACCEPT',
    ]);
  });

  test('a failing command is retried with backoff and then applied', async () => {
    const sleeps: number[] = [];
    const runner = new RecordingRunner()
      .on(['iptables', '-w', '-C'], { exitCode: 4, stderr: 'Another app is currently holding the xtables lock' }, 2)
      .on(['iptables', '-w', '-C'], { exitCode: 1 });
    await backendWith(runner, sleeps).open(grantFor('198.51.100.2'));
    expect(sleeps).toEqual([100, 200]);
    expect(runner.lines().map((line) => line.split(' ')[2])).toEqual(['-C', '-C', '-C', '-A']);
  });

  test('a command still failing after the retries is a FIREWALL_COMMAND error with argv, exit code and stderr', async () => {
    const runner = new RecordingRunner().on(['iptables'], { exitCode: 4, stderr: 'resource busy' });
    const failure = backendWith(runner).open(grantFor('198.51.100.2'));
    await expect(failure).rejects.toBeInstanceOf(KnocktailError);
    await expect(failure).rejects.toMatchObject({ code: 'FIREWALL_COMMAND' });
    await expect(failure).rejects.toThrow(/iptables -w -C KNOCKTAIL -s 198\.51\.100\.2 .*exit 4 after 3 attempt\(s\): resource busy/);
    expect(runner.calls).toHaveLength(3);
  });
});

describe('grant checks', () => {
  test('a source that is not a normalised address never reaches a command', async () => {
    const runner = new RecordingRunner();
    const backends = (['iptables', 'ipset', 'nftables'] as const).map((name) => selectBackend(firewallConfig(name), { runner, now: () => 0 }));
    for (const backend of backends) {
      await expect(backend.open(grantFor('198.51.100.2', { src: '198.51.100.2 }\nflush ruleset' }))).rejects.toMatchObject({ code: 'FIREWALL_COMMAND' });
      await expect(backend.open(grantFor('2001:DB8::1'))).rejects.toMatchObject({ code: 'FIREWALL_COMMAND' });
    }
    expect(runner.calls).toEqual([]);
  });
});
