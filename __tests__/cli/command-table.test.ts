import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMMANDS } from '../../src/cli/command-table.js';
import { DEFAULT_DELAY_MS } from '../../src/client/send-knock.js';
import { runCliCaptured } from './run-cli.js';

// The command table is the CLI's one source of truth: what it declares is what the parser
// accepts, what --help says, and (through the lazy loaders) what start-up has to load.
const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

// The packages a module pulls in through static imports, following relative imports; type-only
// imports are erased by the compiler and dynamic import() is what runs a command, so neither counts.
function staticPackages(entry: string): Set<string> {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/^(?:import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?'([^']+)'/gm)) {
      const [, typeOnly, specifier] = match;
      if (typeOnly !== undefined || specifier === undefined) continue;
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
      else packages.add(specifier);
    }
    // A package required while the module loads (program.ts takes commander that way) counts too.
    for (const [, specifier] of text.matchAll(/createRequire\(import\.meta\.url\)\('([^']+)'\)/g))
      if (specifier) packages.add(specifier);
  };
  visit(entry);
  return packages;
}

describe('the command table', () => {
  test('the entry loads only commander and Node built-ins before a command runs', () => {
    const packages = [...staticPackages(join(SRC, 'cli', 'main.ts'))].filter((name) => !name.startsWith('node:'));
    expect(packages).toEqual(['commander']);
  });

  test('status, and grant/revoke until no daemon answers, load no package: no validator, no address library', () => {
    for (const file of ['status.ts', 'control.ts'])
      expect([...staticPackages(join(SRC, 'cli', file))].filter((name) => !name.startsWith('node:'))).toEqual([]);
  });

  test('a command module does pull in its own dependencies (so the check above can fail)', () => {
    expect([...staticPackages(join(SRC, 'cli', 'run.ts'))]).toEqual(expect.arrayContaining(['winston']));
  });

  test('every command takes -c/--config', () => {
    for (const command of COMMANDS) {
      expect([command.name, command.options.some((option) => option.flags.startsWith('-c, --config <'))]).toEqual([
        command.name,
        true,
      ]);
    }
  });

  test('every loader resolves to the function that runs the command', async () => {
    for (const command of COMMANDS) expect(typeof (await command.load())).toBe('function');
  });

  test('grant --help offers only what grant accepts (no --for until-closed)', async () => {
    const help = await runCliCaptured(['grant', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--for <duration>');
    expect(help.stdout).not.toContain('until-closed');
    expect(help.stdout).toContain('-c, --config <file>');
  });

  test('knock --help states the delay the client really uses', async () => {
    expect((await runCliCaptured(['knock', '--help'])).stdout).toContain(`(default ${DEFAULT_DELAY_MS})`);
  });

  test('--version prints the package version', async () => {
    const version = (JSON.parse(readFileSync(join(SRC, '..', 'package.json'), 'utf8')) as { version: string }).version;
    expect(await runCliCaptured(['--version'])).toMatchObject({ code: 0, stdout: `${version}\n` });
  });
});

describe('-c on the commands that refused it', () => {
  let dir: string;
  let config: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kt-command-table-'));
    config = join(dir, 'config.json');
    await writeFile(
      config,
      JSON.stringify({
        stateDir: dir,
        auditLog: join(dir, 'audit.log'),
        firewall: { backend: 'dry-run' },
        doors: [{ name: 'ssh', sequence: ['tcp:7000'], open: ['tcp:22'] }],
      }),
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test.each(['check-config', 'rules', 'setup', 'teardown'])('%s -c FILE reads that file', async (name) => {
    const run = await runCliCaptured([name, '-c', config]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const missing = await runCliCaptured([name, '-c', join(dir, 'missing.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`cannot read config ${join(dir, 'missing.json')}`);
  });
});
