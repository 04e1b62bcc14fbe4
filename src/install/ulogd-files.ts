import { KnocktailError } from '../model/errors.js';

// knocktail's own ulogd2 instance for the "nflog" source: a config and a systemd unit of its
// own, so the admin's /etc/ulogd.conf (and Debian's ulogd2.service) stay untouched. The stack
// is the one measured for the knock path: NFLOG → BASE → IFINDEX → IP2STR → PRINTPKT → LOGEMU,
// one packet per netlink message (netlink_qthreshold=1) and a flush per line (sync=1), so a
// knock is in the file within a millisecond or so. The unit runs it in UTC: the parser reads
// LOGEMU's yearless, zoneless time as UTC (parse/syslog-header.ts, splitUlogdHeader).
export const ULOGD_CONFIG_NAME = 'ulogd.conf';
export const ULOGD_UNIT_PATH = '/etc/systemd/system/knocktail-ulogd.service';
export const ULOGD_UNIT_NAME = 'knocktail-ulogd.service';
/** The schema's default nflog.group (a test keeps the two equal). */
export const DEFAULT_NFLOG_GROUP = 7;
/** Debian's plugin directory on amd64; install looks for the host's own (HostProbes.ulogdPluginDir). */
export const DEFAULT_ULOGD_PLUGIN_DIR = '/usr/lib/x86_64-linux-gnu/ulogd';

const PLUGINS = [
  'inppkt_NFLOG',
  'raw2packet_BASE',
  'filter_IFINDEX',
  'filter_IP2STR',
  'filter_PRINTPKT',
  'output_LOGEMU',
];

export interface UlogdOptions {
  /** The NFLOG group of the guard's rules (config nflog.group). */
  readonly group: number;
  /** Where the lines go: the config's logFile, which the daemon follows. */
  readonly logFile: string;
  readonly pluginDir: string;
}

// ulogd's config parser takes a quoted value up to the next quote, with no escapes.
function quoted(what: string, value: string): string {
  if (/["\u0000-\u001f\u007f]/.test(value))
    throw new KnocktailError(
      'USAGE',
      `Expected ${what} without quotes or control characters for the ulogd2 config, got ${JSON.stringify(value)}`,
    );
  return `"${value}"`;
}

/** The ulogd2 config knocktail's unit runs with. */
export function renderUlogdConfig(options: UlogdOptions): string {
  if (!Number.isInteger(options.group) || options.group < 0 || options.group > 65535)
    throw new KnocktailError('USAGE', `Expected nflog.group to be 0-65535, got ${options.group}`);
  return [
    '# knocktail: its own ulogd2 instance (source "nflog"); written by `knocktail install`, rewritten on every install.',
    '# Reads NFLOG group ' +
      String(options.group) +
      ' only and writes the lines knocktail follows. /etc/ulogd.conf is not used.',
    '[global]',
    'logfile="stdout"',
    '# 3: its start ("initialization finished") and errors, in the journal; nothing per packet.',
    'loglevel=3',
    ...PLUGINS.map(
      (plugin) => `plugin=${quoted('the ulogd2 plugin directory', `${options.pluginDir}/ulogd_${plugin}.so`)}`,
    ),
    'stack=knock:NFLOG,base:BASE,ifindex:IFINDEX,ip2str:IP2STR,print:PRINTPKT,emu:LOGEMU',
    '',
    '[knock]',
    `group=${options.group}`,
    '# One packet per netlink message: the line is written when the knock arrives, not in batches.',
    'netlink_qthreshold=1',
    '',
    '[emu]',
    `file=${quoted('logFile', options.logFile)}`,
    'sync=1',
    '',
  ].join('\n');
}

/** The unit that runs it: as root (NFLOG needs CAP_NET_ADMIN), the file root:knocktail 0640 like rsyslog's. */
export function renderUlogdUnit(configPath: string, logDir: string): string {
  for (const [what, path] of [
    ['the ulogd2 config path', configPath],
    ['the log directory', logDir],
  ] as const) {
    if (/[\s"\\%\u0000-\u001f\u007f]/.test(path))
      throw new KnocktailError(
        'USAGE',
        `Expected ${what} without spaces, quotes, backslashes or %, got ${JSON.stringify(path)}`,
      );
  }
  return [
    '# knocktail: its own ulogd2 instance for `"source": "nflog"` (docs/nflog.md); written by `knocktail install`.',
    '# `systemd-analyze security --offline=true` rates it 1.8 (root is needed: NFLOG binds with CAP_NET_ADMIN).',
    '# It leaves /etc/ulogd.conf and ulogd2.service alone; stop that one if it listens on the same NFLOG group.',
    '[Unit]',
    'Description=ulogd2 for knocktail (NFLOG knock lines)',
    'Before=knocktail.service',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=/usr/sbin/ulogd -c ${configPath}`,
    '# LOGEMU reopens its file on SIGHUP (logrotate).',
    'ExecReload=/bin/kill -HUP $MAINPID',
    'Restart=on-failure',
    'RestartSec=2s',
    '# LOGEMU writes a yearless local time; knocktail reads it as UTC.',
    'Environment=TZ=UTC',
    '# The knock log is root:knocktail 0640, as rsyslog writes it: the daemon reads it through its own group, no adm.',
    'Group=knocktail',
    'UMask=0027',
    'CapabilityBoundingSet=CAP_NET_ADMIN CAP_DAC_OVERRIDE',
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    '# "-": a missing directory must not fail the namespace set-up (install creates it; ulogd retries).',
    `ReadWritePaths=-${logDir}`,
    'ProtectHome=yes',
    'PrivateTmp=yes',
    'PrivateDevices=yes',
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectControlGroups=yes',
    'ProtectKernelLogs=yes',
    'ProtectClock=yes',
    'ProtectHostname=yes',
    'ProtectProc=invisible',
    'PrivateMounts=yes',
    '# NFLOG is netlink; it needs no IP socket at all.',
    'RestrictAddressFamilies=AF_NETLINK AF_UNIX',
    'IPAddressDeny=any',
    'RestrictNamespaces=yes',
    'RestrictRealtime=yes',
    'RestrictSUIDSGID=yes',
    'LockPersonality=yes',
    'MemoryDenyWriteExecute=yes',
    'SystemCallFilter=@system-service',
    'SystemCallErrorNumber=EPERM',
    'SystemCallArchitectures=native',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}
