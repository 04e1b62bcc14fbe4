import { describe, expect, test } from '@jest/globals';
import { DryRunBackend } from '../../src/firewall/dry-run.js';
import { RecordingRunner } from '../../src/firewall/recording-runner.js';
import { selectBackend } from '../../src/firewall/select-backend.js';
import { firewallConfig, grantFor, sshDoor } from './fixtures.js';

describe('the dry-run backend', () => {
  test('it records the iptables commands a real run would change the firewall with, and lists its grants', async () => {
    const backend = new DryRunBackend({ logPrefix: 'knocktail: ', now: () => 1_000_000 });
    const grant = grantFor('198.51.100.2');
    await backend.open(grant);
    await backend.open(grant);
    expect(await backend.list()).toEqual([grant]);
    await backend.close(grant);
    await backend.close(grant);
    expect(await backend.list()).toEqual([]);
    expect(backend.commands().map((argv) => argv.slice(0, 4).join(' '))).toEqual(['iptables -w -A KNOCKTAIL', 'iptables -w -D KNOCKTAIL']);
  });

  test('a refresh with a new expiry records the add of the new rule, then the delete of the old', async () => {
    const backend = new DryRunBackend({ logPrefix: 'knocktail: ', now: () => 0 });
    await backend.open(grantFor('198.51.100.2'));
    await backend.open(grantFor('198.51.100.2', { until: 5 }));
    expect(backend.commands().map((argv) => `${argv[2]} ${argv.at(-3)}`)).toEqual(['-A knocktail door=ssh until=4600000', '-A knocktail door=ssh until=5', '-D knocktail door=ssh until=4600000']);
  });

  test('its setup commands are the ones the iptables backend describes', () => {
    const dry = new DryRunBackend({ logPrefix: 'knocktail: ', now: () => 0 });
    const real = selectBackend(firewallConfig('iptables'), { runner: new RecordingRunner(), now: () => 0 });
    expect(dry.describeSetup([sshDoor])).toEqual(real.describeSetup([sshDoor]));
  });

  test('it can record the nftables or ipset commands instead', async () => {
    const nft = new DryRunBackend({ logPrefix: 'knocktail: ', now: () => 0, variant: 'nftables' });
    await nft.open(grantFor('198.51.100.2', { until: null }));
    expect(nft.commands()).toContainEqual(['nft', 'add element inet knocktail door-ssh-v4 { 198.51.100.2 }']);
    const ipset = new DryRunBackend({ logPrefix: 'knocktail: ', now: () => 0, variant: 'ipset' });
    await ipset.open(grantFor('198.51.100.2', { until: null }));
    expect(ipset.commands()).toEqual([['ipset', '-exist', 'add', 'knocktail-ssh-v4', '198.51.100.2', 'timeout', '0']]);
  });

  test('selectBackend gives the dry-run backend for "dry-run" and runs nothing', async () => {
    const runner = new RecordingRunner();
    const backend = selectBackend(firewallConfig('dry-run'), { runner, now: () => 0 });
    await backend.setup([sshDoor]);
    await backend.open(grantFor('198.51.100.2'));
    expect(backend.name).toBe('dry-run');
    expect(runner.calls).toEqual([]);
  });

  test('an unknown backend name is BACKEND_UNKNOWN listing the valid ones', () => {
    const config = { ...firewallConfig('iptables'), backend: 'pf' as never };
    expect(() => selectBackend(config, { runner: new RecordingRunner(), now: () => 0 })).toThrow(
      expect.objectContaining({ code: 'BACKEND_UNKNOWN', message: 'Expected firewall.backend to be one of iptables, ipset, nftables, dry-run, got `"pf"` (string)' }),
    );
  });
});
