import { describe, expect, test } from '@jest/globals';
import { RecordingRunner } from '../../src/firewall/recording-runner.js';
import { selectBackend } from '../../src/firewall/select-backend.js';
import { firewallConfig, sshDoor } from './fixtures.js';

function backendWith(runner: RecordingRunner) {
  return selectBackend(firewallConfig('iptables', { inputPosition: 5 }), { runner, now: () => 0, sleep: async () => undefined });
}

describe('applying the iptables guard', () => {
  test('a re-run appends the new guard rules before deleting the old ones, so the protected port is never open', async () => {
    const runner = new RecordingRunner()
      .on(['iptables', '-w', '-S', 'KNOCKTAIL-GUARD'], { stdout: '-N KNOCKTAIL-GUARD\n-A KNOCKTAIL-GUARD -j KNOCKTAIL\n-A KNOCKTAIL-GUARD -p tcp -m tcp --dport 22 -j DROP\n' });
    await backendWith(runner).setup([sshDoor]);
    const v4 = runner.lines().filter((line) => line.startsWith('iptables') && / KNOCKTAIL-GUARD/.test(line) && / -[AD] /.test(line));
    const firstDelete = v4.findIndex((line) => line.includes(' -D '));
    expect(firstDelete).toBe(v4.length - 2);
    expect(v4.slice(firstDelete)).toEqual(['iptables -w -D KNOCKTAIL-GUARD 1', 'iptables -w -D KNOCKTAIL-GUARD 1']);
    expect(runner.lines()).not.toContain('iptables -w -N KNOCKTAIL-GUARD');
    expect(runner.lines()).not.toContain('iptables -w -F KNOCKTAIL-GUARD');
  });

  test('the jump is not inserted twice, and goes last when INPUT is shorter than the position', async () => {
    const present = new RecordingRunner();
    await backendWith(present).setup([sshDoor]);
    expect(present.lines().filter((line) => line.includes('-I INPUT'))).toEqual([]);

    const absent = new RecordingRunner()
      .on((argv) => argv[2] === '-C' && argv[3] === 'INPUT', { exitCode: 1 })
      .on((argv) => argv[2] === '-S' && argv[3] === 'INPUT', { stdout: '-P INPUT ACCEPT\n-A INPUT -s 203.0.113.0/24 -j DROP\n' });
    await backendWith(absent).setup([sshDoor]);
    expect(absent.lines().filter((line) => line.includes('-I INPUT'))).toEqual(['iptables -w -I INPUT 2 -j KNOCKTAIL-GUARD', 'ip6tables -w -I INPUT 2 -j KNOCKTAIL-GUARD']);
  });

  test('teardown on a firewall without knocktail chains runs only questions', async () => {
    const runner = new RecordingRunner().on((argv) => argv[2] === '-S', { exitCode: 1 });
    await backendWith(runner).teardown();
    expect(runner.lines().every((line) => line.includes(' -S '))).toBe(true);
  });
});
