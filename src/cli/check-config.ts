import { resolve } from 'node:path';
import { describeDoor } from '../config/describe-door.js';
import { loadConfig } from '../config/load-config.js';
import { KnocktailError } from '../errors.js';
import type { CommandAction, ExitCode } from './command-table.js';
import { configPath, writeLine, type CliContext } from './context.js';

// `knocktail check-config`: the daemon's own loader, run without starting anything. The
// problems go to stdout one per line ("path: message") so scripts can read them.
export async function checkConfig(ctx: CliContext, option: string | undefined): Promise<ExitCode> {
  const path = resolve(ctx.cwd, configPath(ctx, option));
  try {
    const config = await loadConfig(path);
    writeLine(ctx.stdout, `config OK: ${path}`);
    for (const door of config.doors) writeLine(ctx.stdout, describeDoor(door));
    return 0;
  } catch (error) {
    if (!(error instanceof KnocktailError) || error.code !== 'CONFIG_INVALID') throw error;
    writeLine(ctx.stderr, `knocktail: ${error.message}`);
    for (const line of error.details) writeLine(ctx.stdout, line);
    return 2;
  }
}

export const checkConfigCommand: CommandAction<[], { config?: string }> = (ctx, _args, flags) => checkConfig(ctx, flags.config);
