import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { describeLogPathFacts } from '../canary/log-path-advice.js';
import { canaryPort } from '../firewall/canary-port.js';
import { checkKeyFiles, checkLogFile, keyFilesOf, type FileOwnerOf } from '../config/file-warnings.js';
import { describeDoor } from '../config/describe-door.js';
import { loadConfig } from '../config/load-config.js';
import type { Config } from '../config/types.js';
import { checkConfigWarnings } from '../config/config-warnings.js';
import { checkDoorStrength } from '../config/door-strength.js';
import { checkKnockPortsAgainstHost } from '../config/port-warnings.js';
import { describeHostFirewallProbe, guardHostOf } from '../firewall/host-firewall-check.js';
import { describeRefusal } from '../firewall/refusal.js';
import { describeForwardPlan } from '../firewall/forward-plan.js';
import { collectDoorPorts } from '../firewall/door-ports.js';
import { KnocktailError } from '../model/errors.js';
import type { CommandAction, ExitCode } from './command-table.js';
import { configPath, writeLine, type CliContext } from './context.js';
import { hostProbesOf, type HostProbes } from './host-probes.js';

// `knocktail check-config`: the daemon's own loader, run without starting anything. The
// problems go to stdout one per line ("path: message") so scripts can read them. A valid
// config is then held against this host: warnings about knock ports (listening services,
// the ephemeral range, huge ranges), key files others can read or the daemon cannot, a
// general syslog file as the knock log, and the host firewall's verdict, still exit 0.
const ownerOf: FileOwnerOf = (path) => {
  try {
    const { uid, mode } = statSync(path);
    return { uid, mode };
  } catch {
    return undefined;
  }
};

// SPA doors read their packets through tcpdump; without it the daemon refuses to arm the guard.
async function spaCaptureWarnings(config: Config, host: HostProbes): Promise<string[]> {
  const doors = config.doors.filter((door) => door.spa !== undefined).map((door) => door.name);
  const missing = doors.length > 0 ? await host.missingProgram?.('tcpdump') : undefined;
  return missing === undefined
    ? []
    : [
        `SPA door(s) ${doors.join(', ')} read their packets through tcpdump: ${missing}; without it \`knocktail run\` refuses to arm the guard`,
      ];
}

export async function checkConfig(ctx: CliContext, option: string | undefined): Promise<ExitCode> {
  const path = resolve(ctx.cwd, configPath(ctx, option));
  try {
    const config = await loadConfig(path);
    writeLine(ctx.stdout, `config OK: ${path}`);
    const host = hostProbesOf(ctx);
    for (const warning of checkConfigWarnings(config)) writeLine(ctx.stdout, `warning: ${warning}`);
    for (const warning of checkDoorStrength(config.doors).warnings) writeLine(ctx.stdout, `warning: ${warning}`);
    const warnings = [
      ...checkKnockPortsAgainstHost(config.doors, await host.ports.read()),
      ...checkLogFile(config),
      ...checkKeyFiles(keyFilesOf(config), ownerOf, await host.serviceUser()),
      ...(await spaCaptureWarnings(config, host)),
    ];
    for (const warning of warnings) writeLine(ctx.stdout, `warning: ${warning}`);
    const probe = await host.firewall(config.firewall.backend);
    writeLine(
      ctx.stdout,
      describeHostFirewallProbe(probe, config.firewall.backend, config.firewall.hostFirewall ?? 'check'),
    );
    writeLine(ctx.stdout, describeRefusal(guardHostOf(probe, config.firewall.refusal, []).refusal));
    const facts = await host.logPathFacts?.(config);
    if (facts)
      for (const line of describeLogPathFacts(facts, canaryPort(config.doors, config.logPrefix)))
        writeLine(ctx.stdout, line);
    if (host.forward && config.firewall.backend !== 'dry-run') {
      for (const line of describeForwardPlan(
        await host.forward(collectDoorPorts(config.doors).protectedPorts),
        config.firewall.backend,
      ))
        writeLine(ctx.stdout, line);
    }
    for (const door of config.doors)
      writeLine(ctx.stdout, `${describeDoor(door)}${config.fleet?.doors.includes(door.name) ? ' [fleet]' : ''}`);
    const fleet = config.fleet;
    if (fleet)
      writeLine(
        ctx.stdout,
        `fleet ${fleet.group} as ${fleet.host}: ${fleet.servers.join(', ')}; fleet doors ${fleet.doors.join(', ') || 'none'}`,
      );
    return 0;
  } catch (error) {
    if (!(error instanceof KnocktailError) || error.code !== 'CONFIG_INVALID') throw error;
    writeLine(ctx.stderr, `knocktail: ${error.message}`);
    for (const line of error.details) writeLine(ctx.stdout, line);
    return 2;
  }
}

export const checkConfigCommand: CommandAction<[], { config?: string }> = (ctx, _args, flags) =>
  checkConfig(ctx, flags.config);
