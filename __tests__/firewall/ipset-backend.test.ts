import { describe, expect, test } from '@jest/globals';
import { buildCreateSetArgs, memberTimeout, setName } from '../../src/firewall/ipset-args.js';
import { buildResizeRestore } from '../../src/firewall/ipset-resize.js';
import { RecordingRunner } from '../support/recording-runner.js';
import { selectBackend } from '../../src/firewall/select-backend.js';
import { backendWith } from '../support/helpers.js';
import { firewallConfig, grantFor, sshDoor } from './fixtures.js';

describe('the ipset backend', () => {
  test('opening adds the source to the door set with the remaining seconds as kernel timeout', async () => {
    const runner = new RecordingRunner();
    await backendWith('ipset', runner).open(grantFor('198.51.100.2'));
    expect(runner.lines()).toEqual(['ipset -exist add knocktail-ssh-v4 198.51.100.2 timeout 3600']);
  });

  test('refreshing re-adds with -exist, which updates the timeout instead of adding a second member', async () => {
    const runner = new RecordingRunner();
    const backend = backendWith('ipset', runner);
    await backend.open(grantFor('2001:db8::7'));
    await backend.open(grantFor('2001:db8::7', { until: null }));
    expect(runner.lines()).toEqual([
      'ipset -exist add knocktail-ssh-v6 2001:db8::7 timeout 3600',
      'ipset -exist add knocktail-ssh-v6 2001:db8::7 timeout 0',
    ]);
  });

  test('closing an absent member, or one whose set is gone, is no error', async () => {
    const runner = new RecordingRunner().on(['ipset'], {
      exitCode: 1,
      stderr: 'ipset v7.17: The set with the given name does not exist\n',
    });
    await expect(backendWith('ipset', runner).close(grantFor('198.51.100.2'))).resolves.toBeUndefined();
    expect(runner.lines()).toEqual(['ipset -exist del knocktail-ssh-v4 198.51.100.2']);
  });

  test('a grant already past its expiry is closed rather than opened', async () => {
    const runner = new RecordingRunner();
    await backendWith('ipset', runner).open(grantFor('198.51.100.2', { until: 999_000 }));
    expect(runner.lines()).toEqual(['ipset -exist del knocktail-ssh-v4 198.51.100.2']);
  });

  test('setup creates a set per door and family and one match-set rule per door and port', () => {
    const lines = backendWith('ipset', new RecordingRunner())
      .describeSetup([sshDoor])
      .map((argv) => argv.join(' '));
    expect(lines).toContain('ipset -exist create knocktail-ssh-v4 hash:ip family inet timeout 0');
    expect(lines).toContain('ipset -exist create knocktail-ssh-v6 hash:ip family inet6 timeout 0');
    expect(lines).toContain(
      'iptables -w -A KNOCKTAIL -p tcp -m set --match-set knocktail-ssh-v4 src --dport 22 -j ACCEPT',
    );
    expect(lines).toContain(
      'ip6tables -w -A KNOCKTAIL -p tcp -m set --match-set knocktail-ssh-v6 src --dport 22 -j ACCEPT',
    );
  });

  test('timeouts are whole seconds, at least one, capped at the kernel maximum', () => {
    expect(memberTimeout(1_000_001, 1_000_000)).toBe(1);
    expect(memberTimeout(null, 0)).toBe(0);
    expect(memberTimeout(10 ** 13, 0)).toBe(2_147_483);
  });

  test('a door name too long for an ipset set name is refused with the limit', () => {
    expect(() => setName('a-very-long-door-name-indeed', 4)).toThrow(/at most 18 characters/);
    expect(buildCreateSetArgs('web', 4)[3]).toBe('knocktail-web-v4');
  });

  test('the sets are sized by limits.maxGrants (maxelem)', () => {
    const backend = selectBackend(
      { ...firewallConfig('ipset'), setSize: 1000 },
      { runner: new RecordingRunner(), now: () => 0 },
    );
    const lines = backend.describeSetup([sshDoor]).map((argv) => argv.join(' '));
    expect(lines).toContain('ipset -exist create knocktail-ssh-v4 hash:ip family inet timeout 0 maxelem 1000');
    expect(lines).toContain('ipset -exist create knocktail-ssh-v6 hash:ip family inet6 timeout 0 maxelem 1000');
  });

  test('a set of another size is resized in place: members copied with their timeouts, swapped in, the old one dropped', async () => {
    const saved =
      'create knocktail-ssh-v4 hash:ip family inet hashsize 1024 maxelem 65536 timeout 0 bucketsize 12 initval 0x1\nadd knocktail-ssh-v4 198.51.100.2 timeout 33\n';
    const exists = {
      exitCode: 1,
      stderr: 'ipset v7.17: Error in line 1: Set cannot be created: set with the same name already exists\n',
    };
    const runner = new RecordingRunner()
      .on(['ipset', '-exist', 'restore'], exists, 1)
      .on(['ipset', '-exist', 'create', 'knocktail-ssh-v4'], exists, 1)
      .on(['ipset', 'save', 'knocktail-ssh-v4'], { stdout: saved });
    const backend = selectBackend(
      { ...firewallConfig('ipset'), setSize: 500 },
      { runner, now: () => 0, sleep: async () => undefined },
    );
    await backend.setup([sshDoor]);
    const lines = runner.lines();
    expect(runner.calls[0]?.input).toContain('create knocktail-ssh-v4 hash:ip family inet timeout 0 maxelem 500\n');
    const at = lines.indexOf('ipset save knocktail-ssh-v4');
    expect(lines.slice(at, at + 4)).toEqual([
      'ipset save knocktail-ssh-v4',
      'ipset destroy kt-resize-tmp',
      'ipset restore',
      'ipset swap kt-resize-tmp knocktail-ssh-v4',
    ]);
    expect(runner.calls.find((call) => call.argv.join(' ') === 'ipset restore')?.input).toBe(
      'create kt-resize-tmp hash:ip family inet hashsize 1024 maxelem 500 timeout 0 bucketsize 12 initval 0x1\nadd kt-resize-tmp 198.51.100.2 timeout 33\n',
    );
    expect(lines[at + 4]).toBe('ipset destroy kt-resize-tmp');
  });

  test('a saved set without a maxelem gets one in the resize', () => {
    expect(buildResizeRestore('create s hash:ip family inet6 timeout 0\n', 's', 't', 7)).toBe(
      'create t hash:ip family inet6 timeout 0 maxelem 7\n',
    );
  });
});
