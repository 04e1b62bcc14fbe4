import { describe, expect, test } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliCaptured } from './run-cli.js';

// `replay --commands` is the contract that replay shows exactly what a live daemon would run:
// the output of a small log per backend is pinned byte for byte (regenerate the .txt files
// only for a deliberate change of the commands). The log covers an open, a refresh with a new
// expiry, an IPv6 grant of two ports that is refreshed, an until-closed grant closed by its
// close sequence, expiries, and a log prefix that needs quoting in iptables-restore input.
const FIXTURES = join('__tests__', 'fixtures', 'replay-commands');
const DOORS = [
  { name: 'v6', sequence: ['tcp:9000'], open: ['tcp:22', 'udp:60000'], openFor: '3s' },
  { name: 'web', sequence: ['tcp:31600'], open: ['tcp:443'], openFor: 'until-closed', closeSequence: ['tcp:31601'] },
  { name: 'ping', sequence: ['icmp'], open: ['tcp:22'], openFor: '1s' },
];

async function commandsFor(backend: string, extra: readonly string[] = []): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kt-replay-commands-'));
  try {
    const config = join(dir, 'config.json');
    await writeFile(config, JSON.stringify({ logPrefix: 'kt #1: ', firewall: { backend }, doors: DOORS }));
    const { code, stdout } = await runCliCaptured([
      'replay',
      '--config',
      config,
      join(FIXTURES, 'commands.log'),
      '--commands',
      ...extra,
    ]);
    expect(code).toBe(0);
    // The commands come first; the report after them names the temporary config and the time taken.
    return stdout.slice(0, stdout.indexOf('\nReplay of ') + 1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('knocktail replay --commands', () => {
  test.each(['iptables', 'ipset', 'nftables'])(
    'prints the same commands for the %s backend as before, byte for byte',
    async (backend) => {
      expect(await commandsFor(backend)).toBe(await readFile(join(FIXTURES, `${backend}.txt`), 'utf8'));
    },
  );

  test('with --nat (a Docker host publishing 443) the forward twin is set up and each grant of 443 changes it in the same transaction', async () => {
    const iptables = await commandsFor('iptables', ['--nat', join(FIXTURES, 'docker-nat.txt')]);
    expect(iptables).toContain('iptables -w -t nat -S');
    expect(iptables).toContain('-I DOCKER-USER 1 -j KNOCKTAIL-FWD');
    expect(iptables).toMatch(
      /-A KNOCKTAIL-FWD -p tcp -m conntrack --ctstate NEW -m conntrack --ctstate DNAT --ctorigdstport 443 -j REJECT --reject-with tcp-reset/,
    );
    // One transaction (one printed line) adds the INPUT rule and its forward twin; the close deletes both.
    const open = iptables.split('\n').find((line) => line.includes('-A KNOCKTAIL -s 203.0.113.10 -p tcp --dport 443'));
    expect(open).toContain(
      '-I KNOCKTAIL-FWD 2 -s 203.0.113.10 -p tcp -m conntrack --ctorigdstport 443 -m comment --comment \\"knocktail door=web until=never\\" -j RETURN',
    );
    const close = iptables.split('\n').find((line) => line.includes('-D KNOCKTAIL -s 203.0.113.10 -p tcp --dport 443'));
    expect(close).toContain('-D KNOCKTAIL-FWD -s 203.0.113.10 -p tcp -m conntrack --ctorigdstport 443 ');
    const nft = await commandsFor('nftables', ['--nat', join(FIXTURES, 'docker-nat.txt')]);
    expect(nft).toContain(
      'add chain inet knocktail forward { type filter hook forward priority filter; policy accept; }',
    );
    expect(nft).toContain('ct original proto-dst 443 ip saddr @door-web-v4 accept');
  });

  test('without --nat nothing of the forward path is probed or shown', async () => {
    expect(await commandsFor('iptables')).not.toMatch(/nat|KNOCKTAIL-FWD/);
  });
});
