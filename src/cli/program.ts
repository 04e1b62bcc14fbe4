import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Argument, Command, CommanderError, Option } from 'commander';
import { packageRoot } from '../install/shipped-assets.js';
import { KnocktailError, exitCodeFor } from '../model/errors.js';
import { COMMANDS, type CommandDef, type ExitCode } from './command-table.js';
import type { CliContext } from './context.js';
import { writeLine } from './context.js';

// Builds the commander program from the command table; a command's module is imported only
// when that command runs, so start-up costs commander and this file, nothing more. (The built
// entry has both inlined, see scripts/bundle-cli.ts, so commander is a static import here.)
export type { ExitCode } from './command-table.js';

export function buildProgram(
  ctx: CliContext,
  setCode: (code: ExitCode) => void,
  commands: readonly CommandDef[] = COMMANDS,
): Command {
  const program = new Command('knocktail')
    .description('Port knocking from kernel firewall log lines.')
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.stdout.write(text),
      writeErr: (text) => ctx.stderr.write(text),
    })
    .showHelpAfterError('(run `knocktail --help` for usage)');
  for (const def of commands) addCommand(program, def, ctx, setCode);
  return program;
}

function addCommand(program: Command, def: CommandDef, ctx: CliContext, setCode: (code: ExitCode) => void): void {
  const command = program.command(def.name).description(def.description);
  for (const spec of def.arguments) {
    const argument = new Argument(spec.name, spec.description);
    if (spec.choices) argument.choices(spec.choices);
    command.addArgument(argument);
  }
  for (const spec of def.options) {
    const option = new Option(spec.flags, spec.description);
    if (spec.required) option.makeOptionMandatory();
    if (spec.choices) option.choices(spec.choices);
    command.addOption(option);
  }
  command.action(async (...params: unknown[]) => {
    const run = await def.load();
    setCode(await run(ctx, params.slice(0, def.arguments.length), command.opts()));
  });
}

/**
 * The definitions commander needs for this argv. When the first word names a command, commander
 * dispatches to it before it looks at any other definition, and that command's help, errors and
 * parsing read only its own; so the others are not built (a third of commander's start-up).
 * Any other start (no word, `--help`, `help`, a typo that needs suggestions) gets them all.
 */
export function commandsFor(argv: readonly string[], commands: readonly CommandDef[]): readonly CommandDef[] {
  // -V first: commander prints the version and exits on that option, before any command is looked at.
  if (argv[0] === '-V' || argv[0] === '--version') return [];
  const invoked = commands.find((def) => def.name === argv[0]);
  return invoked ? [invoked] : commands;
}

export function packageVersion(): string {
  try {
    const { version } = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown };
    return typeof version === 'string' ? version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Runs the CLI and returns the exit status; never throws. `commands` narrows the table for tests. */
export async function runCli(ctx: CliContext, commands: readonly CommandDef[] = COMMANDS): Promise<ExitCode> {
  let code: ExitCode = 0;
  const program = buildProgram(
    ctx,
    (value) => {
      code = value;
    },
    commandsFor(ctx.argv, commands),
  );
  try {
    await program.parseAsync([...ctx.argv], { from: 'user' });
    return code;
  } catch (error) {
    return reportError(ctx, error);
  }
}

export function reportError(ctx: CliContext, error: unknown): ExitCode {
  if (error instanceof CommanderError) {
    return error.exitCode === 0 ? 0 : 2;
  }
  if (error instanceof KnocktailError) {
    writeLine(ctx.stderr, `knocktail: ${error.message}`);
    for (const line of error.details) writeLine(ctx.stderr, `  ${line}`);
    return exitCodeFor(error.code);
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  writeLine(ctx.stderr, `knocktail: unexpected error: ${message}`);
  return 1;
}
