import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { loadConfig } from '../config/load-config.js';
import { schemaPath } from '../config/schema-path.js';
import type { Config } from '../config/types.js';
import { applyInstallPlan, hostPath } from '../install/apply-install-plan.js';
import { buildConfigSkeleton, DEFAULT_PATHS, type SkeletonPaths } from '../install/config-skeleton.js';
import { formatInstallReport } from '../install/install-report.js';
import { buildInstallPlan, type SetupStep } from '../install/install-plan.js';
import { readShippedAssets } from '../install/shipped-assets.js';
import { configPath, writeLine } from './context.js';
import type { CommandAction } from './command-table.js';

interface InstallFlags {
  config?: string;
  dryRun?: boolean;
  root?: string;
}

// A path the loaded config holds, seen from the target system: the loader resolves relative
// paths against the config file, which with --root lies inside the staging tree.
function systemPath(root: string, path: string): string {
  return root !== '/' && path.startsWith(`${root}/`) ? path.slice(root.length) : path;
}

function pathsOf(config: Config, root: string): SkeletonPaths {
  return {
    logFile: systemPath(root, config.logFile),
    logPrefix: config.logPrefix,
    stateDir: systemPath(root, config.stateDir),
    auditLog: systemPath(root, config.auditLog),
  };
}

// `knocktail install`: config skeleton, directories, rsyslog drop-in, systemd unit, logrotate
// snippet, then the firewall setup; idempotent, and --dry-run only reports.
export const install: CommandAction<[], InstallFlags> = async (ctx, _args, flags) => {
  const root = flags.root === undefined ? '/' : resolve(ctx.cwd, flags.root);
  const dryRun = flags.dryRun === true;
  const given = configPath(ctx, flags.config);
  const systemConfig = root === '/' ? resolve(ctx.cwd, given) : isAbsolute(given) ? given : resolve('/', given);
  const hostConfig = hostPath(root, systemConfig);
  const existing = existsSync(hostConfig) ? await loadConfig(hostConfig) : undefined;
  const setup: SetupStep = dryRun
    ? { kind: 'skip', reason: 'dry run (`knocktail setup` would run next)' }
    : root !== '/'
      ? { kind: 'skip', reason: `staging root ${root}; run \`knocktail setup\` on the target` }
      : { kind: 'run' };
  const plan = buildInstallPlan({
    configPath: systemConfig,
    configSkeleton: buildConfigSkeleton(schemaPath()),
    configExists: existing !== undefined,
    paths: existing ? pathsOf(existing, root) : DEFAULT_PATHS,
    assets: await readShippedAssets(),
    setup,
    ...(root === '/' ? {} : { stagingRoot: root }),
  });
  const applied = await applyInstallPlan(plan, { root, dryRun });
  let setupDone = false;
  if (plan.setup.kind === 'run') {
    const config = existing ?? (await loadConfig(hostConfig));
    // Loaded only here: --root and --dry-run never need the firewall code.
    const { createFirewall, createSystemClock } = await import('./wiring.js');
    await createFirewall(config, createSystemClock()).setup(config.doors);
    setupDone = true;
  }
  for (const line of formatInstallReport(plan, applied, { dryRun, setupDone })) writeLine(ctx.stdout, line);
  return 0;
};
