import { describe, expect, test } from '@jest/globals';
import { PassThrough } from 'node:stream';
import { COMMANDS } from '../../src/cli/command-table.js';
import type { CliContext } from '../../src/cli/context.js';
import { buildProgram, commandsFor, reportError, runCli, type ExitCode } from '../../src/cli/program.js';

// runCli builds only the invoked command's definition (commandsFor); what the user sees must be
// what the program with every definition prints, for help, version and every kind of usage error.

function capture(argv: readonly string[]): { ctx: CliContext; result: () => { stdout: string; stderr: string } } {
  let stdout = '';
  let stderr = '';
  const out = new PassThrough();
  const err = new PassThrough();
  out.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  err.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ctx: CliContext = {
    argv,
    env: {},
    cwd: process.cwd(),
    stdout: out,
    stderr: err,
    signals: { onStop: () => undefined, onReload: () => undefined },
  };
  return { ctx, result: () => ({ stdout, stderr }) };
}

async function narrowed(argv: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const run = capture(argv);
  const code = await runCli(run.ctx);
  return { code, ...run.result() };
}

async function full(argv: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const run = capture(argv);
  let code: ExitCode = 0;
  const program = buildProgram(run.ctx, (value) => (code = value), COMMANDS);
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    code = reportError(run.ctx, error);
  }
  return { code, ...run.result() };
}

// Inputs that end in commander (help, version, a refusal) before any command module runs.
const INPUTS: readonly (readonly string[])[] = [
  [],
  ['--help'],
  ['-h'],
  ['--version'],
  ['-V'],
  ['-V', 'status'],
  ['--bogus'],
  ['help'],
  ['help', 'status'],
  ['help', 'knock'],
  ['stauts'],
  ['nonsense', '--json'],
  ...COMMANDS.flatMap((def) => [
    [def.name, '--help'],
    [def.name, '-h'],
    [def.name, '--no-such-flag'],
    [def.name, 'a', 'b', 'c', 'd', '--help'],
  ]),
  ['grant'],
  ['grant', '203.0.113.9'],
  ['revoke'],
  ['import', 'ufw', 'x'],
  ['completion', 'fish'],
  ['status', 'extra'],
  ['knock', '--delay'],
];

describe('runCli with only the invoked command defined', () => {
  test('defines one command when the first word names it, none for --version, all otherwise', () => {
    expect(commandsFor(['status', '--json'], COMMANDS).map((def) => def.name)).toEqual(['status']);
    expect(commandsFor(['--version'], COMMANDS)).toEqual([]);
    expect(commandsFor(['-V', 'status'], COMMANDS)).toEqual([]);
    expect(commandsFor(['--help'], COMMANDS)).toBe(COMMANDS);
    expect(commandsFor(['help', 'status'], COMMANDS)).toBe(COMMANDS);
    expect(commandsFor(['stauts'], COMMANDS)).toBe(COMMANDS);
    expect(commandsFor([], COMMANDS)).toBe(COMMANDS);
  });

  test.each(INPUTS.map((argv): [string, readonly string[]] => [argv.join(' ') || '(nothing)', argv]))(
    'knocktail %s prints and exits as with every command defined',
    async (_name, argv) => {
      expect(await narrowed(argv)).toEqual(await full(argv));
    },
  );

  test('the comparison can tell programs apart: the top-level help lists every command', async () => {
    const help = (await full(['--help'])).stdout;
    for (const def of COMMANDS) expect(help).toContain(`  ${def.name}`);
    expect((await narrowed(['status', '--help'])).stdout).not.toContain('  replay');
  });
});
