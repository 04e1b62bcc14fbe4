import type { CliContext } from './context.js';

// Every command as data: its arguments, its options and a loader for the module that runs it.
// program.ts turns this table into commander definitions without importing a single command
// module, so `--version` and `--help` load nothing heavy; man pages and shell completion read
// the same table, so they cannot drift from what the parser accepts.
export type ExitCode = 0 | 1 | 2;

export interface ArgumentDef {
  /** Commander syntax: `<src>` required, `[steps...]` optional and variadic. */
  readonly name: string;
  readonly description: string;
  /** The only accepted values (commander refuses the rest; completion offers them). */
  readonly choices?: readonly string[];
}

export interface OptionDef {
  /** Commander syntax, e.g. `-c, --config <file>` or `--json`. */
  readonly flags: string;
  readonly description: string;
  readonly required?: boolean;
  /** The only accepted values (commander refuses the rest; completion offers them). */
  readonly choices?: readonly string[];
  /** What the value names, for completion: a file or a directory on disk. */
  readonly value?: 'file' | 'directory';
}

/** The loaded command: positional arguments in declaration order, then the parsed flags. */
export type CommandRun = (
  ctx: CliContext,
  args: readonly unknown[],
  flags: Readonly<Record<string, unknown>>,
) => Promise<ExitCode>;

/** A command module's entry, typed by the arguments and flags its definition declares. */
export type CommandAction<A extends readonly unknown[], F> = (ctx: CliContext, args: A, flags: F) => Promise<ExitCode>;

export interface CommandDef {
  readonly name: string;
  readonly description: string;
  readonly arguments: readonly ArgumentDef[];
  readonly options: readonly OptionDef[];
  /** Imports the command's module only when the command runs. */
  readonly load: () => Promise<CommandRun>;
}

// Commander has parsed the input against the definition before the action runs, so the
// shapes match what the definition declares; this is the one place that relies on it.
function typed<A extends readonly unknown[], F>(action: CommandAction<A, F>): CommandRun {
  return (ctx, args, flags) => action(ctx, args as A, flags as F);
}

export const CONFIG_OPTION: OptionDef = {
  flags: '-c, --config <file>',
  description: 'config file (default: $KNOCKTAIL_CONFIG, else /etc/knocktail/config.json)',
  value: 'file',
};

export const COMMANDS: readonly CommandDef[] = [
  {
    name: 'run',
    description: 'run the daemon: follow the knock log, open and close doors',
    arguments: [],
    options: [CONFIG_OPTION],
    load: async () => typed((await import('./run.js')).run),
  },
  {
    name: 'replay',
    description:
      "run recorded logs through the daemon's pipeline: the configured backend on a simulated firewall, the log's own clock",
    arguments: [
      { name: '<files...>', description: 'log files (plain or .gz); read in the order of their first timestamp' },
    ],
    options: [
      CONFIG_OPTION,
      { flags: '--json', description: 'one JSON record per line (open, close, summary)' },
      {
        flags: '-v, --verbose',
        description:
          'also progress, reset, refresh and rejected records (in the report and with --json), and the bad and stale lines with file and line number',
      },
      {
        flags: '--audit',
        description:
          'after the human report, print the audit trail a live daemon would have written (the first 1000 records; not written to any file)',
      },
      {
        flags: '--audit-file <file>',
        description:
          'write every audit record a live daemon would have written to this new file, for `knocktail audit --file FILE`',
        value: 'file',
      },
      {
        flags: '--prefix <text>',
        description:
          "the log prefix of the knock lines (default: the config's logPrefix); a log written by another LOG rule is otherwise ignored",
      },
      {
        flags: '--any-dst',
        description:
          "count packets to any destination (default: DST= must be one of the config's localAddresses, when it lists any)",
      },
      {
        flags: '--commands',
        description:
          'print every firewall command a live daemon would run (setup, opens, closes), as it would run them',
      },
      {
        flags: '--nat <file>',
        description:
          "a host's `iptables -t nat -S` output: protected ports its DNAT rules publish (Docker's) get the forward twin, as on that host",
      },
      {
        flags: '--boot-time <iso>',
        description:
          "boot time for kernel-uptime timestamps (dmesg, /dev/kmsg); default: the capture's own (its last record at the file's modification time)",
      },
    ],
    load: async () => typed((await import('./replay.js')).replay),
  },
  {
    name: 'check-config',
    description: 'validate the config file and print every problem (exit 0 when valid, 2 when not)',
    arguments: [],
    options: [CONFIG_OPTION],
    load: async () => typed((await import('./check-config.js')).checkConfigCommand),
  },
  {
    name: 'rules',
    description: 'print the firewall commands `setup` runs for the configured doors, one per line',
    arguments: [],
    options: [CONFIG_OPTION],
    load: async () => typed((await import('./rules.js')).rulesCommand),
  },
  {
    name: 'setup',
    description: "create or refresh knocktail's chains, sets, LOG and guard rules (idempotent)",
    arguments: [],
    options: [CONFIG_OPTION],
    load: async () => typed((await import('./rules.js')).setupCommand),
  },
  {
    name: 'teardown',
    description: 'remove everything knocktail added to the firewall, and nothing else',
    arguments: [],
    options: [CONFIG_OPTION],
    load: async () => typed((await import('./rules.js')).teardownCommand),
  },
  {
    name: 'install',
    description:
      'install a config skeleton (random knock ports), directories, the rsyslog drop-in, the systemd unit and logrotate; with --now also run setup',
    arguments: [],
    options: [
      { ...CONFIG_OPTION, description: 'config file (written as a skeleton when missing)' },
      { flags: '--dry-run', description: 'print what would change, change nothing' },
      {
        flags: '--root <dir>',
        description:
          "install into this staging tree instead of / for another machine: the unit runs the .deb's /usr/bin/knocktail and the config names its schema (skips the firewall setup)",
        value: 'directory',
      },
      {
        flags: '--now',
        description:
          'also arm the guard at once (`knocktail setup`); without it ssh stays open until you run setup or start the service',
      },
      {
        flags: '--config-only',
        description: 'write only the config skeleton, when there is none (what the .deb runs at its first install)',
      },
      {
        flags: '--knock-ports <ports>',
        description:
          'a new config knocks on these tcp ports: the open sequence, then the close port (e.g. the ones a dry run drew: 26975,27878,29504,31206); default: drawn at random',
      },
    ],
    load: async () => typed((await import('./install.js')).install),
  },
  {
    name: 'status',
    description: 'open grants, sources mid-sequence, counters, backend health',
    arguments: [],
    options: [
      CONFIG_OPTION,
      { flags: '--json', description: 'print the status as JSON' },
      {
        flags: '--fleet',
        description:
          "the fleet group instead: members (heartbeat, last seen, version, clock offset) and the group's open grants, read from NATS",
      },
    ],
    load: async () => typed((await import('./status.js')).status),
  },
  {
    name: 'grant',
    description: 'open a door for an address by hand (audited as a manual grant)',
    arguments: [{ name: '<src>', description: 'IPv4 or IPv6 address' }],
    options: [
      { flags: '-d, --door <name>', description: 'door to open', required: true },
      {
        flags: '--for <duration>',
        description: "how long (e.g. 30m, 2h); default: the door's openFor, capped by limits.maxOpenFor",
      },
      CONFIG_OPTION,
    ],
    load: async () => typed((await import('./control.js')).grant),
  },
  {
    name: 'revoke',
    description: 'close a grant now (every door of the address unless --door)',
    arguments: [{ name: '<src>', description: 'IPv4 or IPv6 address' }],
    options: [
      { flags: '-d, --door <name>', description: 'only this door' },
      {
        flags: '--end-sessions',
        description:
          "also end the address's established connections to the door's ports (conntrack entries deleted; audited as sessions-ended), as doors with endSessions always do",
      },
      CONFIG_OPTION,
    ],
    load: async () => typed((await import('./control.js')).revoke),
  },
  {
    name: 'knock',
    description:
      "send a knock sequence: to HOST the steps given (tcp:7000 udp:8000 icmp, or knockd's 7000 8000:udp), a door's sequence from the config, or what the client profile PROFILE says",
    arguments: [
      {
        name: '<host>',
        description: 'address or name of the server, or the name of a client profile (then without steps)',
      },
      {
        name: '[steps...]',
        description: "knock steps: tcp:7000 udp:8000 icmp, or knockd's 7000 8000:udp (bare ports are tcp, udp with -u)",
      },
    ],
    options: [
      {
        flags: '-d, --door <name>',
        description: "send this door's open sequence (time-based doors: the current window's)",
      },
      { flags: '--close', description: "send the door's (or the profile's) close sequence" },
      {
        flags: '--delay <ms>',
        description: "pause between steps in ms (default 100); with a profile, the profile's delay",
      },
      { flags: '-u, --udp', description: "bare ports (7000) are udp, as knockd's knock -u" },
      {
        flags: '--verify <port>',
        description:
          'after knocking, connect to this TCP port (retried once) and report how long the door took to open; exit 1 when it does not',
      },
      {
        flags: '--connect <host:port>',
        description:
          'after knocking, connect to HOST:PORT (retried once) and carry the connection over stdin and stdout, for ssh: ProxyCommand knocktail knock --quiet --connect %h:%p PROFILE',
      },
      { flags: '-q, --quiet', description: 'print nothing but errors (for scripts and ssh Match exec)' },
      { ...CONFIG_OPTION, description: 'config file (for --door)' },
      {
        flags: '--profiles <file>',
        description:
          'client profiles (default: $XDG_CONFIG_HOME/knocktail/client.json, else ~/.config/knocktail/client.json)',
        value: 'file',
      },
      { flags: '-4, --ipv4', description: 'use IPv4' },
      { flags: '-6, --ipv6', description: 'use IPv6' },
      {
        flags: '--spa',
        description:
          'send one single packet authorization packet instead (fwknop FKO 3.0.0, Rijndael + HMAC-SHA256), accepted by SPA doors and by fwknopd; a profile with "spa" sends one without this flag',
      },
      {
        flags: '--key-file <file>',
        description: 'with --spa: file holding KEY_BASE64 (or --door of an SPA door, or an SPA profile)',
        value: 'file',
      },
      { flags: '--hmac-key-file <file>', description: 'with --spa: file holding HMAC_KEY_BASE64', value: 'file' },
      {
        flags: '--spa-port <port>',
        description: "with --spa: the server's UDP port (default 62201, or the door's or SPA profile's)",
      },
      {
        flags: '--access <ports>',
        description:
          "with --spa: what to open, fwknop's -A form (default tcp/22, or the door's open ports, or the SPA profile's access)",
      },
      {
        flags: '--allow <address>',
        description:
          'with --spa: the address to open for (default 0.0.0.0: the address the packet comes from, IPv6 too)',
      },
      {
        flags: '--fw-timeout <seconds>',
        description: 'with --spa: ask for this grant time (fwknop -f; the server caps it)',
      },
    ],
    load: async () => typed((await import('./knock.js')).knock),
  },
  {
    name: 'audit',
    description: 'who opened which door, when, from where, and why it closed (reads rotated logs too)',
    arguments: [],
    options: [
      {
        flags: '--since <time>',
        description: 'from this time: ISO (UTC unless a zone is given), 2h, 7d, today, yesterday',
      },
      { flags: '--until <time>', description: 'up to this time (same forms as --since)' },
      { flags: '--src <ip|cidr>', description: 'only this address or network' },
      { flags: '--door <name>', description: 'only this door' },
      {
        flags: '--event <event>',
        description:
          'only records of this event (open, refresh, refresh-summary, close, reject, reject-summary, firewall-error, firewall-repair); prints records, not grants',
      },
      { flags: '--json', description: 'matching records as JSON lines' },
      { flags: '--follow', description: 'keep printing matching records as they are written (Ctrl-C stops)' },
      { flags: '--summary', description: 'per door and per source totals and opens per day' },
      { ...CONFIG_OPTION, description: 'config file (its auditLog is read)' },
      {
        flags: '--file <path>',
        description: 'read this audit log directly, without a config; - reads standard input',
        value: 'file',
      },
      {
        flags: '--fleet',
        description:
          "read the fleet group's audit stream (every member's records, with a HOST column) instead of the local log",
      },
    ],
    load: async () => typed((await import('./audit.js')).audit),
  },
  {
    name: 'import',
    description:
      "convert another port knocker's config to a knocktail config (printed, or written with -o); what cannot be converted is listed with why, and makes the exit status 2",
    arguments: [
      {
        name: '<format>',
        description:
          "the format of FILE: knockd (knockd.conf), fwknop (fwknopd's access.conf, to SPA doors), or fwknoprc (the fwknop client's ~/.fwknoprc, to SPA client profiles); fwknop and fwknoprc need -o, the keys go beside it",
        choices: ['knockd', 'fwknop', 'fwknoprc'],
      },
      {
        name: '<file>',
        description: 'the config to convert, e.g. /etc/knockd.conf, /etc/fwknop/access.conf or ~/.fwknoprc',
      },
    ],
    options: [
      {
        flags: '-o, --output <file>',
        description: 'write the config to this file instead of stdout (never overwritten without --force)',
        value: 'file',
      },
      { flags: '--force', description: 'with -o: overwrite an existing file' },
      {
        flags: '--accept-dropped',
        description:
          'exit 0 even when a knockd door (or its IPv6 half) could not be converted (default: the config is still written, exit status 2)',
      },
      {
        ...CONFIG_OPTION,
        description: 'accepted like on every command; import reads no knocktail config (write with -o)',
      },
    ],
    load: async () => typed((await import('./import.js')).importCommand),
  },
  {
    name: 'completion',
    description:
      'print the shell completion script (bash: source it or put it in /usr/share/bash-completion/completions/knocktail)',
    arguments: [{ name: '<shell>', description: 'the shell', choices: ['bash', 'zsh'] }],
    options: [
      { ...CONFIG_OPTION, description: 'accepted like on every command; the scripts do not depend on a config' },
    ],
    load: async () => typed((await import('./completion.js')).completion),
  },
];
