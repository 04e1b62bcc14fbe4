import { describe, expect, test } from '@jest/globals';
import { KnocktailError } from '../../src/model/errors.js';
import { RecordingRunner } from '../support/recording-runner.js';
import { formatDatestop } from '../../src/firewall/iptables-args.js';
import { FakeIptables } from './fake-iptables.js';
import { selectBackend } from '../../src/firewall/select-backend.js';
import { backendWith } from '../support/helpers.js';
import { firewallConfig, grantFor } from './fixtures.js';

const DATESTOP = ['-m', 'time', '--datestop', '1970-01-01T01:16:39'];
const RULE = (until: string, port = '22', proto = 'tcp') =>
  `-s 198.51.100.2 -p ${proto} --dport ${port}${until === 'never' ? '' : ` ${DATESTOP.join(' ')}`} -m comment --comment "knocktail door=ssh until=${until}" -j ACCEPT`;

const restores = (fake: FakeIptables) => fake.commands.filter((call) => call.argv[0]!.endsWith('-restore'));

describe('the iptables backend', () => {
  test('opening a grant lists the chain once, then appends its rule, with the kernel-side expiry, in one transaction', async () => {
    const fake = new FakeIptables();
    await backendWith('iptables', fake).open(grantFor('198.51.100.2'));
    expect(fake.commands.map((call) => call.argv.join(' '))).toEqual([
      'iptables -w -S KNOCKTAIL',
      'iptables-restore -w --noflush',
    ]);
    expect(restores(fake)[0]!.input).toBe(`*filter\n-A KNOCKTAIL ${RULE('4600000')}\nCOMMIT\n`);
    expect(fake.chains['4']).toEqual([RULE('4600000')]);
  });

  test('an IPv6 source goes to ip6tables-restore', async () => {
    const fake = new FakeIptables();
    await backendWith('iptables', fake).open(grantFor('2001:db8::7'));
    expect(restores(fake)[0]!.argv[0]).toBe('ip6tables-restore');
    expect(fake.chains['6'][0]).toMatch(/^-s 2001:db8::7 -p tcp --dport 22 -m time --datestop /);
  });

  test('an until-closed grant carries no expiry for the kernel', async () => {
    const fake = new FakeIptables();
    await backendWith('iptables', fake).open(grantFor('198.51.100.2', { until: null }));
    expect(fake.chains['4']).toEqual([RULE('never')]);
  });

  test('refreshing with the same expiry changes nothing', async () => {
    const fake = new FakeIptables();
    const backend = backendWith('iptables', fake);
    await backend.open(grantFor('198.51.100.2'));
    await backend.open(grantFor('198.51.100.2'));
    expect(restores(fake)).toHaveLength(1);
    expect(fake.chains['4']).toHaveLength(1);
  });

  test('refreshing with a new expiry adds the new rule and deletes the old one in the same COMMIT', async () => {
    const fake = new FakeIptables();
    const backend = backendWith('iptables', fake);
    await backend.open(grantFor('198.51.100.2'));
    await backend.open(grantFor('198.51.100.2', { until: 9_000_000 }));
    expect(restores(fake)[1]!.input).toBe(
      `*filter\n-A KNOCKTAIL ${RULE('9000000').replace('01:16:39', '02:29:59')}\n-D KNOCKTAIL ${RULE('4600000')}\nCOMMIT\n`,
    );
    expect(fake.chains['4']).toEqual([RULE('9000000').replace('01:16:39', '02:29:59')]);
  });

  test('a second backend (a second offline grant) replaces the rule the chain already holds instead of adding one', async () => {
    const fake = new FakeIptables();
    await backendWith('iptables', fake).open(grantFor('198.51.100.2'));
    await backendWith('iptables', fake).open(grantFor('198.51.100.2', { until: 9_000_000 }));
    expect(fake.chains['4']).toHaveLength(1);
    expect(fake.chains['4'][0]).toContain('until=9000000');
  });

  test('duplicates and older expiries of the same door and source found in the chain are removed by the next refresh', async () => {
    const fake = new FakeIptables();
    fake.chains['4'].push(
      RULE('4600000'),
      RULE('4600000'),
      '-s 198.51.100.2 -p tcp --dport 22 -m comment --comment "knocktail door=ssh until=3000000" -j ACCEPT',
    );
    fake.chains['4'].push('-s 198.51.100.9 -p tcp --dport 22 -j ACCEPT');
    await backendWith('iptables', fake).open(grantFor('198.51.100.2'));
    expect(fake.chains['4']).toEqual([RULE('4600000'), '-s 198.51.100.9 -p tcp --dport 22 -j ACCEPT']);
  });

  test('a rule written without the kernel-side expiry (an older knocktail) is replaced by one with it', async () => {
    const fake = new FakeIptables();
    fake.chains['4'].push(
      '-s 198.51.100.2 -p tcp --dport 22 -m comment --comment "knocktail door=ssh until=4600000" -j ACCEPT',
    );
    await backendWith('iptables', fake).open(grantFor('198.51.100.2'));
    expect(fake.chains['4']).toEqual([RULE('4600000')]);
  });

  test('closing a grant that is absent only lists, and is no error', async () => {
    const fake = new FakeIptables();
    await expect(backendWith('iptables', fake).close(grantFor('198.51.100.2'))).resolves.toBeUndefined();
    expect(fake.commands.map((call) => call.argv.join(' '))).toEqual(['iptables -w -S KNOCKTAIL']);
  });

  test('closing deletes every port rule of a grant by its exact spec, in one transaction', async () => {
    const fake = new FakeIptables();
    const backend = backendWith('iptables', fake);
    const grant = grantFor('198.51.100.2', {
      ports: [
        { proto: 'tcp', port: 22 },
        { proto: 'udp', port: 60001 },
      ],
      until: null,
    });
    await backend.open(grant);
    await backend.close(grant);
    expect(restores(fake)[1]!.input).toBe(
      `*filter\n-D KNOCKTAIL ${RULE('never')}\n-D KNOCKTAIL ${RULE('never', '60001', 'udp')}\nCOMMIT\n`,
    );
    expect(fake.chains['4']).toEqual([]);
  });

  test('an opened grant whose expiry has passed is closed instead', async () => {
    const fake = new FakeIptables();
    fake.chains['4'].push(RULE('4600000'));
    await backendWith('iptables', fake).open(grantFor('198.51.100.2', { until: 999_000 }));
    expect(fake.chains['4']).toEqual([]);
  });

  test('when the chain changed behind its back, the backend lists it again and retries', async () => {
    const fake = new FakeIptables();
    const backend = backendWith('iptables', fake);
    await backend.open(grantFor('198.51.100.2'));
    fake.chains['4'].length = 0; // an admin deleted the rule
    await backend.open(grantFor('198.51.100.2', { until: 9_000_000 }));
    expect(fake.chains['4']).toHaveLength(1);
    expect(fake.commands.filter((call) => call.argv[2] === '-S')).toHaveLength(2);
  });

  test('with sessions, changes go to one long-lived iptables-restore -v per family, acknowledged by an echoed comment', async () => {
    const fake = new FakeIptables();
    const backend = backendWith('iptables', fake, { sessions: true });
    await backend.open(grantFor('198.51.100.2'));
    await backend.open(grantFor('198.51.100.2', { until: 9_000_000 }));
    await backend.open(grantFor('2001:db8::7'));
    expect(fake.sessions.map((session) => session.argv.join(' '))).toEqual([
      'iptables-restore -w --noflush -v',
      'ip6tables-restore -w --noflush -v',
    ]);
    expect(fake.sessions[0]!.written).toHaveLength(2);
    expect(fake.sessions[0]!.written[0]).toMatch(/^\*filter\n-A KNOCKTAIL .*\nCOMMIT\n# knocktail-sync-1\n$/);
    expect(restores(fake)).toEqual([]);
    expect(fake.chains['4']).toHaveLength(1);
    await backend.stop?.();
  });

  test('a failing session transaction is retried through a new process, then as a one-shot command', async () => {
    const fake = new FakeIptables();
    const backend = backendWith('iptables', fake, { sessions: true });
    fake.failNext = 2;
    await backend.open(grantFor('198.51.100.2'));
    expect(fake.sessions).toHaveLength(2);
    expect(restores(fake)).toHaveLength(1);
    expect(fake.chains['4']).toEqual([RULE('4600000')]);
  });

  test('a one-shot transaction still failing after the retries is a FIREWALL_COMMAND error with argv, exit code and stderr', async () => {
    const sleeps: number[] = [];
    const fake = new FakeIptables();
    fake.failNext = 100;
    const failure = backendWith('iptables', fake, { sleeps }).open(grantFor('198.51.100.2'));
    await expect(failure).rejects.toBeInstanceOf(KnocktailError);
    await expect(failure).rejects.toMatchObject({ code: 'FIREWALL_COMMAND' });
    await expect(failure).rejects.toThrow(
      /iptables-restore -w --noflush` to exit with 0, got exit 1 after 3 attempt\(s\): iptables-restore: line 2 failed/,
    );
    expect(sleeps).toEqual([100, 200]);
  });
});

describe('grant checks', () => {
  test('a source that is not a normalised address never reaches a command', async () => {
    const runner = new RecordingRunner();
    const backends = (['iptables', 'ipset', 'nftables'] as const).map((name) =>
      selectBackend(firewallConfig(name), { runner, now: () => 0 }),
    );
    for (const backend of backends) {
      await expect(
        backend.open(grantFor('198.51.100.2', { src: '198.51.100.2 }\nflush ruleset' })),
      ).rejects.toMatchObject({ code: 'FIREWALL_COMMAND' });
      await expect(backend.open(grantFor('2001:DB8::1'))).rejects.toMatchObject({ code: 'FIREWALL_COMMAND' });
    }
    expect(runner.calls).toEqual([]);
  });
});

describe('the kernel-side expiry of a grant rule', () => {
  test('is the last whole second that starts before the expiry, in UTC', () => {
    expect(formatDatestop(Date.parse('2026-12-01T09:00:00.000Z'))).toBe('2026-12-01T08:59:59');
    expect(formatDatestop(Date.parse('2026-12-01T09:00:00.400Z'))).toBe('2026-12-01T09:00:00');
  });

  test('is capped at what xt_time can hold', () => {
    expect(formatDatestop(Date.parse('2100-01-01T00:00:00Z'))).toBe('2038-01-19T03:14:07');
  });
});
