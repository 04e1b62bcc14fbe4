import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliCaptured } from './run-cli.js';

// grant / revoke / status with no daemon running: the CLI works on the state file and
// the (dry-run) firewall directly, and audits what it did.
describe('grant, revoke and status without a daemon', () => {
  let dir: string;
  let config: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kt-control-cli-'));
    config = join(dir, 'config.json');
    await writeFile(
      config,
      JSON.stringify({
        stateDir: 'state',
        auditLog: 'audit.log',
        firewall: { backend: 'dry-run' },
        limits: { maxOpenFor: '4h' },
        doors: [{ name: 'ssh', sequence: ['tcp:7000'], open: ['tcp:22'], openFor: '1h' }],
      }),
    );
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a grant lands in the state file and the audit log, shows in status, and revoke closes it', async () => {
    const grant = await runCliCaptured([
      'grant',
      '2001:db8:0:0::9',
      '--door',
      'ssh',
      '--for',
      '2h',
      '--config',
      config,
    ]);
    expect(grant.code).toBe(0);
    expect(grant.stdout).toMatch(
      /^ssh open for 2001:db8::9: tcp:22 until .* \(no daemon running: applied directly\)\n$/,
    );

    const status = await runCliCaptured(['status', '--json', '--config', config]);
    const snapshot = JSON.parse(status.stdout) as { daemon: boolean; grants: { src: string; door: string }[] };
    expect(snapshot.daemon).toBe(false);
    expect(snapshot.grants.map((g) => [g.door, g.src])).toEqual([['ssh', '2001:db8::9']]);

    expect((await runCliCaptured(['revoke', '2001:db8::9', '--config', config])).stdout).toBe(
      'closed ssh for 2001:db8::9\n',
    );
    const again = await runCliCaptured(['revoke', '2001:db8::9', '--config', config]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('holds no grant');

    const audit = (await readFile(join(dir, 'audit.log'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(audit.map((r) => [r['event'], r['by'] ?? r['reason']])).toEqual([
      ['open', 'manual'],
      ['close', 'revoked'],
    ]);
    const state = JSON.parse(await readFile(join(dir, 'state', 'state.json'), 'utf8')) as { grants: unknown[] };
    expect(state.grants).toEqual([]);
  });

  test('a grant longer than limits.maxOpenFor is refused with exit 2 and changes nothing', async () => {
    const grant = await runCliCaptured(['grant', '203.0.113.9', '--door', 'ssh', '--for', '1d', '--config', config]);
    expect(grant.code).toBe(2);
    expect(grant.stderr).toContain('at most 4h (limits.maxOpenFor)');
    const status = JSON.parse((await runCliCaptured(['status', '--json', '--config', config])).stdout) as {
      grants: unknown[];
    };
    expect(status.grants).toEqual([]);
  });

  test('revoke prints the address as knocktail writes it, not as typed', async () => {
    await runCliCaptured(['grant', '2001:DB8:0::9', '--door', 'ssh', '--config', config]);
    const revoke = await runCliCaptured(['revoke', '2001:0db8:0:0:0:0:0:9', '--config', config]);
    expect(revoke).toMatchObject({ code: 0, stdout: 'closed ssh for 2001:db8::9\n' });
    const again = await runCliCaptured(['revoke', '2001:DB8::9', '--config', config]);
    expect(again.stderr).toBe('knocktail: 2001:db8::9 holds no grant\n');
  });

  test('an unknown door is a usage error (exit 2) naming the doors of the config', async () => {
    for (const argv of [
      ['grant', '203.0.113.9', '--door', 'web'],
      ['revoke', '203.0.113.9', '--door', 'web'],
    ]) {
      const run = await runCliCaptured([...argv, '--config', config]);
      expect(run.code).toBe(2);
      expect(run.stderr).toBe(
        'knocktail: Expected --door to name a door of the config ("ssh"), got `"web"` (string)\n',
      );
    }
  });

  test('status paints for a terminal, and not when NO_COLOR is set', async () => {
    await runCliCaptured(['grant', '203.0.113.9', '--door', 'ssh', '--config', config]);
    const tty = await runCliCaptured(['status', '--config', config], { tty: true });
    expect(tty.stdout).toContain('\u001b[');
    const noColor = await runCliCaptured(['status', '--config', config], { tty: true, env: { NO_COLOR: '1' } });
    expect(noColor.stdout).not.toContain('\u001b[');
    expect(noColor.stdout).toContain('Open grants (1)');
    // no-color.org: an empty NO_COLOR does not count.
    expect(
      (await runCliCaptured(['status', '--config', config], { tty: true, env: { NO_COLOR: '' } })).stdout,
    ).toContain('\u001b[');
  });
});
