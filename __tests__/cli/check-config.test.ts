import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliCaptured, type CapturedRun } from './run-cli.js';

function run(argv: string[], cwd: string, env: Record<string, string> = {}): Promise<CapturedRun> {
  return runCliCaptured(argv, { cwd, env });
}

const goodConfig = {
  doors: [
    { name: 'ssh', sequence: ['tcp:7000', 'udp:8000', 'tcp:9000'], timeout: '15s', open: ['tcp:22'], openFor: '1h', closeSequence: ['tcp:9001'] },
    { name: 'classic', sequence: ['tcp:31600'], open: ['tcp:22'], openFor: 'until-closed', closeSequence: ['tcp:31601'] },
  ],
};

describe('knocktail check-config', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'knocktail-check-'));
    await writeFile(join(dir, 'good.json'), JSON.stringify(goodConfig));
    await writeFile(
      join(dir, 'bad.json'),
      JSON.stringify({ firewall: { backend: 'pf' }, doors: [{ name: 'ssh', sequence: ['tcp:7000'], openFor: 'soon' }, { name: 'ssh', sequence: ['tcp:7000'] }] }),
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a valid config prints OK with its path and one line per door, exit 0', async () => {
    const result = await run(['check-config', '--config', 'good.json'], dir);
    expect(result).toEqual({
      code: 0,
      stdout: [
        `config OK: ${join(dir, 'good.json')}`,
        'ssh: tcp:7000 udp:8000 tcp:9000 within 15s → opens tcp:22 for 1h, close: tcp:9001',
        'classic: tcp:31600 → opens tcp:22 until closed, close: tcp:31601',
        '',
      ].join('\n'),
      stderr: '',
    });
  });

  test('an invalid config prints every problem as path: message, exit 2', async () => {
    const result = await run(['check-config', '--config', join(dir, 'bad.json')], '/');
    expect(result.code).toBe(2);
    expect(result.stdout.trimEnd().split('\n')).toEqual([
      'firewall.backend: expected one of "iptables", "ipset", "nftables", "dry-run", got `"pf"` (string)',
      'doors[0].openFor: expected a duration like "30s" or "until-closed", got `"soon"` (string)',
      'doors[1].name: duplicate door name "ssh" (doors[0] has it too); names must be unique',
      'doors[1].sequence[0]: tcp:7000 also starts doors[0].sequence (door "ssh"); each door must start with its own first knock',
    ]);
    expect(result.stderr).toBe(`knocktail: ${join(dir, 'bad.json')}: 4 problems\n`);
  });

  test('KNOCKTAIL_CONFIG names the file when --config is not given', async () => {
    const result = await run(['check-config'], dir, { KNOCKTAIL_CONFIG: join(dir, 'good.json') });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^config OK: .*good\.json\n/);
  });

  test('a missing file is a config error naming the path, exit 2', async () => {
    const result = await run(['check-config', '--config', 'absent.json'], dir);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`knocktail: cannot read config ${join(dir, 'absent.json')}: ENOENT (no such file or directory)\n`);
  });

  test('a JSON syntax error is reported with its line and column, exit 2', async () => {
    await writeFile(join(dir, 'syntax.json'), '{\n  "doors": [,]\n}\n');
    const result = await run(['check-config', '--config', 'syntax.json'], dir);
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/^line 2, column 13: /);
    expect(result.stderr).toMatch(/syntax\.json: not valid JSON at line 2, column 13\n$/);
  });
});
