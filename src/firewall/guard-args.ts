import type { Cidr, Family } from '../address.js';
import type { Door } from '../model/door.js';
import { collectDoorPorts } from './door-ports.js';
import type { KnockPort } from './door-ports.js';
import { GRANT_CHAIN, GUARD_CHAIN, tablesBinary } from './iptables-args.js';
import { formatRestoreLine } from './restore-text.js';

// Pure builders for the iptables guard: chain KNOCKTAIL-GUARD, jumped from INPUT. In order:
// established flows of the protected ports pass, alwaysAllow sources pass, the grants are
// consulted, NEW packets to knock ports are LOGged and DROPped, the protected ports are DROPped
// for everyone else. Everything else (replies to the host's own connections on any port, a
// knock range included) returns to INPUT untouched.
export interface GuardOptions {
  readonly logPrefix: string;
  /** hashlimit rate per source, e.g. "20/second". */
  readonly logRateLimit: string;
  /** Position of the jump in INPUT (1 = first). */
  readonly inputPosition: number;
  /** Sources never blocked on the protected ports (limits.alwaysAllow); default none. */
  readonly alwaysAllow?: readonly Cidr[];
}

function dport(port: KnockPort): string {
  return port.from === port.to ? String(port.from) : `${port.from}:${port.to}`;
}

// Per-source rate limit on LOG lines, so a flood cannot fill the log or starve the parser; one table per family.
function hashlimit(family: Family, rate: string): string[] {
  return ['-m', 'hashlimit', '--hashlimit-upto', rate, '--hashlimit-mode', 'srcip', '--hashlimit-name', `knocktail${family}`];
}

const NEW = ['-m', 'conntrack', '--ctstate', 'NEW'];

// The rule specs of KNOCKTAIL-GUARD in order (each without `-A CHAIN`).
export function buildGuardRuleSpecs(doors: readonly Door[], family: Family, options: GuardOptions): string[][] {
  const { protectedPorts, knockPorts, icmp, spaPorts } = collectDoorPorts(doors);
  const log = ['-j', 'LOG', '--log-prefix', options.logPrefix];
  const specs: string[][] = [];
  for (const port of protectedPorts) {
    specs.push(['-p', port.proto, '--dport', String(port.port), '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT']);
  }
  for (const cidr of (options.alwaysAllow ?? []).filter((c) => c.family === family)) {
    for (const port of protectedPorts) specs.push(['-s', cidr.text, '-p', port.proto, '--dport', String(port.port), '-j', 'ACCEPT']);
  }
  specs.push(['-j', GRANT_CHAIN]);
  for (const port of knockPorts) {
    specs.push(['-p', port.proto, '--dport', dport(port), ...NEW, ...hashlimit(family, options.logRateLimit), ...log]);
  }
  // SPA packets whole to NFLOG group = port, read by the daemon's capture (docs/spa.md); threshold 1
  // sends each at once (the kernel's default batches them for up to a second).
  for (const port of spaPorts) specs.push(['-p', 'udp', '--dport', String(port), ...NEW, ...hashlimit(family, options.logRateLimit), '-j', 'NFLOG', '--nflog-group', String(port), '--nflog-threshold', '1']);
  if (icmp) {
    // Echo requests are logged but not dropped: ping keeps working, and a ping knock still counts.
    const echo = family === 4 ? ['-p', 'icmp', '--icmp-type', 'echo-request'] : ['-p', 'ipv6-icmp', '--icmpv6-type', 'echo-request'];
    specs.push([...echo, ...hashlimit(family, options.logRateLimit), ...log]);
  }
  // Only NEW: a reply to the host's own connection from a local port in a knock range is ESTABLISHED.
  for (const port of knockPorts) specs.push(['-p', port.proto, '--dport', dport(port), ...NEW, '-j', 'DROP']);
  for (const port of spaPorts) specs.push(['-p', 'udp', '--dport', String(port), ...NEW, '-j', 'DROP']);
  for (const port of protectedPorts) specs.push(['-p', port.proto, '--dport', String(port.port), '-j', 'DROP']);
  return specs;
}

// The jump from INPUT into the guard.
export function buildJumpSpec(): string[] {
  return ['-j', GUARD_CHAIN];
}

/** What the family's filter table holds of knocktail's pieces before a setup or teardown. */
export interface GuardState {
  readonly grantChain: boolean;
  readonly guardChain: boolean;
  /** How many `-j KNOCKTAIL-GUARD` rules INPUT holds. */
  readonly jumps: number;
  /** How many rules INPUT holds in all (a jump past the end must go last). */
  readonly inputRules: number;
}

export const EMPTY_GUARD_STATE: GuardState = { grantChain: false, guardChain: false, jumps: 0, inputRules: 0 };

/**
 * The whole setup for one family as one `iptables-restore --noflush` transaction: declaring
 * KNOCKTAIL-GUARD creates it or flushes it, and its new rules land in the same COMMIT, so no
 * packet ever sees a half-built guard. KNOCKTAIL is declared (created or emptied) only when it
 * is missing or `grantChainSpecs` replaces its rules (ipset); in the iptables backend it holds
 * the live grants and is left alone.
 */
export function buildGuardRestore(doors: readonly Door[], family: Family, options: GuardOptions, state: GuardState, grantChainSpecs?: readonly string[][]): string {
  const lines = ['*filter'];
  if (!state.grantChain || grantChainSpecs) lines.push(`:${GRANT_CHAIN} - [0:0]`);
  lines.push(`:${GUARD_CHAIN} - [0:0]`);
  for (const spec of grantChainSpecs ?? []) lines.push(formatRestoreLine(['-A', GRANT_CHAIN, ...spec]));
  for (const spec of buildGuardRuleSpecs(doors, family, options)) lines.push(formatRestoreLine(['-A', GUARD_CHAIN, ...spec]));
  if (state.jumps === 0) {
    // Inserting past the end of INPUT is an error; a short INPUT gets the jump last.
    const position = Math.min(options.inputPosition, state.inputRules + 1);
    lines.push(formatRestoreLine(['-I', 'INPUT', String(position), ...buildJumpSpec()]));
  }
  lines.push('COMMIT');
  return `${lines.join('\n')}\n`;
}

/** The whole teardown for one family as one transaction; absent pieces are skipped. */
export function buildGuardTeardownRestore(state: GuardState): string {
  const lines = ['*filter'];
  for (let i = 0; i < state.jumps; i++) lines.push(formatRestoreLine(['-D', 'INPUT', ...buildJumpSpec()]));
  for (const [chain, present] of [
    [GUARD_CHAIN, state.guardChain],
    [GRANT_CHAIN, state.grantChain],
  ] as const) {
    if (present) lines.push(`-F ${chain}`, `-X ${chain}`);
  }
  lines.push('COMMIT');
  return `${lines.join('\n')}\n`;
}

// A fresh setup for one family, as `knocktail rules` prints it (setup() applies the same rules as one transaction).
export function buildGuardSetupArgs(doors: readonly Door[], family: Family, options: GuardOptions, grantChainSpecs: readonly string[][] = []): string[][] {
  const bin = tablesBinary(family);
  return [
    [...bin, '-N', GRANT_CHAIN],
    ...grantChainSpecs.map((spec) => [...bin, '-A', GRANT_CHAIN, ...spec]),
    [...bin, '-N', GUARD_CHAIN],
    ...buildGuardRuleSpecs(doors, family, options).map((spec) => [...bin, '-A', GUARD_CHAIN, ...spec]),
    [...bin, '-I', 'INPUT', String(options.inputPosition), ...buildJumpSpec()],
  ];
}

// Everything setup added for one family, in removal order (the jump first, then the chains).
export function buildGuardTeardownArgs(family: Family): string[][] {
  const bin = tablesBinary(family);
  return [
    [...bin, '-D', 'INPUT', ...buildJumpSpec()],
    [...bin, '-F', GUARD_CHAIN],
    [...bin, '-X', GUARD_CHAIN],
    [...bin, '-F', GRANT_CHAIN],
    [...bin, '-X', GRANT_CHAIN],
  ];
}
