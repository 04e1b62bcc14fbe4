import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { packageRoot } from '../install/shipped-assets.js';
import { KnocktailError, exitCodeFor } from '../errors.js';
import type { CliContext } from './context.js';
import { writeLine } from './context.js';
import { registerAudit } from './audit.js';
import { registerCheckConfig } from './check-config.js';
import { registerGrant, registerRevoke, registerStatus } from './control.js';
import { registerInstall } from './install.js';
import { registerKnock } from './knock.js';
import { registerReplay } from './replay.js';
import { registerRules, registerSetup, registerTeardown } from './rules.js';
import { registerRun } from './run.js';

// Builds the commander program; every command module registers itself with an action
// that resolves to an exit code.
export type ExitCode = 0 | 1 | 2;
export type CommandAction = (...args: never[]) => Promise<ExitCode>;

export function buildProgram(ctx: CliContext, setCode: (code: ExitCode) => void): Command {
  const program = new Command('knocktail')
    .description('Port knocking from kernel firewall log lines.')
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.stdout.write(text),
      writeErr: (text) => ctx.stderr.write(text),
    })
    .showHelpAfterError('(run `knocktail --help` for usage)');
  const reg = { program, ctx, setCode };
  registerRun(reg);
  registerReplay(reg);
  registerCheckConfig(reg);
  registerRules(reg);
  registerSetup(reg);
  registerTeardown(reg);
  registerInstall(reg);
  registerStatus(reg);
  registerGrant(reg);
  registerRevoke(reg);
  registerKnock(reg);
  registerAudit(reg);
  return program;
}

function packageVersion(): string {
  try {
    const { version } = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown };
    return typeof version === 'string' ? version : 'unknown';
  } catch {
    return 'unknown';
  }
}

export interface Registration {
  readonly program: Command;
  readonly ctx: CliContext;
  readonly setCode: (code: ExitCode) => void;
}

/** Runs the CLI and returns the exit status; never throws. */
export async function runCli(ctx: CliContext): Promise<ExitCode> {
  let code: ExitCode = 0;
  const program = buildProgram(ctx, (value) => {
    code = value;
  });
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
