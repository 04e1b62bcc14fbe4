import { existsSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { loadConfig } from '../config/load-config.js';
import { KnocktailError } from '../model/errors.js';
import { schemaPath } from '../config/schema-path.js';
import type { Config } from '../config/types.js';
import { applyInstallPlan, hostPath } from '../install/apply-install-plan.js';
import { formatDuration } from '../model/duration.js';
import { LINUX_DEFAULT_EPHEMERAL, type HostPorts } from '../host/host-ports.js';
import {
  buildConfigSkeleton,
  DEFAULT_PATHS,
  SKELETON_DOOR,
  SKELETON_OPEN,
  SKELETON_OPEN_FOR,
  skeletonSteps,
  type SkeletonPaths,
} from '../install/config-skeleton.js';
import { formatInstallReport } from '../install/install-report.js';
import { buildInstallPlan, type KnockHint, type SetupStep } from '../install/install-plan.js';
import {
  DEFAULT_NFLOG_GROUP,
  DEFAULT_ULOGD_PLUGIN_DIR,
  ULOGD_CONFIG_NAME,
  ULOGD_UNIT_PATH,
} from '../install/ulogd-files.js';
import { chooseKnockPorts, type KnockPortChoice } from '../install/knock-ports.js';
import { packageRoot, readShippedAssets } from '../install/shipped-assets.js';
import { formatPort, formatStep, type Door } from '../model/door.js';
import { findServiceGroup, shareConfigWithGroup } from '../install/service-user.js';
import { configPath, writeLine } from './context.js';
import { hostProbesOf } from './host-probes.js';
import type { CommandAction } from './command-table.js';

interface InstallFlags {
  config?: string;
  dryRun?: boolean;
  root?: string;
  now?: boolean;
  configOnly?: boolean;
  knockPorts?: string;
}

// Where the .deb puts the schema, at a path that stays put across versions: a staged config names it.
const SHIPPED_SCHEMA = '/usr/share/knocktail/config.schema.json';

// --knock-ports A,B,C,D: the open sequence then the close port, e.g. the ones a dry run drew.
function parseKnockPorts(text: string): KnockPortChoice {
  const ports = text.split(',').map((part) => part.trim());
  const numbers = ports.map(Number);
  const valid =
    ports.length >= 2 &&
    ports.every((part, i) => /^\d{1,5}$/.test(part) && numbers[i]! >= 1 && numbers[i]! <= 65535 && numbers[i] !== 22) &&
    new Set(numbers).size === numbers.length;
  if (!valid)
    throw new KnocktailError(
      'USAGE',
      `Expected --knock-ports to be distinct ports 1-65535 other than 22 (the port the door opens), the open sequence then the close port, like 26975,27878,29504,31206, got ${JSON.stringify(text)}`,
    );
  return { sequence: numbers.slice(0, -1), close: numbers.at(-1)! };
}

// What the first door does, as the report and the first-run steps show it.
function hintOf(door: Door): KnockHint {
  const lifetime = door.openFor === null ? 'until closed' : `for ${formatDuration(door.openFor)}`;
  return {
    door: door.name,
    sequence: door.sequence.map(formatStep),
    close: door.closeSequence.map(formatStep),
    effect: `opens ${door.open.map(formatPort).join(' ')} ${lifetime}`,
  };
}

// A path the loaded config holds, seen from the target system: the loader resolves relative
// paths against the config file, which with --root lies inside the staging tree.
function systemPath(root: string, path: string): string {
  return root !== '/' && path.startsWith(`${root}/`) ? path.slice(root.length) : path;
}

// Symlinks resolved; a path that does not exist (an unbuilt checkout under test) stays as it is.
function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
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
// snippet; the firewall setup only with --now (the guard closes ssh to new connections, so
// the admin arms it when ready, with the current session still open); idempotent, and
// --dry-run only reports. A new config gets random knock ports clear of this host's
// listening services and ephemeral range.
export const install: CommandAction<[], InstallFlags> = async (ctx, _args, flags) => {
  const root = flags.root === undefined ? '/' : resolve(ctx.cwd, flags.root);
  const dryRun = flags.dryRun === true;
  const configOnly = flags.configOnly === true;
  const given = configPath(ctx, flags.config);
  const systemConfig = root === '/' ? resolve(ctx.cwd, given) : isAbsolute(given) ? given : resolve('/', given);
  const hostConfig = hostPath(root, systemConfig);
  const existing = existsSync(hostConfig) ? await loadConfig(hostConfig) : undefined;
  const serviceGroup = await findServiceGroup(root);
  const setup: SetupStep = configOnly
    ? { kind: 'skip', reason: '--config-only' }
    : dryRun
      ? {
          kind: 'skip',
          reason:
            flags.now === true
              ? 'dry run (`knocktail setup` would run next)'
              : 'dry run (and without --now the guard is not armed)',
        }
      : root !== '/'
        ? { kind: 'skip', reason: `staging root ${root}; run \`knocktail setup\` on the target` }
        : flags.now === true
          ? { kind: 'run' }
          : {
              kind: 'skip',
              reason:
                'not armed yet, so ssh stays open (run `knocktail setup`, `install --now`, or start the service when ready)',
            };
  // A staging tree's target is another machine: its listeners are unknown, its ephemeral range likely the default.
  const host: HostPorts =
    root === '/' ? await hostProbesOf(ctx).ports.read() : { listening: [], ephemeral: LINUX_DEFAULT_EPHEMERAL };
  const probes = hostProbesOf(ctx);
  const knock =
    flags.knockPorts === undefined
      ? chooseKnockPorts(host, probes.randomInt, { avoid: [22] })
      : parseKnockPorts(flags.knockPorts);
  // In a container LOG lines reach no log: a new config reads NFLOG through knocktail's ulogd2.
  const container = existing === undefined && root === '/' ? await probes.container?.() : undefined;
  const nflogGroup = existing
    ? existing.source === 'nflog'
      ? existing.nflog.group
      : undefined
    : container === undefined
      ? undefined
      : DEFAULT_NFLOG_GROUP;
  const pluginDir = nflogGroup === undefined ? undefined : await probes.ulogdPluginDir?.();
  const steps = skeletonSteps(knock);
  const hint: KnockHint = existing?.doors[0]
    ? hintOf(existing.doors[0])
    : {
        door: SKELETON_DOOR,
        sequence: steps.sequence,
        close: steps.close,
        effect: `opens ${SKELETON_OPEN} for ${SKELETON_OPEN_FOR}`,
      };
  const planned = buildInstallPlan({
    configPath: systemConfig,
    // A staged tree is for another machine: it names the .deb's schema and /usr/bin/knocktail, not this checkout.
    configSkeleton: buildConfigSkeleton(
      root === '/' ? schemaPath() : SHIPPED_SCHEMA,
      knock,
      DEFAULT_PATHS,
      container === undefined ? undefined : { group: DEFAULT_NFLOG_GROUP },
    ),
    configExists: existing !== undefined,
    paths: existing ? pathsOf(existing, root) : DEFAULT_PATHS,
    assets: await readShippedAssets(),
    setup,
    knock: hint,
    ...(root === '/' ? {} : { stagingRoot: root }),
    // The unit runs this very node and CLI, symlinks resolved (npm -g links into the clone).
    ...(root === '/'
      ? {
          program: {
            node: realPath(process.execPath),
            cli: realPath(join(packageRoot(), 'dist', 'src', 'cli', 'main.js')),
          },
        }
      : {}),
    serviceUserExists: serviceGroup !== undefined,
    ...(nflogGroup === undefined
      ? {}
      : {
          nflog: {
            group: nflogGroup,
            pluginDir: pluginDir ?? DEFAULT_ULOGD_PLUGIN_DIR,
            ulogdInstalled: pluginDir !== undefined,
          },
        }),
  });
  if (container !== undefined)
    writeLine(
      ctx.stdout,
      `container (${container}): the new config reads knocks through NFLOG and knocktail's ulogd2 ("source": "nflog"), since LOG lines of a container reach no log`,
    );
  // --config-only (the .deb's postinst) writes what a package cannot ship: the config and, when it reads NFLOG, knocktail's ulogd2 config and unit.
  const configEntries = new Set([
    systemConfig,
    dirname(systemConfig),
    join(dirname(systemConfig), ULOGD_CONFIG_NAME),
    ULOGD_UNIT_PATH,
  ]);
  const plan = configOnly
    ? { ...planned, entries: planned.entries.filter((entry) => configEntries.has(entry.path)), nextSteps: [] }
    : planned;
  const applied = await applyInstallPlan(plan, { root, dryRun });
  // The daemon runs as the knocktail user and reads its config through the group.
  const shared =
    dryRun || serviceGroup === undefined
      ? []
      : await shareConfigWithGroup([dirname(hostConfig), hostConfig], serviceGroup);
  let setupDone = false;
  let setupError: Error | undefined;
  if (plan.setup.kind === 'run') {
    const config = existing ?? (await loadConfig(hostConfig));
    // Loaded only here: --root and --dry-run never need the firewall code.
    const { createFirewall, createSystemClock } = await import('./wiring.js');
    try {
      const { armConfiguredGuard } = await import('./rules.js');
      await armConfiguredGuard(ctx, config, createFirewall(config, createSystemClock()), 'knocktail install');
      setupDone = true;
    } catch (error) {
      setupError = error instanceof Error ? error : new Error(String(error));
    }
  }
  for (const path of shared) writeLine(ctx.stdout, `group knocktail: ${path}`);
  // The files are in place either way: the admin gets the report (and the knock) before a refused setup's error.
  for (const line of formatInstallReport(plan, applied, { dryRun, setupDone, setupFailed: setupError !== undefined }))
    writeLine(ctx.stdout, line);
  // The skeleton's knock ports are drawn afresh by every run: a dry run says how to keep the ones it showed.
  if (dryRun && existing === undefined && !configOnly && flags.knockPorts === undefined) {
    writeLine(ctx.stdout);
    writeLine(
      ctx.stdout,
      `These knock ports were drawn for this dry run; a real install draws new ones. To install exactly these: knocktail install --knock-ports ${[...knock.sequence, knock.close].join(',')}`,
    );
  }
  if (setupError !== undefined) throw setupError;
  return 0;
};
