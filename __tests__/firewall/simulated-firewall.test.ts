import { describe, expect, test } from '@jest/globals';
import { LineSession, NFT_DIALECT, IPSET_DIALECT } from '../../src/firewall/line-session.js';
import { RecordingRunner } from '../support/recording-runner.js';
import { selectBackend } from '../../src/firewall/select-backend.js';
import { SimulatedFirewall, type SimulatedCommand } from '../../src/firewall/simulated-firewall.js';
import { firewallConfig, grantFor, sshDoor } from './fixtures.js';

function simulated(now = () => 0) {
  const commands: SimulatedCommand[] = [];
  const runner = new SimulatedFirewall({ now, onCommand: (command) => commands.push(command) });
  return {
    runner,
    commands,
    lines: () =>
      commands.map((c) => [...c.argv, ...(c.input === undefined ? [] : [`<<< ${c.input.trim()}`])].join(' ')),
  };
}

// The grant rules added and deleted through the iptables-restore session, as "-A CHAIN comment".
function ruleChanges(commands: readonly SimulatedCommand[]): string[] {
  return commands
    .filter((c) => c.argv[0] === 'iptables-restore' && c.input !== undefined)
    .flatMap((c) => c.input!.split('\n'))
    .filter((line) => /^-[AD] KNOCKTAIL -s /.test(line))
    .map(
      (line) =>
        `${line.slice(0, 12)} ${/--comment "([^"]+)"/.exec(line)?.[1] ?? /--comment (\S+)/.exec(line)?.[1] ?? ''}`,
    );
}

describe('the simulated firewall', () => {
  test('the iptables backend runs its iptables-restore session against it: one transaction per change, a second open adds nothing', async () => {
    const { runner, commands } = simulated();
    const backend = selectBackend(firewallConfig('iptables'), { runner, now: () => 0 });
    await backend.setup([sshDoor]);
    const grant = grantFor('198.51.100.2');
    await backend.open(grant);
    await backend.open(grant);
    expect(await backend.list()).toEqual([{ ...grant, openedAt: 0 }]);
    await backend.close(grant);
    expect(await backend.list()).toEqual([]);
    expect(ruleChanges(commands)).toEqual([
      '-A KNOCKTAIL knocktail door=ssh until=4600000',
      '-D KNOCKTAIL knocktail door=ssh until=4600000',
    ]);
    await backend.stop?.();
  });

  test('a refresh with a new expiry adds the new rule before it deletes the old one', async () => {
    const { runner, commands } = simulated();
    const backend = selectBackend(firewallConfig('iptables'), { runner, now: () => 0 });
    await backend.setup([sshDoor]);
    await backend.open(grantFor('198.51.100.2'));
    await backend.open(grantFor('198.51.100.2', { until: 5 }));
    expect(ruleChanges(commands)).toEqual([
      '-A KNOCKTAIL knocktail door=ssh until=4600000',
      '-A KNOCKTAIL knocktail door=ssh until=5',
      '-D KNOCKTAIL knocktail door=ssh until=4600000',
    ]);
    await backend.stop?.();
  });

  test('the nftables backend runs through its nft -i session, and the session lines are reported without the markers', async () => {
    const { runner, commands } = simulated();
    const backend = selectBackend(firewallConfig('nftables'), { runner, now: () => 0 });
    await backend.setup([sshDoor]);
    await backend.open(grantFor('198.51.100.2', { until: null }));
    const session = commands.filter((c) => c.argv.join(' ') === 'nft -i');
    expect(session.map((c) => c.input)).toEqual([
      'add element inet knocktail door-ssh-v4 { 198.51.100.2 }; delete element inet knocktail door-ssh-v4 { 198.51.100.2 }; add element inet knocktail door-ssh-v4 { 198.51.100.2 }',
    ]);
    expect(await backend.list()).toEqual([
      expect.objectContaining({ door: 'ssh', src: '198.51.100.2', until: null, ports: [{ proto: 'tcp', port: 22 }] }),
    ]);
    await backend.stop?.();
  });

  test('the ipset backend adds members with a timeout that runs out on the given clock', async () => {
    let now = 0;
    const { runner, commands } = simulated(() => now);
    const backend = selectBackend(firewallConfig('ipset'), { runner, now: () => now });
    await backend.setup([sshDoor]);
    await backend.open(grantFor('198.51.100.2', { until: 60_000 }));
    expect(commands.filter((c) => c.argv.join(' ') === 'ipset -').map((c) => c.input)).toEqual([
      '-exist add knocktail-ssh-v4 198.51.100.2 timeout 60',
    ]);
    expect(await backend.list()).toEqual([expect.objectContaining({ src: '198.51.100.2', until: 60_000 })]);
    now = 61_000;
    expect(await backend.list()).toEqual([]);
    await backend.stop?.();
  });

  test("sessions get the answers LineSession expects: success, and the tool's error for a bad line", async () => {
    const { runner } = simulated();
    const nft = new LineSession(runner, NFT_DIALECT, { timeoutMs: 1000 });
    expect(await nft.run(['add table inet knocktail'])).toMatchObject({ exitCode: 0 });
    expect(await nft.run(['bogus statement'])).toMatchObject({
      exitCode: 1,
      stderr: expect.stringContaining('Error: syntax error'),
    });
    const ipset = new LineSession(runner, IPSET_DIALECT, { timeoutMs: 1000 });
    expect(await ipset.run(['add knocktail-none-v4 198.51.100.2'])).toMatchObject({
      exitCode: 1,
      stderr: expect.stringContaining('does not exist'),
    });
    nft.stop();
    ipset.stop();
  });

  test('iptables answers like the tool: -C of a missing rule and -N of an existing chain exit 1', async () => {
    const { runner } = simulated();
    expect(await runner.run(['iptables', '-w', '-N', 'KNOCKTAIL'])).toMatchObject({ exitCode: 0 });
    expect(await runner.run(['iptables', '-w', '-N', 'KNOCKTAIL'])).toMatchObject({
      exitCode: 1,
      stderr: 'iptables: Chain already exists.\n',
    });
    expect(await runner.run(['iptables', '-w', '-C', 'KNOCKTAIL', '-j', 'ACCEPT'])).toMatchObject({ exitCode: 1 });
    expect(await runner.run(['iptables', '-w', '-S', 'NOPE'])).toMatchObject({ exitCode: 1 });
    expect(await runner.run(['ip6tables', '-w', '-S', 'KNOCKTAIL'])).toMatchObject({ exitCode: 1 });
  });

  test('selectBackend gives "dry-run": the iptables backend on a simulated firewall, running nothing through the given runner', async () => {
    const runner = new RecordingRunner();
    const backend = selectBackend(firewallConfig('dry-run'), { runner, now: () => 0 });
    await backend.setup([sshDoor]);
    await backend.open(grantFor('198.51.100.2'));
    expect(backend.name).toBe('dry-run');
    expect(await backend.list()).toEqual([expect.objectContaining({ src: '198.51.100.2' })]);
    expect(runner.calls).toEqual([]);
    expect(backend.describeSetup([sshDoor])).toEqual(
      selectBackend(firewallConfig('iptables'), { runner, now: () => 0 }).describeSetup([sshDoor]),
    );
  });

  test('an unknown backend name is BACKEND_UNKNOWN listing the valid ones', () => {
    const config = { ...firewallConfig('iptables'), backend: 'pf' as never };
    expect(() => selectBackend(config, { runner: new RecordingRunner(), now: () => 0 })).toThrow(
      expect.objectContaining({
        code: 'BACKEND_UNKNOWN',
        message: 'Expected firewall.backend to be one of iptables, ipset, nftables, dry-run, got `"pf"` (string)',
      }),
    );
  });
});
