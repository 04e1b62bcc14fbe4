// How the guard tags a packet for the daemon (docs/guard-rules.md, `logAction`): the kernel's
// LOG target (printk → rsyslog or /dev/kmsg), or NFLOG to a netlink group (→ knocktail's ulogd2),
// which works in a container's network namespace where LOG lines reach no log.
export type LogAction =
  | { readonly kind: 'log'; readonly prefix: string }
  | { readonly kind: 'nflog'; readonly prefix: string; readonly group: number };

// One packet per netlink message: ulogd writes the line at once instead of batching.
const NFLOG_THRESHOLD = '1';

/** The iptables target words: `-j LOG --log-prefix P` or `-j NFLOG --nflog-group G --nflog-prefix P --nflog-threshold 1`. */
export function buildLogTargetArgs(action: LogAction): string[] {
  if (action.kind === 'log') return ['-j', 'LOG', '--log-prefix', action.prefix];
  return [
    '-j',
    'NFLOG',
    '--nflog-group',
    String(action.group),
    '--nflog-prefix',
    action.prefix,
    '--nflog-threshold',
    NFLOG_THRESHOLD,
  ];
}

/** The nft statement, `prefix` already quoted: `log prefix P` or `log prefix P group G queue-threshold 1`. */
export function buildNftLogStatement(action: LogAction, quotedPrefix: string): string {
  if (action.kind === 'log') return `log prefix ${quotedPrefix}`;
  return `log prefix ${quotedPrefix} group ${action.group} queue-threshold ${NFLOG_THRESHOLD}`;
}

/** The action a config asks for: NFLOG to `nflog.group` when the source is "nflog", else LOG. */
export function selectLogAction(config: {
  readonly source: string;
  readonly logPrefix: string;
  readonly nflog?: { readonly group: number };
}): LogAction {
  if (config.source === 'nflog' && config.nflog)
    return { kind: 'nflog', prefix: config.logPrefix, group: config.nflog.group };
  return { kind: 'log', prefix: config.logPrefix };
}
