import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RecordingRunner } from '../support/recording-runner.js';
import { selectBackend } from '../../src/firewall/select-backend.js';
import type { FirewallConfig } from '../../src/config/types.js';
import { makeDoor } from '../support/door.js';
import { firewallConfig, grantFor } from './fixtures.js';

// The backends with the DNAT probe on (`forward: true`), against scripted listings.
const here = dirname(fileURLToPath(import.meta.url));
const DOCKER_NAT = readFileSync(join(here, 'listings', 'docker-nat-v4.txt'), 'utf8');
const WEB = makeDoor({
  name: 'web',
  sequence: [{ proto: 'tcp', port: 7300 }],
  open: [{ proto: 'tcp', port: 8080 }],
  closeSequence: [],
});
const GRANT = grantFor('198.51.100.2', { door: 'web', ports: [{ proto: 'tcp', port: 8080 }], until: 4_600_000 });
const FILTER_WITH_DOCKER = '-P FORWARD DROP\n-N DOCKER-USER\n-A FORWARD -j DOCKER-USER\n-A DOCKER-USER -j RETURN\n';

function backendWith(runner: RecordingRunner, name: FirewallConfig['backend']) {
  return selectBackend(firewallConfig(name), {
    runner,
    now: () => 1_000_000,
    sleep: () => Promise.resolve(),
    sessions: false,
    forward: true,
  });
}

/** A host where Docker published tcp:8080; `first` answers ahead of the defaults (first match wins). */
function dockerHost(first?: (runner: RecordingRunner) => RecordingRunner): RecordingRunner {
  return (first ? first(new RecordingRunner()) : new RecordingRunner())
    .on(['iptables', '-w', '-t', 'nat', '-S'], { stdout: DOCKER_NAT })
    .on(['iptables', '-w', '-S'], (argv) => ({ stdout: argv.length === 3 ? FILTER_WITH_DOCKER : '' }))
    .on(['nft'], { exitCode: 1, stderr: 'no nft here' });
}

const inputsOf = (runner: RecordingRunner, bin: string) =>
  runner.calls.filter((call) => call.argv[0] === bin).map((call) => call.input ?? '');

describe('the iptables backend with the forward twin', () => {
  test('setup reads the nat table and puts KNOCKTAIL-FWD first in DOCKER-USER for the port Docker publishes', async () => {
    const runner = dockerHost();
    await backendWith(runner, 'iptables').setup([WEB]);
    expect(runner.lines()).toEqual(
      expect.arrayContaining([
        'iptables -w -t nat -S',
        'ip6tables -w -t nat -S',
        'nft -j list ruleset',
        'iptables -w -S',
      ]),
    );
    const forward = inputsOf(runner, 'iptables-restore').find((input) => input.includes('KNOCKTAIL-FWD'));
    // The INPUT guard's refusal (auto, nothing looked at: reject), rendered by the same helper.
    expect(forward).toContain(
      '-A KNOCKTAIL-FWD -p tcp -m conntrack --ctstate NEW -m conntrack --ctstate DNAT --ctorigdstport 8080 -j REJECT --reject-with tcp-reset',
    );
    expect(forward).toContain('-I DOCKER-USER 1 -j KNOCKTAIL-FWD');
    // Only IPv4 is published, but the twin guards both families: a port published later is guarded from its first packet.
    expect(inputsOf(runner, 'ip6tables-restore').find((input) => input.includes('KNOCKTAIL-FWD'))).toContain(
      '-I FORWARD 1 -j KNOCKTAIL-FWD',
    );
  });

  test('setup keeps the held grants: each gets its twin in the rebuilt chain', async () => {
    const runner = dockerHost((r) =>
      r.on(['iptables', '-w', '-S', 'KNOCKTAIL'], {
        stdout: `-N KNOCKTAIL\n-A KNOCKTAIL -s 198.51.100.2/32 -p tcp -m tcp --dport 8080 -m comment --comment "knocktail door=web until=never" -j ACCEPT\n`,
      }),
    );
    await backendWith(runner, 'iptables').setup([WEB]);
    const forward = inputsOf(runner, 'iptables-restore').find((input) => input.includes('KNOCKTAIL-FWD'));
    expect(forward).toContain(
      '-A KNOCKTAIL-FWD -s 198.51.100.2 -p tcp -m conntrack --ctorigdstport 8080 -m comment --comment "knocktail door=web until=never" -j RETURN',
    );
  });

  test('a grant opens and closes its INPUT rule and its forward twin in one COMMIT each', async () => {
    const twin =
      '-s 198.51.100.2/32 -p tcp -m conntrack --ctorigdstport 8080 -m time --datestop 1970-01-01T01:16:39 -m comment --comment "knocktail door=web until=4600000" -j RETURN';
    const runner = new RecordingRunner()
      .on(
        ['iptables', '-w', '-S', 'KNOCKTAIL-FWD'],
        { stdout: `-N KNOCKTAIL-FWD\n-A KNOCKTAIL-FWD -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN\n` },
        1,
      )
      .on(['iptables', '-w', '-S', 'KNOCKTAIL-FWD'], { stdout: `-N KNOCKTAIL-FWD\n-A KNOCKTAIL-FWD ${twin}\n` });
    const backend = backendWith(runner, 'iptables');
    await backend.open(GRANT);
    const [open] = inputsOf(runner, 'iptables-restore');
    expect(open).toMatch(
      /^\*filter\n-A KNOCKTAIL -s 198\.51\.100\.2 -p tcp --dport 8080 .* -j ACCEPT\n-I KNOCKTAIL-FWD 2 -s 198\.51\.100\.2 -p tcp -m conntrack --ctorigdstport 8080 .* -j RETURN\nCOMMIT\n$/,
    );
    await backend.list();
    await backend.close(GRANT);
    expect(inputsOf(runner, 'iptables-restore')[1]).toBe(`*filter\n-D KNOCKTAIL-FWD ${twin}\nCOMMIT\n`);
  });

  test('a grant whose forward twin is gone is listed as absent, so reconcile re-adds it, and the open puts back the twin alone', async () => {
    const input =
      '-s 198.51.100.2/32 -p tcp -m tcp --dport 8080 -m time --datestop 1970-01-01T01:16:39 -m comment --comment "knocktail door=web until=4600000" -j ACCEPT';
    const runner = new RecordingRunner()
      .on(['iptables', '-w', '-S', 'KNOCKTAIL-FWD'], {
        stdout: '-N KNOCKTAIL-FWD\n-A KNOCKTAIL-FWD -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN\n',
      })
      .on(['iptables', '-w', '-S', 'KNOCKTAIL'], { stdout: `-N KNOCKTAIL\n-A KNOCKTAIL ${input}\n` });
    const backend = backendWith(runner, 'iptables');
    expect(await backend.list()).toEqual([]);
    await backend.open(GRANT);
    expect(inputsOf(runner, 'iptables-restore')).toEqual([
      expect.stringMatching(
        /^\*filter\n-I KNOCKTAIL-FWD 2 -s 198\.51\.100\.2 -p tcp -m conntrack --ctorigdstport 8080 .* -j RETURN\nCOMMIT\n$/,
      ),
    ]);
  });

  test('without KNOCKTAIL-FWD a grant is the INPUT rule alone', async () => {
    const runner = new RecordingRunner().on(['iptables', '-w', '-S', 'KNOCKTAIL-FWD'], {
      exitCode: 1,
      stderr: 'No chain/target/match by that name.',
    });
    await backendWith(runner, 'iptables').open(GRANT);
    expect(inputsOf(runner, 'iptables-restore')[0]).not.toContain('KNOCKTAIL-FWD');
  });

  test('a protected port redirected to the host itself is refused at setup, before any change', async () => {
    const runner = new RecordingRunner().on(['iptables', '-w', '-t', 'nat', '-S'], {
      stdout: '-A PREROUTING -p tcp -m tcp --dport 8080 -j REDIRECT --to-ports 80\n',
    });
    await expect(backendWith(runner, 'iptables').setup([WEB])).rejects.toMatchObject({
      code: 'HOST_FIREWALL',
      details: [expect.stringMatching(/^tcp:8080: iptables nat PREROUTING: .*REDIRECT/)],
    });
    expect(inputsOf(runner, 'iptables-restore')).toEqual([]);
  });

  test('without any published protected port there is no twin, and grants stay the INPUT rule alone', async () => {
    const runner = new RecordingRunner();
    await backendWith(runner, 'iptables').setup([WEB]);
    expect([...inputsOf(runner, 'iptables-restore'), ...inputsOf(runner, 'ip6tables-restore')].join('')).not.toContain(
      'KNOCKTAIL-FWD',
    );
  });

  test('once installed the twin stays while Docker restarts (its DNAT briefly gone), so the re-published port is guarded at once', async () => {
    const runner = new RecordingRunner().on(['iptables', '-w', '-S'], (argv) => ({
      stdout: argv.length === 3 ? `${FILTER_WITH_DOCKER}-N KNOCKTAIL-FWD\n-A DOCKER-USER -j KNOCKTAIL-FWD\n` : '',
    }));
    const backend = backendWith(runner, 'iptables');
    await backend.setup([WEB]);
    expect(inputsOf(runner, 'iptables-restore').find((input) => input.includes('KNOCKTAIL-FWD'))).toContain(
      '--ctorigdstport 8080 -j REJECT',
    );
    runner.clear();
    const plan = await backend.checkForward!([WEB]);
    expect(plan!.guards).toEqual([]);
    expect(inputsOf(runner, 'iptables-restore')).toEqual([]);
  });

  test('the periodic check rewrites nothing while the twin is in place, and puts back a lost jump', async () => {
    let filter = `${FILTER_WITH_DOCKER}-N KNOCKTAIL-FWD\n-A DOCKER-USER -j KNOCKTAIL-FWD\n`;
    const runner = new RecordingRunner()
      .on(['iptables', '-w', '-t', 'nat', '-S'], { stdout: DOCKER_NAT })
      .on(['iptables', '-w', '-S'], (argv) => ({ stdout: argv.length === 3 ? filter : '' }));
    const backend = backendWith(runner, 'iptables');
    await backend.setup([WEB]);
    runner.clear();
    await backend.checkForward!([WEB]);
    expect(inputsOf(runner, 'iptables-restore')).toEqual([]);
    filter = `${FILTER_WITH_DOCKER}-N KNOCKTAIL-FWD\n`;
    const plan = await backend.checkForward!([WEB]);
    expect(inputsOf(runner, 'iptables-restore')[0]).toContain('-I DOCKER-USER 1 -j KNOCKTAIL-FWD');
    expect(plan!.guards.map((guard) => `${guard.proto}:${guard.port}`)).toEqual(['tcp:8080']);
  });

  test('teardown removes the jump and the chain', async () => {
    const runner = new RecordingRunner().on(['iptables', '-w', '-S'], (argv) => ({
      stdout: argv.length === 3 ? `${FILTER_WITH_DOCKER}-N KNOCKTAIL-FWD\n-A DOCKER-USER -j KNOCKTAIL-FWD\n` : '',
    }));
    await backendWith(runner, 'iptables').teardown();
    expect(inputsOf(runner, 'iptables-restore')[0]).toBe(
      '*filter\n-D DOCKER-USER -j KNOCKTAIL-FWD\n-F KNOCKTAIL-FWD\n-X KNOCKTAIL-FWD\nCOMMIT\n',
    );
  });
});

describe('the ipset and nftables backends with the forward twin', () => {
  test("ipset's twin matches the door's shared set: a grant adds nothing but the member", async () => {
    const runner = dockerHost();
    const backend = backendWith(runner, 'ipset');
    await backend.setup([WEB]);
    const forward = inputsOf(runner, 'iptables-restore').find((input) => input.includes('KNOCKTAIL-FWD'));
    expect(forward).toContain(
      '-A KNOCKTAIL-FWD -p tcp -m set --match-set knocktail-web-v4 src -m conntrack --ctorigdstport 8080 -j RETURN',
    );
    runner.clear();
    await backend.open(GRANT);
    expect(runner.lines()).toEqual(['ipset -exist add knocktail-web-v4 198.51.100.2 timeout 3600']);
  });

  test('nftables adds the forward chain in the setup batch, and the check restores it when it is gone', async () => {
    const runner = new RecordingRunner()
      .on(['iptables', '-w', '-t', 'nat', '-S'], { stdout: DOCKER_NAT })
      .on(['nft', '-j', 'list', 'chains'], { stdout: '{"nftables": []}' });
    const backend = backendWith(runner, 'nftables');
    await backend.setup([WEB]);
    const batch = runner.calls.find((call) => call.argv.join(' ') === 'nft -f -')!.input!;
    expect(batch).toContain(
      'add chain inet knocktail forward { type filter hook forward priority filter; policy accept; }',
    );
    expect(batch).toContain('ct original proto-dst 8080 reject with tcp reset');
    runner.clear();
    await backend.checkForward!([WEB]);
    expect(runner.calls.filter((call) => call.argv.join(' ') === 'nft -f -')).toHaveLength(1);
    expect(backend.describeSetup([WEB]).map((argv) => argv.join(' '))).toContain(
      'nft add rule inet knocktail forward ct state established,related accept',
    );
  });
});
