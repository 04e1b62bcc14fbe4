import { describe, expect, test } from '@jest/globals';
import { RecordingRunner } from '../support/recording-runner.js';
import { backendWith } from '../support/helpers.js';
import { sshDoor } from './fixtures.js';

const restores = (runner: RecordingRunner) => runner.calls.filter((call) => call.argv[0]!.endsWith('-restore'));

describe('applying the iptables guard', () => {
  test('a re-run replaces the guard in one restore transaction per family and changes nothing else', async () => {
    const runner = new RecordingRunner()
      .on((argv) => argv[2] === '-S' && argv[3] === 'INPUT', {
        stdout: '-P INPUT ACCEPT\n-A INPUT -j KNOCKTAIL-GUARD\n',
      })
      .on((argv) => argv[2] === '-S', { stdout: '-N X\n' });
    await backendWith('iptables', runner, { config: { inputPosition: 5 }, now: 0 }).setup([sshDoor]);
    expect(restores(runner).map((call) => call.argv.join(' '))).toEqual([
      'iptables-restore -w --noflush',
      'ip6tables-restore -w --noflush',
    ]);
    // Nothing but questions outside the transactions: no -A, -D, -N, -F or -I ever runs on its own.
    expect(
      runner
        .lines()
        .filter((line) => !line.includes('-restore'))
        .every((line) => / -S /.test(line)),
    ).toBe(true);
    const v4 = restores(runner)[0]!.input!;
    expect(v4.startsWith('*filter\n:KNOCKTAIL-GUARD - [0:0]\n')).toBe(true);
    expect(v4).not.toContain('-I INPUT');
  });

  test('the jump goes last when INPUT is shorter than the configured position', async () => {
    const runner = new RecordingRunner()
      .on((argv) => argv[2] === '-S' && argv[3] === 'INPUT', {
        stdout: '-P INPUT ACCEPT\n-A INPUT -s 203.0.113.0/24 -j DROP\n',
      })
      .on((argv) => argv[2] === '-S', { exitCode: 1 });
    await backendWith('iptables', runner, { config: { inputPosition: 5 }, now: 0 }).setup([sshDoor]);
    for (const call of restores(runner)) expect(call.input).toContain('\n-I INPUT 2 -j KNOCKTAIL-GUARD\nCOMMIT\n');
  });

  test('teardown on a firewall without knocktail chains runs only questions', async () => {
    const runner = new RecordingRunner().on((argv) => argv[2] === '-S' && argv[3] !== 'INPUT', { exitCode: 1 });
    await backendWith('iptables', runner, { config: { inputPosition: 5 }, now: 0 }).teardown();
    expect(runner.lines().every((line) => line.includes(' -S '))).toBe(true);
  });

  test('teardown removes jumps and chains of a family in one transaction', async () => {
    const runner = new RecordingRunner().on((argv) => argv[2] === '-S' && argv[3] === 'INPUT', {
      stdout: '-A INPUT -j KNOCKTAIL-GUARD\n',
    });
    await backendWith('iptables', runner, { config: { inputPosition: 5 }, now: 0 }).teardown();
    expect(restores(runner).map((call) => call.input)).toEqual([
      '*filter\n-D INPUT -j KNOCKTAIL-GUARD\n-F KNOCKTAIL-GUARD\n-X KNOCKTAIL-GUARD\n-F KNOCKTAIL\n-X KNOCKTAIL\nCOMMIT\n',
      '*filter\n-D INPUT -j KNOCKTAIL-GUARD\n-F KNOCKTAIL-GUARD\n-X KNOCKTAIL-GUARD\n-F KNOCKTAIL\n-X KNOCKTAIL\nCOMMIT\n',
    ]);
  });
});

describe('the ban-aware jump', () => {
  const INPUT = '-P INPUT ACCEPT\n-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd\n-A INPUT -j ufw-before-input\n';
  const auto = (runner: RecordingRunner) =>
    backendWith('iptables', runner, { config: { inputPosition: 'auto' }, now: 0 });

  test('setup with "auto" inserts the jump right after fail2ban\'s rule, ahead of ufw\'s chains', async () => {
    const runner = new RecordingRunner()
      .on((argv) => argv[2] === '-S' && argv[3] === 'INPUT', { stdout: INPUT })
      .on((argv) => argv[2] === '-S', { exitCode: 1 });
    await auto(runner).setup([sshDoor]);
    for (const call of restores(runner)) expect(call.input).toContain('\n-I INPUT 2 -j KNOCKTAIL-GUARD\nCOMMIT\n');
  });

  test('the periodic check moves a jump that a ban rule added later now follows, and leaves a well-placed one alone', async () => {
    const behind = `-P INPUT ACCEPT\n-A INPUT -j KNOCKTAIL-GUARD\n-A INPUT -p tcp -j f2b-sshd\n`;
    const runner = new RecordingRunner()
      .on((argv) => argv[2] === '-S' && argv[3] === 'INPUT', { stdout: behind })
      .on((argv) => argv[2] === '-S', { stdout: '-N X\n' });
    expect(await auto(runner).checkGuard!()).toBe(true);
    expect(restores(runner).map((call) => call.input)).toEqual(
      Array(2).fill('*filter\n-D INPUT -j KNOCKTAIL-GUARD\n-I INPUT 2 -j KNOCKTAIL-GUARD\nCOMMIT\n'),
    );
    const settled = new RecordingRunner()
      .on((argv) => argv[2] === '-S' && argv[3] === 'INPUT', {
        stdout: `-P INPUT ACCEPT\n-A INPUT -p tcp -j f2b-sshd\n-A INPUT -j KNOCKTAIL-GUARD\n`,
      })
      .on((argv) => argv[2] === '-S', { stdout: '-N X\n' });
    expect(await auto(settled).checkGuard!()).toBe(false);
    expect(restores(settled)).toEqual([]);
  });
});
