import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/load-config.js';
import { runCliCaptured } from './run-cli.js';

// `knocktail import knockd FILE`: the converted config on stdout (or in -o FILE), the notes
// on stderr, and a config the real loader accepts.
const fixtures = fileURLToPath(new URL('../import/fixtures/', import.meta.url));
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ktdt-import-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('knocktail import knockd', () => {
  test("prints Debian's knockd.conf as a config that loadConfig accepts, and lists what it left out on stderr", async () => {
    const run = await runCliCaptured(['import', 'knockd', join(fixtures, 'debian-knockd.conf')]);
    // [openHTTPS] could not be converted: a script must see that.
    expect(run.code).toBe(2);
    expect(run.stdout).toBe(
      '{\n  "doors": [\n    {\n      "name": "ssh",\n      "sequence": ["tcp:7000", "tcp:8000", "tcp:9000"],\n      "timeout": "5s",\n      "open": ["tcp:22"],\n      "openFor": "until-closed",\n      "closeSequence": ["tcp:9000", "tcp:8000", "tcp:7000"],\n      "allowFrom": ["0.0.0.0/0"]\n    }\n  ]\n}\n',
    );
    expect(run.stderr).toMatch(
      /^not converted:\n {2}\[openHTTPS\] line 19: custom command `\/usr\/local\/sbin\/knock_add/,
    );
    expect(run.stderr).toContain(
      'converted with a difference:\n  [closeSSH] line 13: became the closeSequence of door "ssh"',
    );
    expect(run.stderr).toContain('knocktail: converted 1 door (ssh) from ');
    expect(run.stderr).toContain(
      'knocktail: 1 knockd door or part not converted (listed under "not converted"); exit status 2 (--accept-dropped makes it 0)',
    );
    const accepted = await runCliCaptured([
      'import',
      'knockd',
      join(fixtures, 'debian-knockd.conf'),
      '--accept-dropped',
    ]);
    expect([accepted.code, accepted.stdout]).toEqual([0, run.stdout]);
    await writeFile(join(dir, 'config.json'), run.stdout);
    await expect(loadConfig(join(dir, 'config.json'))).resolves.toMatchObject({
      doors: [{ name: 'ssh', openFor: null }],
    });
  });

  test('-o writes the file, a relative one_time_sequences path is read next to the knockd config, and an existing file needs --force', async () => {
    const knockd = (await readFile(join(fixtures, 'man-example-3.conf'), 'utf8')).replace(
      '/etc/knockd/smtp_sequences',
      'smtp_sequences',
    );
    await writeFile(join(dir, 'knockd.conf'), knockd);
    await copyFile(join(fixtures, 'smtp_sequences'), join(dir, 'smtp_sequences'));
    const first = await runCliCaptured(['import', 'knockd', 'knockd.conf', '-o', 'config.json'], { cwd: dir });
    expect(first.code).toBe(0);
    expect(first.stdout).toBe('');
    const config = await loadConfig(join(dir, 'config.json'));
    expect(config.doors[0]!.oneTimeSequences).toHaveLength(3);
    const again = await runCliCaptured(['import', 'knockd', 'knockd.conf', '-o', 'config.json'], { cwd: dir });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('use --force to overwrite');
    expect(
      (await runCliCaptured(['import', 'knockd', 'knockd.conf', '-o', 'config.json', '--force'], { cwd: dir })).code,
    ).toBe(0);
  });

  test('never echoes what it reads: a one_time_sequences file or a knockd config that is really a secret shows only line numbers', async () => {
    const secret = 'root:$6$s3cr3tSALT$Zm9vYmFyYmF6:19700:0:99999:7:::';
    await writeFile(join(dir, 'shadow'), `${secret}\nknocktail:!:19700::::::\n`);
    await writeFile(
      join(dir, 'knockd.conf'),
      '[openSSH]\nsequence = 7000\none_time_sequences = shadow\ncommand = iptables -A INPUT -s %IP% -p tcp --dport 22 -j ACCEPT\n',
    );
    const oneTime = await runCliCaptured(['import', 'knockd', 'knockd.conf'], { cwd: dir });
    expect(oneTime.stderr).toContain('shadow line 1 left out: not a knock sequence');
    const asConfig = await runCliCaptured(['import', 'knockd', 'shadow'], { cwd: dir });
    expect(asConfig.stderr).toContain('line 1: a line before any [section]; ignored');
    for (const run of [oneTime, asConfig]) {
      expect(run.stdout + run.stderr).not.toContain('s3cr3t');
      expect(run.stdout + run.stderr).not.toContain('19700');
    }
  });

  test('-c means the config to read, as on every command: import reads none, prints the result and says to write with -o', async () => {
    const run = await runCliCaptured(['import', 'knockd', join(fixtures, 'man-example-2.conf'), '-c', 'config.json'], {
      cwd: dir,
    });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ doors: [{ name: 'ssh', openFor: '5s' }] });
    expect(run.stderr).toContain('import reads none and printed the result: write it with -o FILE');
    await expect(readFile(join(dir, 'config.json'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  test('a knockd config with nothing convertible exits 2 and prints no config', async () => {
    await writeFile(
      join(dir, 'knockd.conf'),
      '[wake]\nsequence = 1,2\ncommand = /usr/bin/etherwake 00:11:22:33:44:55\n',
    );
    const run = await runCliCaptured(['import', 'knockd', join(dir, 'knockd.conf')]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('no knockd door could be converted');
  });

  test('a converted config the loader refuses (an open port that is also a knock port) exits 2 with the problems', async () => {
    await writeFile(
      join(dir, 'knockd.conf'),
      '[ssh]\nsequence = 22\ncommand = iptables -A INPUT -s %IP% -p tcp --dport 22 -j ACCEPT\n',
    );
    const run = await runCliCaptured(['import', 'knockd', join(dir, 'knockd.conf')]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/does not pass check-config\n {2}doors\[0\]/);
  });

  test('an unknown format is a usage error that names the choices', async () => {
    const run = await runCliCaptured(['import', 'ufw', '/etc/ufw/user.rules']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Allowed choices are knockd, fwknop, fwknoprc');
  });
});
