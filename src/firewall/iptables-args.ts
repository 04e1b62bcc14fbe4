import type { Family } from '../model/address.js';
import type { Grant } from '../model/grant.js';
import type { PortSpec } from '../model/door.js';
import { formatGrantComment } from './grant-comment.js';
import { checkGrant } from './grant-check.js';
import { isoSecond } from '../model/iso-time.js';

// Pure argv builders for the iptables backend's grant rules in chain KNOCKTAIL.
export const GRANT_CHAIN = 'KNOCKTAIL';
export const GUARD_CHAIN = 'KNOCKTAIL-GUARD';

// iptables for IPv4 sources, ip6tables for IPv6; `-w` waits for the xtables lock instead of failing.
export function tablesBinary(family: Family): string[] {
  return [family === 4 ? 'iptables' : 'ip6tables', '-w'];
}

// `iptables-restore --noflush` for one family: applies `*filter … COMMIT` transactions atomically.
export function restoreBinary(family: Family): string[] {
  return [family === 4 ? 'iptables-restore' : 'ip6tables-restore', '-w', '--noflush'];
}

// xt_time keeps 32-bit seconds; later expiries are capped (knocktail's own timer closes long grants first).
const MAX_DATESTOP_SECONDS = 0x7fff_ffff;

/**
 * The xt_time `--datestop` (UTC, whole seconds) that makes the kernel stop matching a grant rule
 * on its own: the rule matches while the current second is at most datestop, so it is the last
 * second that starts before `until`. The kernel is the backstop: it stops at the end of the
 * second in which the grant ends (less than 1 s late), while a running daemon closes the grant
 * at `until` itself first, audited as `expired`.
 */
export function formatDatestop(until: number): string {
  const seconds = Math.min(MAX_DATESTOP_SECONDS, Math.max(0, Math.ceil(until / 1000) - 1));
  return isoSecond(seconds * 1000);
}

// The rule spec (after the chain name) that admits one grant's source to one port; a bounded
// grant also carries its expiry for the kernel (`-m time --datestop`), so it stops matching even
// if no daemon ever runs again.
export function buildGrantRuleSpec(grant: Grant, port: PortSpec): string[] {
  checkGrant(grant);
  const comment = formatGrantComment(grant.door, grant.until);
  const expiry = grant.until === null ? [] : ['-m', 'time', '--datestop', formatDatestop(grant.until)];
  return [
    '-s',
    grant.src,
    '-p',
    port.proto,
    '--dport',
    String(port.port),
    ...expiry,
    '-m',
    'comment',
    '--comment',
    comment,
    '-j',
    'ACCEPT',
  ];
}

/**
 * buildGrantRuleSpec() as the restore-line text formatRestoreLine() would make of it, built
 * directly: replay builds one per grant change. checkGrant() leaves the source and door
 * nothing to quote, so only the comment needs its double quotes.
 */
export function buildGrantRuleText(grant: Grant, port: PortSpec): string {
  checkGrant(grant);
  const comment = formatGrantComment(grant.door, grant.until);
  const expiry = grant.until === null ? '' : ` -m time --datestop ${formatDatestop(grant.until)}`;
  return [
    '-s ',
    grant.src,
    ' -p ',
    port.proto,
    ' --dport ',
    String(port.port),
    expiry,
    ' -m comment --comment "',
    comment,
    '" -j ACCEPT',
  ].join('');
}

// Lists the grant chain in rule-spec form; the comments carry door and expiry back.
export function buildGrantListArgs(family: Family): string[] {
  return [...tablesBinary(family), '-S', GRANT_CHAIN];
}
