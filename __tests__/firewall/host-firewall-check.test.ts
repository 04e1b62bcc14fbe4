import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KnocktailError } from '../../src/model/errors.js';
import type { CommandRunner } from '../../src/firewall/backend.js';
import {
  describeHostFirewallProbe,
  probeHostFirewall,
  withHostFirewallCheck,
} from '../../src/firewall/host-firewall-check.js';
import { RecordingRunner } from '../support/recording-runner.js';
import { selectBackend } from '../../src/firewall/select-backend.js';
import { firewallConfig, sshDoor } from './fixtures.js';

const UFW = readFileSync(join(process.cwd(), '__tests__', 'fixtures', 'host-firewall', 'ufw.json'), 'utf8');

function runnerWith(ruleset: string): RecordingRunner {
  return new RecordingRunner().on(['nft', '-j', 'list', 'ruleset'], { stdout: ruleset });
}

function checked(name: 'iptables' | 'nftables', runner: RecordingRunner) {
  const backend = selectBackend(firewallConfig(name), {
    runner,
    now: () => 0,
    sessions: false,
    sleep: () => Promise.resolve(),
  });
  return withHostFirewallCheck(backend, runner, { backend: name, mode: 'check' });
}

describe('withHostFirewallCheck', () => {
  test('next to ufw the nftables setup is refused before any rule is written', async () => {
    const runner = runnerWith(UFW);
    await expect(checked('nftables', runner).setup([sshDoor])).rejects.toMatchObject({ code: 'HOST_FIREWALL' });
    expect(runner.lines()).toEqual(['nft -j list ruleset']);
  });

  test('next to ufw the iptables setup goes ahead after the look', async () => {
    const runner = runnerWith(UFW);
    await checked('iptables', runner).setup([sshDoor]);
    expect(runner.lines()[0]).toBe('nft -j list ruleset');
    expect(runner.lines().some((line) => line.includes('KNOCKTAIL-GUARD'))).toBe(true);
  });

  test('with hostFirewall "ignore" and a fixed refusal nothing is looked at', async () => {
    const runner = runnerWith(UFW);
    const backend = selectBackend(firewallConfig('nftables'), { runner, now: () => 0, sessions: false });
    await withHostFirewallCheck(backend, runner, { backend: 'nftables', mode: 'ignore', refusal: 'drop' }).setup([
      sshDoor,
    ]);
    expect(runner.lines()).not.toContain('nft -j list ruleset');
  });

  test('with hostFirewall "ignore" and refusal "auto" setup looks, refuses nothing, and follows the default drop it found', async () => {
    const runner = runnerWith(UFW);
    const backend = selectBackend(firewallConfig('nftables'), { runner, now: () => 0, sessions: false });
    const seen: string[] = [];
    await withHostFirewallCheck(backend, runner, {
      backend: 'nftables',
      mode: 'ignore',
      onHost: (host) => seen.push(host.refusal.refusal),
    }).setup([sshDoor]);
    expect(seen).toEqual(['drop']);
    expect(runner.calls.at(-1)!.input).toContain('add rule inet knocktail guard tcp dport { 22 } drop');
  });

  test('setup hands the guard the refusal the host calls for and keeps listening ports out of the tripwires', async () => {
    const clear = '{"nftables": []}';
    const runner = runnerWith(clear);
    const backend = selectBackend(firewallConfig('iptables'), {
      runner,
      now: () => 0,
      sessions: false,
      sleep: () => Promise.resolve(),
    });
    const wrapped = withHostFirewallCheck(backend, runner, {
      backend: 'iptables',
      mode: 'check',
      listening: () => Promise.resolve([{ proto: 'tcp', port: 7001 }]),
    });
    await wrapped.setup([sshDoor]);
    const restore = runner.calls.find((call) => call.argv[0] === 'iptables-restore')!.input!;
    expect(restore).toContain('-A KNOCKTAIL-GUARD -p tcp --dport 22 -j REJECT --reject-with tcp-reset');
    expect(restore).toMatch(/--dports [0-9,]*\b6998,6999,7002\b/);
  });

  test('grants, listing and teardown pass straight through', async () => {
    const runner = runnerWith(UFW).on(['nft', '-j', '-t', 'list', 'sets'], { stdout: '{"nftables": []}' });
    const backend = checked('nftables', runner);
    await backend.teardown();
    expect(await backend.list()).toEqual([]);
    expect(backend.name).toBe('nftables');
    expect(backend.describeSetup([sshDoor]).length).toBeGreaterThan(0);
    expect(runner.lines()).not.toContain('nft -j list ruleset');
  });
});

describe('probeHostFirewall', () => {
  test('a failing listing (no privileges) is "not checked" with nft\'s complaint', async () => {
    const runner = new RecordingRunner().on(['nft'], { exitCode: 1, stderr: 'Operation not permitted\n' });
    const probe = await probeHostFirewall(runner, 'iptables');
    expect(describeHostFirewallProbe(probe, 'iptables', 'check')).toBe(
      'host firewall: not checked (`nft -j list ruleset` failed: Operation not permitted)',
    );
  });

  test('a host without nft is "not checked", and any other error is thrown', async () => {
    const missing: CommandRunner = { run: async () => Promise.reject(new KnocktailError('BINARY_MISSING', 'no nft')) };
    expect(await probeHostFirewall(missing, 'iptables')).toEqual({
      checked: false,
      reason: '`nft` is not installed, so there is no nftables ruleset to inspect',
    });
    const broken: CommandRunner = { run: async () => Promise.reject(new Error('boom')) };
    await expect(probeHostFirewall(broken, 'iptables')).rejects.toThrow('boom');
  });

  test('the dry-run backend is never checked', async () => {
    const runner = runnerWith(UFW);
    expect(await probeHostFirewall(runner, 'dry-run')).toEqual({
      checked: false,
      reason: 'the dry-run backend changes no firewall',
    });
    expect(runner.lines()).toEqual([]);
  });
});
