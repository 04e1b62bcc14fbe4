import type { Family } from '../address.js';
import type { Door } from '../model/door.js';
import { collectDoorPorts } from './door-ports.js';
import type { KnockPort } from './door-ports.js';
import { GRANT_CHAIN, GUARD_CHAIN, tablesBinary } from './iptables-args.js';

// Pure builders for the iptables guard: chain KNOCKTAIL-GUARD, jumped from INPUT, that lets
// established flows through, consults the grants, LOGs and DROPs knocks, and DROPs the
// protected ports for everyone else.
export interface GuardOptions {
  readonly logPrefix: string;
  /** hashlimit rate per source, e.g. "20/second". */
  readonly logRateLimit: string;
  /** Position of the jump in INPUT (1 = first). */
  readonly inputPosition: number;
}

function dport(port: KnockPort): string {
  return port.from === port.to ? String(port.from) : `${port.from}:${port.to}`;
}

// Per-source rate limit on LOG lines, so a flood cannot fill the log or starve the parser; one table per family.
function hashlimit(family: Family, rate: string): string[] {
  return ['-m', 'hashlimit', '--hashlimit-upto', rate, '--hashlimit-mode', 'srcip', '--hashlimit-name', `knocktail${family}`];
}

// The rule specs of KNOCKTAIL-GUARD in order (each without `-A CHAIN`).
export function buildGuardRuleSpecs(doors: readonly Door[], family: Family, options: GuardOptions): string[][] {
  const { protectedPorts, knockPorts, icmp } = collectDoorPorts(doors);
  const log = ['-j', 'LOG', '--log-prefix', options.logPrefix];
  const specs: string[][] = [];
  for (const port of protectedPorts) {
    specs.push(['-p', port.proto, '--dport', String(port.port), '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT']);
  }
  specs.push(['-j', GRANT_CHAIN]);
  for (const port of knockPorts) {
    specs.push(['-p', port.proto, '--dport', dport(port), '-m', 'conntrack', '--ctstate', 'NEW', ...hashlimit(family, options.logRateLimit), ...log]);
  }
  if (icmp) {
    // Echo requests are logged but not dropped: ping keeps working, and a ping knock still counts.
    const echo = family === 4 ? ['-p', 'icmp', '--icmp-type', 'echo-request'] : ['-p', 'ipv6-icmp', '--icmpv6-type', 'echo-request'];
    specs.push([...echo, ...hashlimit(family, options.logRateLimit), ...log]);
  }
  for (const port of knockPorts) specs.push(['-p', port.proto, '--dport', dport(port), '-j', 'DROP']);
  for (const port of protectedPorts) specs.push(['-p', port.proto, '--dport', String(port.port), '-j', 'DROP']);
  return specs;
}

// The jump from INPUT into the guard.
export function buildJumpSpec(): string[] {
  return ['-j', GUARD_CHAIN];
}

// A fresh setup for one family, as `knocktail rules` prints it (setup() runs an idempotent equivalent).
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
