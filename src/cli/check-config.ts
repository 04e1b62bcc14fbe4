import { resolve } from 'node:path';
import { describeDoor } from '../config/describe-door.js';
import { loadConfig } from '../config/load-config.js';
import { checkConfigWarnings } from '../config/config-warnings.js';
import { checkKnockPortsAgainstHost } from '../config/port-warnings.js';
import { describeHostFirewallProbe } from '../firewall/host-firewall-check.js';
import { KnocktailError } from '../errors.js';
import type { CommandAction, ExitCode } from './command-table.js';
import { configPath, writeLine, type CliContext } from './context.js';
import { hostProbesOf } from './host-probes.js';

// `knocktail check-config`: the daemon's own loader, run without starting anything. The
// problems go to stdout one per line ("path: message") so scripts can read them. A valid
// config is then held against this host: warnings about knock ports (listening services,
// the ephemeral range, huge ranges) and the host firewall's verdict, still exit 0.
export async function checkConfig(ctx: CliContext, option: string | undefined): Promise<ExitCode> {
  const path = resolve(ctx.cwd, configPath(ctx, option));
  try {
    const config = await loadConfig(path);
    writeLine(ctx.stdout, `config OK: ${path}`);
    const host = hostProbesOf(ctx);
    for (const warning of checkConfigWarnings(config)) writeLine(ctx.stdout, `warning: ${warning}`);
    for (const warning of checkKnockPortsAgainstHost(config.doors, await host.ports.read())) writeLine(ctx.stdout, `warning: ${warning}`);
    const probe = await host.firewall(config.firewall.backend);
    writeLine(ctx.stdout, describeHostFirewallProbe(probe, config.firewall.backend, config.firewall.hostFirewall ?? 'check'));
    for (const door of config.doors) writeLine(ctx.stdout, `${describeDoor(door)}${config.fleet?.doors.includes(door.name) ? ' [fleet]' : ''}`);
    const fleet = config.fleet;
    if (fleet) writeLine(ctx.stdout, `fleet ${fleet.group} as ${fleet.host}: ${fleet.servers.join(', ')}; fleet doors ${fleet.doors.join(', ') || 'none'}`);
    return 0;
  } catch (error) {
    if (!(error instanceof KnocktailError) || error.code !== 'CONFIG_INVALID') throw error;
    writeLine(ctx.stderr, `knocktail: ${error.message}`);
    for (const line of error.details) writeLine(ctx.stdout, line);
    return 2;
  }
}

export const checkConfigCommand: CommandAction<[], { config?: string }> = (ctx, _args, flags) => checkConfig(ctx, flags.config);
