import type { Family } from '../address.js';
import type { Grant } from '../model/grant.js';
import type { PortSpec } from '../model/door.js';
import { formatGrantComment } from './grant-comment.js';
import { checkGrant } from './grant-check.js';

// Pure argv builders for the iptables backend's grant rules in chain KNOCKTAIL.
export const GRANT_CHAIN = 'KNOCKTAIL';
export const GUARD_CHAIN = 'KNOCKTAIL-GUARD';

// iptables for IPv4 sources, ip6tables for IPv6; `-w` waits for the xtables lock instead of failing.
export function tablesBinary(family: Family): string[] {
  return [family === 4 ? 'iptables' : 'ip6tables', '-w'];
}

// The rule spec (after the chain name) that admits one grant's source to one port.
export function buildGrantRuleSpec(grant: Grant, port: PortSpec): string[] {
  checkGrant(grant);
  const comment = formatGrantComment(grant.door, grant.until);
  return ['-s', grant.src, '-p', port.proto, '--dport', String(port.port), '-m', 'comment', '--comment', comment, '-j', 'ACCEPT'];
}

// `-C`: exit 0 when the exact rule is there, 1 when not; asked before adding so a refresh never duplicates.
export function buildGrantCheckArgs(grant: Grant, port: PortSpec): string[] {
  return [...tablesBinary(grant.family), '-C', GRANT_CHAIN, ...buildGrantRuleSpec(grant, port)];
}

// Appends the grant rule; order inside KNOCKTAIL does not matter, every rule is an ACCEPT.
export function buildGrantAddArgs(grant: Grant, port: PortSpec): string[] {
  return [...tablesBinary(grant.family), '-A', GRANT_CHAIN, ...buildGrantRuleSpec(grant, port)];
}

// Deletes by exact spec (door, source, port and expiry), never by position, so an admin's edits cannot shift it.
export function buildGrantDeleteArgs(grant: Grant, port: PortSpec): string[] {
  return [...tablesBinary(grant.family), '-D', GRANT_CHAIN, ...buildGrantRuleSpec(grant, port)];
}

// Lists the grant chain in rule-spec form; the comments carry door and expiry back.
export function buildGrantListArgs(family: Family): string[] {
  return [...tablesBinary(family), '-S', GRANT_CHAIN];
}
