import { dirname, join } from 'node:path';
import type { SkeletonPaths } from './config-skeleton.js';
import { renderLogrotateSnippet } from './logrotate-snippet.js';
import { renderRsyslogDropin } from './rsyslog-dropin.js';
import type { ShippedAssets } from './shipped-assets.js';
import { checkUnitSandbox, renderSystemdUnit, type SandboxNeed, type UnitProgram } from './systemd-unit.js';
import {
  renderUlogdConfig,
  renderUlogdUnit,
  ULOGD_CONFIG_NAME,
  ULOGD_UNIT_NAME,
  ULOGD_UNIT_PATH,
} from './ulogd-files.js';

// What `knocktail install` does, as data: directories and files (with modes and content)
// in system paths, whether to run the firewall setup, and what the admin does next.
// Built by a pure function; applyInstallPlan() carries it out (or only compares, for --dry-run).

export interface PlannedDir {
  readonly kind: 'dir';
  readonly path: string;
  readonly mode: number;
  readonly purpose: string;
}

export interface PlannedFile {
  readonly kind: 'file';
  readonly path: string;
  readonly mode: number;
  readonly content: string;
  /** An existing file is left alone (the admin's config), instead of being brought up to date. */
  readonly keepExisting: boolean;
  readonly purpose: string;
}

export type PlannedEntry = PlannedDir | PlannedFile;

export type SetupStep = { readonly kind: 'run' } | { readonly kind: 'skip'; readonly reason: string };

/** The knock the installed config answers to, for the report and the first-run steps. */
export interface KnockHint {
  readonly door: string;
  /** Open sequence steps ("tcp:PORT"); empty when the door has no fixed sequence. */
  readonly sequence: readonly string[];
  readonly close: readonly string[];
  /** "opens tcp:22 for 1h", as check-config describes the door. */
  readonly effect: string;
}

export interface InstallPlan {
  readonly entries: readonly PlannedEntry[];
  readonly setup: SetupStep;
  readonly knock?: KnockHint;
  readonly nextSteps: readonly string[];
}

export interface InstallInput {
  readonly configPath: string;
  /** Config text to write when there is none. */
  readonly configSkeleton: string;
  /** Whether a config is there already (it is then kept as it is). */
  readonly configExists: boolean;
  /** The paths and prefix of the config that is (or will be) installed. */
  readonly paths: SkeletonPaths;
  readonly assets: ShippedAssets;
  readonly setup: SetupStep;
  /** The first door of the config that is (or will be) installed. */
  readonly knock?: KnockHint;
  /** Set when installing into a staging tree instead of /. */
  readonly stagingRoot?: string;
  /** The node and CLI the unit runs (real paths); the shipped /usr/bin/knocktail when absent. */
  readonly program?: UnitProgram;
  /** Whether the `knocktail` system user the unit runs as exists already. */
  readonly serviceUserExists?: boolean;
  /** Set when the config's source is "nflog": knocktail's own ulogd2 (config and unit) replaces the rsyslog drop-in. */
  readonly nflog?: { readonly group: number; readonly pluginDir: string; readonly ulogdInstalled: boolean };
}

export const RSYSLOG_DROPIN_PATH = '/etc/rsyslog.d/30-knocktail.conf';
export const SYSTEMD_UNIT_PATH = '/etc/systemd/system/knocktail.service';
export const LOGROTATE_PATH = '/etc/logrotate.d/knocktail';

// What the daemon reads and writes, which the unit's sandbox must leave visible.
function configNeeds(input: InstallInput): SandboxNeed[] {
  const move = (key: string): string[] => [
    `move it out of /tmp and the home directories (${key}), e.g. to the default under /etc/knocktail, /var/lib/knocktail or /var/log/knocktail`,
  ];
  return [
    { what: 'the config file', path: input.configPath, fixes: move('--config') },
    { what: 'the knock log (logFile)', path: input.paths.logFile, fixes: move('logFile in the config') },
    {
      what: 'the state directory (stateDir)',
      path: input.paths.stateDir,
      write: true,
      fixes: move('stateDir in the config'),
    },
    {
      what: 'the audit log (auditLog)',
      path: input.paths.auditLog,
      write: true,
      fixes: move('auditLog in the config'),
    },
  ];
}

export function buildInstallPlan(input: InstallInput): InstallPlan {
  const { paths } = input;
  const logDirs = [...new Set([dirname(paths.logFile), dirname(paths.auditLog)])];
  const unit = renderSystemdUnit(input.assets.systemdUnit, [paths.stateDir, ...logDirs], input.program);
  checkUnitSandbox(unit, configNeeds(input));
  const entries: PlannedEntry[] = [
    { kind: 'dir', path: dirname(input.configPath), mode: 0o750, purpose: 'config directory' },
  ];
  entries.push(
    {
      kind: 'file',
      path: input.configPath,
      mode: 0o640,
      content: input.configSkeleton,
      keepExisting: true,
      purpose: 'config skeleton',
    },
    { kind: 'dir', path: paths.stateDir, mode: 0o700, purpose: 'state directory' },
    ...logDirs.map((path): PlannedDir => ({ kind: 'dir', path, mode: 0o750, purpose: 'log directory' })),
    ...logWriterFiles(input, dirname(paths.logFile)),
    {
      kind: 'file',
      path: SYSTEMD_UNIT_PATH,
      mode: 0o644,
      content: unit,
      keepExisting: false,
      purpose: 'systemd unit',
    },
    {
      kind: 'file',
      path: LOGROTATE_PATH,
      mode: 0o644,
      content: renderLogrotateSnippet(input.assets.logrotate, { logFile: paths.logFile, auditLog: paths.auditLog }),
      keepExisting: false,
      purpose: 'logrotate snippet',
    },
  );
  return { entries, setup: input.setup, ...(input.knock ? { knock: input.knock } : {}), nextSteps: nextSteps(input) };
}

// What writes the knock log: rsyslog's drop-in (kernel LOG lines), or knocktail's ulogd2 (NFLOG).
function logWriterFiles(input: InstallInput, logDir: string): PlannedFile[] {
  const { paths, nflog } = input;
  if (!nflog) {
    const content = renderRsyslogDropin(input.assets.rsyslogDropin, {
      prefix: paths.logPrefix,
      logFile: paths.logFile,
    });
    return [
      {
        kind: 'file',
        path: RSYSLOG_DROPIN_PATH,
        mode: 0o644,
        content,
        keepExisting: false,
        purpose: 'rsyslog drop-in',
      },
    ];
  }
  const configPath = join(dirname(input.configPath), ULOGD_CONFIG_NAME);
  return [
    {
      kind: 'file',
      path: configPath,
      mode: 0o644,
      content: renderUlogdConfig({ group: nflog.group, logFile: paths.logFile, pluginDir: nflog.pluginDir }),
      keepExisting: false,
      purpose: 'ulogd2 config (NFLOG)',
    },
    {
      kind: 'file',
      path: ULOGD_UNIT_PATH,
      mode: 0o644,
      content: renderUlogdUnit(configPath, logDir),
      keepExisting: false,
      purpose: 'ulogd2 unit (NFLOG)',
    },
  ];
}

/** The client command that opens the door from the admin's own machine. */
export function knockCommand(knock: KnockHint): string {
  return knock.sequence.length > 0
    ? `knocktail knock HOST ${knock.sequence.join(' ')}`
    : `knocktail knock HOST --door ${knock.door} --config <a copy of this config>`;
}

// The first run never locks the admin out: the guard is armed with the ssh session still
// open, and that session is only closed once a second login through the knock worked.
function nextSteps(input: InstallInput): string[] {
  const steps: string[] = [];
  if (input.stagingRoot !== undefined)
    steps.push(
      `copy the staged tree under ${input.stagingRoot} onto the target machine, then follow these steps there`,
    );
  const check = input.configExists
    ? `check ${input.configPath}`
    : `read ${input.configPath} (its knock ports were chosen at random for this host; keep them secret)`;
  steps.push(`${check}, then run \`knocktail check-config\``);
  if (input.serviceUserExists === false) {
    steps.push(
      'adduser --system --group --home /var/lib/knocktail --no-create-home knocktail   (the unit runs as this user; its group reads the knock log)',
    );
    steps.push(
      `chgrp knocktail ${dirname(input.configPath)} ${input.configPath}   (the daemon reads its config as that user)`,
    );
  }
  if (!input.nflog) steps.push('systemctl restart rsyslog   (loads the drop-in that writes the knock log)');
  else {
    if (!input.nflog.ulogdInstalled)
      steps.push('apt-get install ulogd2   (the NFLOG source reads the knocks through it)');
    steps.push(
      `systemctl daemon-reload && systemctl enable --now ${ULOGD_UNIT_NAME}   (knocktail's own ulogd2: writes the knock log from NFLOG group ${input.nflog.group})`,
    );
  }
  // Numbered below; the knock step's number depends on the steps before it.
  const keepOpen = steps.push('') - 1;
  if (input.setup.kind !== 'run')
    steps.push(
      'systemctl daemon-reload && systemctl enable --now knocktail   (arms the guard: new ssh connections now need the knock)',
    );
  else steps.push('systemctl daemon-reload && systemctl enable --now knocktail   (the guard is armed already)');
  const knock = input.knock ? knockCommand(input.knock) : 'knocktail knock HOST STEP...';
  const knockStep = steps.push(`from your own machine: ${knock}, then log in with ssh in a second terminal`);
  steps[keepOpen] = `keep this ssh session open until step ${knockStep} worked`;
  steps.push(
    'only when that second login works, close the first session (if it does not, run `knocktail teardown` in the open session)',
  );
  return steps.map((step, index) => `${index + 1}. ${step}`);
}
