import type { Family } from '../model/address.js';
import type { PortSpec } from '../model/door.js';
import type { Grant } from '../model/grant.js';
import type { ForwardPort } from './forward-plan.js';
import { checkGrant } from './grant-check.js';
import { formatGrantComment } from './grant-comment.js';
import { buildRefusalTarget } from './guard-args.js';
import type { GuardOptions } from './guard-args.js';
import { formatDatestop, tablesBinary } from './iptables-args.js';
import { formatRestoreLine } from './restore-text.js';

// Pure builders for the forward twin of the iptables guard (docs/guard-rules.md, #19): chain
// KNOCKTAIL-FWD, jumped from DOCKER-USER when it exists, else from FORWARD. It sees packets
// that destination NAT sends on (Docker's, Podman's or anyone's `-j DNAT`), whose destination
// port is already the container's, so it matches conntrack's ORIGINAL destination. In order:
// established flows return, alwaysAllow sources return, grants return (never ACCEPT: Docker's
// own rules still decide), then NEW connections that were DNATed from a published protected
// port are refused. Connections containers start are never DNATed, so they and their replies pass.
export const FORWARD_CHAIN = 'KNOCKTAIL-FWD';
export const DOCKER_USER_CHAIN = 'DOCKER-USER';

const ORIGINAL_DNAT = ['-m', 'conntrack', '--ctstate', 'NEW', '-m', 'conntrack', '--ctstate', 'DNAT'];

function allowedOf(options: GuardOptions, family: Family): string[] {
  return (options.alwaysAllow ?? []).filter((cidr) => cidr.family === family).map((cidr) => cidr.text);
}

/** Where a grant's forward rule is inserted (`-I KNOCKTAIL-FWD N`): after the established and alwaysAllow rules, ahead of the refusals. */
export function forwardGrantPosition(options: GuardOptions, family: Family): number {
  return 2 + allowedOf(options, family).length;
}

/** The rule specs of KNOCKTAIL-FWD for one family's guards, `grantSpecs` (each ending in `-j RETURN`) in the grants' place. */
export function buildForwardRuleSpecs(
  guards: readonly ForwardPort[],
  family: Family,
  options: GuardOptions,
  grantSpecs: readonly string[][] = [],
): string[][] {
  const specs: string[][] = [['-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'RETURN']];
  for (const cidr of allowedOf(options, family)) specs.push(['-s', cidr, '-j', 'RETURN']);
  specs.push(...grantSpecs);
  for (const guard of guards.filter((g) => g.family === family)) {
    // The INPUT guard's refusal (#17), rendered by its one helper.
    const refusal = buildRefusalTarget(guard.proto, family, options.refusal ?? 'drop');
    const base = ['-p', guard.proto, ...ORIGINAL_DNAT, '--ctorigdstport', String(guard.port)];
    if (guard.addresses === undefined) specs.push([...base, ...refusal]);
    else for (const address of guard.addresses) specs.push([...base, '--ctorigdst', address, ...refusal]);
  }
  return specs;
}

/** The forward rule that lets one grant's source through to one published port: the twin of buildGrantRuleSpec(), with RETURN. */
export function buildForwardGrantSpec(
  grant: Pick<Grant, 'src' | 'family' | 'door' | 'until'>,
  port: PortSpec,
): string[] {
  checkGrant(grant);
  const expiry = grant.until === null ? [] : ['-m', 'time', '--datestop', formatDatestop(grant.until)];
  return [
    '-s',
    grant.src,
    '-p',
    port.proto,
    '-m',
    'conntrack',
    '--ctorigdstport',
    String(port.port),
    ...expiry,
    '-m',
    'comment',
    '--comment',
    formatGrantComment(grant.door, grant.until),
    '-j',
    'RETURN',
  ];
}

/** The ipset backend's grant specs for the forward chain: the door's shared set, one rule per door and port. */
export function buildForwardSetSpecs(setName: string, ports: readonly PortSpec[]): string[][] {
  return ports.map((port) => [
    '-p',
    port.proto,
    '-m',
    'set',
    '--match-set',
    setName,
    'src',
    '-m',
    'conntrack',
    '--ctorigdstport',
    String(port.port),
    '-j',
    'RETURN',
  ]);
}

/** What the family's filter table holds of the forward twin. */
export interface ForwardState {
  /** Whether DOCKER-USER exists (Docker made it). */
  readonly dockerUser: boolean;
  readonly chain: boolean;
  /** How many `-j KNOCKTAIL-FWD` rules DOCKER-USER and FORWARD hold. */
  readonly dockerUserJumps: number;
  readonly forwardJumps: number;
  /** Whether FORWARD's first rule is the jump (Docker inserts its own jumps first when it starts). */
  readonly forwardJumpFirst?: boolean;
}

export const EMPTY_FORWARD_STATE: ForwardState = {
  dockerUser: false,
  chain: false,
  dockerUserJumps: 0,
  forwardJumps: 0,
};

/** The chain the jump belongs in: DOCKER-USER, which Docker keeps ahead of its own rules and never flushes; else FORWARD. */
export function forwardJumpChain(state: ForwardState): string {
  return state.dockerUser ? DOCKER_USER_CHAIN : 'FORWARD';
}

/** Whether the forward twin is in place as `guards` need it: the chain exists and only the right chain jumps to it. */
export function forwardInPlace(state: ForwardState, wanted: boolean): boolean {
  if (!wanted) return !state.chain && state.dockerUserJumps === 0 && state.forwardJumps === 0;
  return (
    state.chain &&
    (state.dockerUser
      ? state.dockerUserJumps === 1 && state.forwardJumps === 0
      : state.forwardJumps === 1 && state.forwardJumpFirst === true)
  );
}

const JUMP = ['-j', FORWARD_CHAIN];

function jumpDeletes(chain: string, count: number): string[] {
  // Bounded: an admin may have duplicated the jump, but not without limit.
  return Array.from({ length: Math.min(count, 16) }, () => formatRestoreLine(['-D', chain, ...JUMP]));
}

/**
 * The forward twin for one family as one `iptables-restore --noflush` transaction: the chain is
 * created or emptied and refilled, the jump put into DOCKER-USER (position 1) or FORWARD
 * (position 1) and removed from the other one, in the same COMMIT. With no guards it removes
 * the jumps and the chain; undefined when there is nothing to do.
 */
export function buildForwardRestore(
  guards: readonly ForwardPort[],
  family: Family,
  options: GuardOptions,
  state: ForwardState,
  grantSpecs: readonly string[][] = [],
): string | undefined {
  const mine = guards.filter((guard) => guard.family === family);
  if (mine.length === 0) return buildForwardTeardownRestore(state);
  const target = forwardJumpChain(state);
  const lines = ['*filter', `:${FORWARD_CHAIN} - [0:0]`];
  for (const spec of buildForwardRuleSpecs(mine, family, options, grantSpecs))
    lines.push(formatRestoreLine(['-A', FORWARD_CHAIN, ...spec]));
  if (target === DOCKER_USER_CHAIN) {
    if (state.dockerUserJumps === 0) lines.push(formatRestoreLine(['-I', DOCKER_USER_CHAIN, '1', ...JUMP]));
    lines.push(...jumpDeletes('FORWARD', state.forwardJumps));
  } else if (state.forwardJumps === 0 || state.forwardJumpFirst !== true) {
    // Docker without DOCKER-USER (ip6tables before Docker 25) re-inserts its ACCEPTs ahead of us when it starts: back to first.
    lines.push(...jumpDeletes('FORWARD', state.forwardJumps), formatRestoreLine(['-I', 'FORWARD', '1', ...JUMP]));
  }
  lines.push('COMMIT');
  return `${lines.join('\n')}\n`;
}

/** Removes the jumps and the chain in one transaction; undefined when none is there. */
export function buildForwardTeardownRestore(state: ForwardState): string | undefined {
  if (!state.chain && state.dockerUserJumps === 0 && state.forwardJumps === 0) return undefined;
  const lines = [
    '*filter',
    ...(state.dockerUser ? jumpDeletes(DOCKER_USER_CHAIN, state.dockerUserJumps) : []),
    ...jumpDeletes('FORWARD', state.forwardJumps),
  ];
  if (state.chain) lines.push(`-F ${FORWARD_CHAIN}`, `-X ${FORWARD_CHAIN}`);
  lines.push('COMMIT');
  return `${lines.join('\n')}\n`;
}

// The forward twin as `knocktail rules` prints it, for one family (empty without guards).
export function buildForwardSetupArgs(
  guards: readonly ForwardPort[],
  family: Family,
  options: GuardOptions,
  state: ForwardState,
  grantSpecs: readonly string[][] = [],
): string[][] {
  const mine = guards.filter((guard) => guard.family === family);
  if (mine.length === 0) return [];
  const bin = tablesBinary(family);
  return [
    [...bin, '-N', FORWARD_CHAIN],
    ...buildForwardRuleSpecs(mine, family, options, grantSpecs).map((spec) => [...bin, '-A', FORWARD_CHAIN, ...spec]),
    [...bin, '-I', forwardJumpChain(state), '1', ...JUMP],
  ];
}
