import { resolve } from 'node:path';
import type { Clock } from '../model/clock.js';
import { loadConfig } from '../config/load-config.js';
import type { Config } from '../config/types.js';
import { armGuard, describeLogPath, logPathError } from '../canary/arm-guard.js';
import type { LogPathHealth } from '../canary/log-path.js';
import type { FirewallBackend } from '../firewall/backend.js';
import { withFirewallLock } from '../firewall/firewall-lock.js';
import { describeHostFirewallProbe, guardHostOf } from '../firewall/host-firewall-check.js';
import { describeRefusal } from '../firewall/refusal.js';
import { describeForwardPlan } from '../firewall/forward-plan.js';
import { collectDoorPorts } from '../firewall/door-ports.js';
import { formatArgv } from '../firewall/shell-quote.js';
import { configPath, writeLine } from './context.js';
import type { CliContext } from './context.js';
import type { CommandAction, ExitCode } from './command-table.js';
import { hostProbesOf } from './host-probes.js';
import { createFirewall, createSystemClock, listeningPorts } from './wiring.js';

// `knocktail rules`, `setup` and `teardown`: print, apply or remove the firewall rule set the
// configured doors need. The backend factory is a parameter so tests can pass a recording one.
export type BackendFactory = (config: Config, clock: Clock) => FirewallBackend;

async function load(ctx: CliContext, option: string | undefined): Promise<Config> {
  return loadConfig(resolve(ctx.cwd, configPath(ctx, option)));
}

/**
 * Prints the setup commands, one shell-quoted argv per line, as setup would write them on this
 * host (the refusal and tripwires follow its firewall and listeners), then `#` lines on the
 * host's firewall and the refusal; nothing is run.
 */
export async function printRules(
  ctx: CliContext,
  option: string | undefined,
  factory: BackendFactory = createFirewall,
): Promise<ExitCode> {
  const config = await load(ctx, option);
  const probes = hostProbesOf(ctx);
  const probe = await probes.firewall(config.firewall.backend);
  const host = guardHostOf(probe, config.firewall.refusal, listeningPorts((await probes.ports.read()).listening));
  for (const argv of factory(config, createSystemClock()).describeSetup(config.doors, host))
    writeLine(ctx.stdout, formatArgv(argv));
  writeLine(
    ctx.stdout,
    `# ${describeHostFirewallProbe(probe, config.firewall.backend, config.firewall.hostFirewall ?? 'check')}`,
  );
  writeLine(ctx.stdout, `# ${describeRefusal(host.refusal)}`);
  // The forward twin's rules depend on the DNAT rules setup finds (docs/docker.md): said, not listed.
  if (probes.forward && config.firewall.backend !== 'dry-run') {
    for (const line of describeForwardPlan(
      await probes.forward(collectDoorPorts(config.doors).protectedPorts),
      config.firewall.backend,
    ))
      writeLine(ctx.stdout, `# ${line}`);
  }
  return 0;
}

/**
 * Arms the guard under the firewall lock, in two phases when the host can prove the log path
 * (the canary, src/canary/arm-guard.ts); a silent path removes the guard and throws LOG_PATH.
 */
export async function armConfiguredGuard(
  ctx: CliContext,
  config: Config,
  backend: FirewallBackend,
  holder: string,
): Promise<LogPathHealth | undefined> {
  const prove = await hostProbesOf(ctx).logPath?.(config);
  const health = await withFirewallLock(config.stateDir, { holder }, async () => {
    try {
      return await armGuard(backend, config.doors, prove);
    } finally {
      await backend.stop?.();
    }
  });
  if (health?.ok === false) throw logPathError(health);
  return health;
}

/** Creates or refreshes knocktail's chains, sets and guard rules (idempotent), once the canary came back. */
export async function applySetup(
  ctx: CliContext,
  option: string | undefined,
  factory: BackendFactory = createFirewall,
): Promise<ExitCode> {
  const config = await load(ctx, option);
  const backend = factory(config, createSystemClock());
  const health = await armConfiguredGuard(ctx, config, backend, 'knocktail setup');
  writeLine(
    ctx.stdout,
    `knocktail: firewall rules for ${config.doors.length} door(s) in place (backend ${backend.name})`,
  );
  if (health) writeLine(ctx.stdout, describeLogPath(health));
  return 0;
}

/** Removes everything knocktail added to the firewall, open grants included. */
export async function applyTeardown(
  ctx: CliContext,
  option: string | undefined,
  factory: BackendFactory = createFirewall,
): Promise<ExitCode> {
  const config = await load(ctx, option);
  const backend = factory(config, createSystemClock());
  await withFirewallLock(config.stateDir, { holder: 'knocktail teardown' }, async () => {
    await backend.teardown();
    await backend.stop?.();
  });
  writeLine(ctx.stdout, `knocktail: firewall rules removed (backend ${backend.name})`);
  return 0;
}

type ConfigFlags = { config?: string };

export const rulesCommand: CommandAction<[], ConfigFlags> = (ctx, _args, flags) => printRules(ctx, flags.config);
export const setupCommand: CommandAction<[], ConfigFlags> = (ctx, _args, flags) => applySetup(ctx, flags.config);
export const teardownCommand: CommandAction<[], ConfigFlags> = (ctx, _args, flags) => applyTeardown(ctx, flags.config);
