import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { completionScript } from '../../src/cli/docs-files.js';
import { runCliCaptured } from '../cli/run-cli.js';
import { testWith } from './doc-tools.js';

// The bash completion, run in a real bash: the script is sourced and its function called
// with COMP_WORDS/COMP_CWORD as bash's completion would, and the candidates compared.
let dir: string;
let script: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ktdt-bash-'));
  script = join(dir, 'knocktail.bash');
  await writeFile(script, completionScript('bash'));
  await mkdir(join(dir, 'work', 'conf.d'), { recursive: true });
  await writeFile(join(dir, 'work', 'config.json'), '{}');
  await writeFile(join(dir, 'work', 'knockd.conf'), '');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The candidates bash would offer for the last word of `words`. */
function complete(...words: string[]): string[] {
  const out = execFileSync(
    'bash',
    [
      '-c',
      'source "$1" && shift && COMP_WORDS=("$@") && COMP_CWORD=$(($# - 1)) && _knocktail && printf "%s\\n" "${COMPREPLY[@]}"',
      'bash',
      script,
      ...words,
    ],
    {
      cwd: join(dir, 'work'),
      encoding: 'utf8',
    },
  );
  return out
    .split('\n')
    .filter((line) => line !== '')
    .sort();
}

describe('bash completion', () => {
  test('the first word completes to the commands', () => {
    expect(complete('knocktail', 're')).toEqual(['replay', 'revoke']);
    expect(complete('knocktail', '')).toEqual([
      'audit',
      'check-config',
      'completion',
      'grant',
      'import',
      'install',
      'knock',
      'replay',
      'revoke',
      'rules',
      'run',
      'setup',
      'status',
      'teardown',
    ]);
    expect(complete('knocktail', '-')).toEqual(['--help', '--version', '-V', '-h']);
  });

  test("a dash completes to the command's own options", () => {
    expect(complete('knocktail', 'knock', '--d')).toEqual(['--delay', '--door']);
    expect(complete('knocktail', 'grant', '198.51.100.7', '-')).toEqual([
      '--config',
      '--door',
      '--for',
      '--help',
      '-c',
      '-d',
      '-h',
    ]);
  });

  test('file and directory values complete from the disk, choices from the definitions', () => {
    expect(complete('knocktail', 'run', '-c', '')).toEqual(['conf.d', 'config.json', 'knockd.conf']);
    expect(complete('knocktail', 'install', '--root', '')).toEqual(['conf.d']);
    expect(complete('knocktail', 'completion', '')).toEqual(['bash', 'zsh']);
    expect(complete('knocktail', 'import', '')).toEqual(['fwknop', 'fwknoprc', 'knockd']);
    expect(complete('knocktail', 'import', 'knockd', 'kn')).toEqual(['knockd.conf']);
  });

  test("an option's value is not counted as a positional argument; a flag is", () => {
    expect(complete('knocktail', 'import', '-o', 'out.json', '')).toEqual(['fwknop', 'fwknoprc', 'knockd']);
    expect(complete('knocktail', 'import', '--force', '')).toEqual(['fwknop', 'fwknoprc', 'knockd']);
    expect(complete('knocktail', 'grant', '--door', '')).toEqual([]);
  });
});

describe('knocktail completion', () => {
  test('prints the same scripts the build writes; an unknown shell is a usage error', async () => {
    const bash = await runCliCaptured(['completion', 'bash']);
    expect(bash).toEqual({ code: 0, stdout: completionScript('bash'), stderr: '' });
    expect((await runCliCaptured(['completion', 'zsh'])).stdout).toBe(completionScript('zsh'));
    const fish = await runCliCaptured(['completion', 'fish']);
    expect(fish.code).toBe(2);
    expect(fish.stderr).toContain('Allowed choices are bash, zsh');
  });

  testWith('zsh', 'the zsh script parses, and registers itself with compinit', () => {
    const zsh = join(dir, '_knocktail');
    execFileSync('sh', ['-c', 'cat > "$1"', 'sh', zsh], { input: completionScript('zsh') });
    execFileSync('zsh', ['-n', zsh]);
    const out = execFileSync(
      'zsh',
      [
        '-f',
        '-c',
        'autoload -Uz compinit && compinit -u -d "$2/zcompdump" && source "$1" && print -r -- ${_comps[knocktail]}',
        'zsh',
        zsh,
        dir,
      ],
      { encoding: 'utf8' },
    );
    expect(out.trim()).toBe('_knocktail');
  });

  testWith(
    'zsh',
    "in zsh's real completion (zpty), commands come with descriptions, and choices and options complete",
    () => {
      const zsh = join(dir, '_knocktail');
      execFileSync('sh', ['-c', 'cat > "$1"', 'sh', zsh], { input: completionScript('zsh') });
      const driver = fileURLToPath(new URL('./zsh-complete.zsh', import.meta.url));
      const typed = (line: string): string =>
        execFileSync('zsh', ['-f', driver, zsh, line, dir], { encoding: 'utf8', timeout: 15_000 });
      const commands = typed('knocktail re');
      expect(commands).toMatch(/replay +-- run recorded logs through the daemon's pipeline/);
      expect(commands).toMatch(/revoke +-- close a grant now/);
      expect(typed('knocktail import k')).toContain('knocktail import knockd ');
      expect(typed('knocktail knock --ver')).toContain('knocktail knock --verify ');
    },
    60_000,
  );
});
