import type { Cidr, Family } from '../model/address.js';
import type { Door } from '../model/door.js';
import { collectDoorPorts } from './door-ports.js';
import type { KnockPort } from './door-ports.js';
import { GRANT_CHAIN, GUARD_CHAIN, tablesBinary } from './iptables-args.js';
import type { Refusal } from './refusal.js';
import { formatRestoreLine } from './restore-text.js';
import { buildLogTargetArgs, type LogAction } from './log-action.js';

// Pure builders for the iptables guard: chain KNOCKTAIL-GUARD, jumped from INPUT. In order
// (docs/guard-rules.md): established flows of the protected ports pass, alwaysAllow sources
// pass, the grants are consulted, NEW packets to knock ports and tripwires are LOGged and
// refused, the protected ports are refused for everyone else, each refusal the host's answer
// for an unused port. Everything else (replies to the host's own connections on any port, a
// knock range included) returns to INPUT untouched.
export interface GuardOptions {
  readonly logPrefix: string;
  /** How knock packets are tagged (default: LOG with `logPrefix`). */
  readonly logAction?: LogAction;
  /** hashlimit rate per source, e.g. "20/second". */
  readonly logRateLimit: string;
  /** Position of the jump in INPUT (1 = first); "auto": right after the last ban tool's rule (ban-rules.ts), else 1. */
  readonly inputPosition: number | 'auto';
  /** Sources never blocked on the protected ports (limits.alwaysAllow); default none. */
  readonly alwaysAllow?: readonly Cidr[];
  /** What refused NEW packets get (refusal.ts); default "drop". */
  readonly refusal?: Refusal;
  /** Unused ports logged at most once per source per minute and refused (model/tripwires.ts); default none. */
  readonly tripwires?: readonly KnockPort[];
  /** The udp port of the log-path canary (canary-port.ts): on `lo` only, NEW only, logged, refused; IPv4 only. */
  readonly canary?: { readonly port: number };
  /** false: leave out every refusal but the canary's (the first phase of arming); default true. */
  readonly armed?: boolean;
}

function dport(port: KnockPort): string {
  return port.from === port.to ? String(port.from) : `${port.from}:${port.to}`;
}

// Per-source rate limit on LOG lines, so a flood cannot fill the log or starve the parser; one table per family.
function hashlimit(family: Family, rate: string): string[] {
  return [
    '-m',
    'hashlimit',
    '--hashlimit-upto',
    rate,
    '--hashlimit-mode',
    'srcip',
    '--hashlimit-name',
    `knocktail${family}`,
  ];
}

const NEW = ['-m', 'conntrack', '--ctstate', 'NEW'];

/**
 * The target of a refused packet: REJECT with a TCP reset (tcp) or ICMP/ICMPv6 port
 * unreachable (udp), the kernel's answer for a port nobody listens on, or DROP. The one
 * rendering of the refusal for iptables and ipset (the forward chain uses it too).
 */
export function buildRefusalTarget(proto: 'tcp' | 'udp', family: Family, refusal: Refusal): string[] {
  if (refusal === 'drop') return ['-j', 'DROP'];
  if (proto === 'tcp') return ['-j', 'REJECT', '--reject-with', 'tcp-reset'];
  return ['-j', 'REJECT', '--reject-with', family === 4 ? 'icmp-port-unreachable' : 'icmp6-port-unreachable'];
}

// Tripwire LOG lines: at most one per source per minute. The table holds up to TRIPWIRE_TABLE_MAX
// sources (a full scan from 50,000 sources fits; 120 bytes each in slab xt_hashlimit, so at most ~7.6 MiB per
// family), each remembered for a minute so the burst of 1 cannot refill sooner.
export const TRIPWIRE_TABLE_SIZE = 16384;
export const TRIPWIRE_TABLE_MAX = 65536;
function tripwireLimit(family: Family): string[] {
  return [
    ...[
      '-m',
      'hashlimit',
      '--hashlimit-upto',
      '1/minute',
      '--hashlimit-burst',
      '1',
      '--hashlimit-mode',
      'srcip',
      '--hashlimit-name',
      `knocktailtw${family}`,
    ],
    ...[
      '--hashlimit-htable-size',
      String(TRIPWIRE_TABLE_SIZE),
      '--hashlimit-htable-max',
      String(TRIPWIRE_TABLE_MAX),
      '--hashlimit-htable-expire',
      '60000',
    ],
  ];
}

// multiport takes at most 15 ports per rule.
const MULTIPORT_MAX = 15;
function tripwireMatches(tripwires: readonly KnockPort[]): string[][] {
  const matches: string[][] = [];
  for (const proto of ['tcp', 'udp'] as const) {
    const ports = tripwires.filter((port) => port.proto === proto).map(dport);
    for (let i = 0; i < ports.length; i += MULTIPORT_MAX) {
      matches.push(['-p', proto, '-m', 'multiport', '--dports', ports.slice(i, i + MULTIPORT_MAX).join(',')]);
    }
  }
  return matches;
}

// The rule specs of KNOCKTAIL-GUARD in order (each without `-A CHAIN`).
export function buildGuardRuleSpecs(doors: readonly Door[], family: Family, options: GuardOptions): string[][] {
  const { protectedPorts, knockPorts, icmp, spaPorts } = collectDoorPorts(doors);
  const log = buildLogTargetArgs(options.logAction ?? { kind: 'log', prefix: options.logPrefix });
  const refusal = options.refusal ?? 'drop';
  const tripwires = tripwireMatches(options.tripwires ?? []);
  const specs: string[][] = [];
  // The canary first: only this host can send on lo, and only NEW datagrams (never replies) are tagged.
  if (options.canary && family === 4) {
    const canary = ['-i', 'lo', '-p', 'udp', '--dport', String(options.canary.port), ...NEW];
    specs.push([...canary, ...log], [...canary, ...buildRefusalTarget('udp', family, refusal)]);
  }
  for (const port of protectedPorts) {
    specs.push([
      '-p',
      port.proto,
      '--dport',
      String(port.port),
      '-m',
      'conntrack',
      '--ctstate',
      'ESTABLISHED,RELATED',
      '-j',
      'ACCEPT',
    ]);
  }
  for (const cidr of (options.alwaysAllow ?? []).filter((c) => c.family === family)) {
    for (const port of protectedPorts)
      specs.push(['-s', cidr.text, '-p', port.proto, '--dport', String(port.port), '-j', 'ACCEPT']);
  }
  specs.push(['-j', GRANT_CHAIN]);
  for (const port of knockPorts) {
    specs.push(['-p', port.proto, '--dport', dport(port), ...NEW, ...hashlimit(family, options.logRateLimit), ...log]);
  }
  // SPA packets whole to NFLOG group = port, read by the daemon's capture (docs/spa.md); threshold 1
  // sends each at once (the kernel's default batches them for up to a second).
  for (const port of spaPorts)
    specs.push([
      '-p',
      'udp',
      '--dport',
      String(port),
      ...NEW,
      ...hashlimit(family, options.logRateLimit),
      '-j',
      'NFLOG',
      '--nflog-group',
      String(port),
      '--nflog-threshold',
      '1',
    ]);
  for (const match of tripwires) specs.push([...match, ...NEW, ...tripwireLimit(family), ...log]);
  if (icmp) {
    // Echo requests are logged but not dropped: ping keeps working, and a ping knock still counts.
    const echo =
      family === 4
        ? ['-p', 'icmp', '--icmp-type', 'echo-request']
        : ['-p', 'ipv6-icmp', '--icmpv6-type', 'echo-request'];
    specs.push([...echo, ...hashlimit(family, options.logRateLimit), ...log]);
  }
  if (options.armed === false) return specs;
  // Only NEW: a reply to the host's own connection from a local port in a knock range is ESTABLISHED.
  for (const port of knockPorts)
    specs.push(['-p', port.proto, '--dport', dport(port), ...NEW, ...buildRefusalTarget(port.proto, family, refusal)]);
  for (const port of spaPorts)
    specs.push(['-p', 'udp', '--dport', String(port), ...NEW, ...buildRefusalTarget('udp', family, refusal)]);
  for (const match of tripwires)
    specs.push([...match, ...NEW, ...buildRefusalTarget(match[1] as 'tcp' | 'udp', family, refusal)]);
  for (const port of protectedPorts)
    specs.push(['-p', port.proto, '--dport', String(port.port), ...buildRefusalTarget(port.proto, family, refusal)]);
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
  /** Position of the last ban tool's rule in INPUT (ban-rules.ts), 0 for none. */
  readonly banRule?: number;
  /** Position of the first jump to the guard, 0 for none. */
  readonly jumpAt?: number;
}

export const EMPTY_GUARD_STATE: GuardState = { grantChain: false, guardChain: false, jumps: 0, inputRules: 0 };

/**
 * The INPUT lines that put the jump where it belongs: a missing jump is inserted (a number past
 * the end of INPUT goes last); with "auto" a single jump that sits ahead of a ban tool's rule
 * (a ban tool that appended after our setup) is moved right after it, so bans keep winning.
 */
function jumpLines(options: GuardOptions, state: GuardState): string[] {
  const banRule = state.banRule ?? 0;
  if (state.jumps === 0) {
    const wanted = options.inputPosition === 'auto' ? banRule + 1 : options.inputPosition;
    return [formatRestoreLine(['-I', 'INPUT', String(Math.min(wanted, state.inputRules + 1)), ...buildJumpSpec()])];
  }
  if (options.inputPosition !== 'auto' || state.jumps !== 1 || (state.jumpAt ?? 0) > banRule) return [];
  // Deleting the jump moves the ban rule up one: inserting at its old number lands right after it.
  return [
    formatRestoreLine(['-D', 'INPUT', ...buildJumpSpec()]),
    formatRestoreLine(['-I', 'INPUT', String(banRule), ...buildJumpSpec()]),
  ];
}

/**
 * The whole setup for one family as one `iptables-restore --noflush` transaction: declaring
 * KNOCKTAIL-GUARD creates it or flushes it, and its new rules land in the same COMMIT, so no
 * packet ever sees a half-built guard. KNOCKTAIL is declared (created or emptied) only when it
 * is missing or `grantChainSpecs` replaces its rules (ipset); in the iptables backend it holds
 * the live grants and is left alone.
 */
export function buildGuardRestore(
  doors: readonly Door[],
  family: Family,
  options: GuardOptions,
  state: GuardState,
  grantChainSpecs?: readonly string[][],
): string {
  const lines = ['*filter'];
  if (!state.grantChain || grantChainSpecs) lines.push(`:${GRANT_CHAIN} - [0:0]`);
  lines.push(`:${GUARD_CHAIN} - [0:0]`);
  for (const spec of grantChainSpecs ?? []) lines.push(formatRestoreLine(['-A', GRANT_CHAIN, ...spec]));
  for (const spec of buildGuardRuleSpecs(doors, family, options))
    lines.push(formatRestoreLine(['-A', GUARD_CHAIN, ...spec]));
  lines.push(...jumpLines(options, state));
  lines.push('COMMIT');
  return `${lines.join('\n')}\n`;
}

/**
 * The periodic check's repair of the jump alone, for a family whose guard chain exists: a
 * missing jump goes back in, and with "auto" a jump that a ban tool's later rule has come to
 * follow moves behind it. Undefined when the jump is where it belongs.
 */
export function buildJumpRepairRestore(options: GuardOptions, state: GuardState): string | undefined {
  const lines = state.guardChain ? jumpLines(options, state) : [];
  return lines.length === 0 ? undefined : `${['*filter', ...lines, 'COMMIT'].join('\n')}\n`;
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
export function buildGuardSetupArgs(
  doors: readonly Door[],
  family: Family,
  options: GuardOptions,
  grantChainSpecs: readonly string[][] = [],
): string[][] {
  const bin = tablesBinary(family);
  return [
    [...bin, '-N', GRANT_CHAIN],
    ...grantChainSpecs.map((spec) => [...bin, '-A', GRANT_CHAIN, ...spec]),
    [...bin, '-N', GUARD_CHAIN],
    ...buildGuardRuleSpecs(doors, family, options).map((spec) => [...bin, '-A', GUARD_CHAIN, ...spec]),
    // "auto" depends on what INPUT holds at setup; printed as 1, the position with no ban tool's rule.
    [...bin, '-I', 'INPUT', String(options.inputPosition === 'auto' ? 1 : options.inputPosition), ...buildJumpSpec()],
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
