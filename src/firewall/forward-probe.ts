import type { Family } from '../model/address.js';
import { KnocktailError } from '../model/errors.js';
import type { PortSpec } from '../model/door.js';
import type { CommandExecutor } from './command-executor.js';
import { parseIptablesNat, parseNftNat } from './dnat-rules.js';
import type { DnatRule } from './dnat-rules.js';
import { planForward } from './forward-plan.js';
import type { ForwardPlan } from './forward-plan.js';
import { DOCKER_USER_CHAIN, FORWARD_CHAIN } from './forward-args.js';
import type { ForwardState } from './forward-args.js';
import { tablesBinary } from './iptables-args.js';

// The DNAT probe (setup, status, the periodic check) and the forward twin's installer. A table
// or tool that cannot be read publishes nothing: a host without iptables or nft has no DNAT
// of that kind. No retries: an answer other than a listing is an answer.
const ANY_EXIT = [0, 1, 2, 3, 4, 111];

/** The listing's text; a missing tool lists nothing; a failure lists nothing and is noted in `unread`. */
async function listing(exec: CommandExecutor, argv: readonly string[], unread: string[]): Promise<string> {
  try {
    const result = await exec.run(argv, { accept: ANY_EXIT });
    if (result.exitCode !== 0)
      unread.push(`\`${argv.join(' ')}\`: ${result.stderr.trim().split('\n')[0] || `exit ${result.exitCode}`}`);
    return result.exitCode === 0 ? result.stdout : '';
  } catch (error) {
    if (error instanceof KnocktailError && error.code === 'BINARY_MISSING') return '';
    throw error;
  }
}

/** Every DNAT/REDIRECT rule the host holds: iptables' and ip6tables' nat tables, and nft's nat chains. */
export async function readDnatRules(exec: CommandExecutor, unread: string[] = []): Promise<DnatRule[]> {
  const rules: DnatRule[] = [];
  for (const family of [4, 6] as const)
    rules.push(...parseIptablesNat(await listing(exec, [...tablesBinary(family), '-t', 'nat', '-S'], unread), family));
  rules.push(...parseNftNat(await listing(exec, ['nft', '-j', 'list', 'ruleset'], unread)));
  return rules;
}

/** Which protected ports the host's DNAT rules publish. */
export async function probeForward(exec: CommandExecutor, protectedPorts: readonly PortSpec[]): Promise<ForwardPlan> {
  if (protectedPorts.length === 0) return { guards: [], unguarded: [] };
  const unread: string[] = [];
  const plan = planForward(await readDnatRules(exec, unread), protectedPorts);
  return unread.length === 0 ? plan : { ...plan, unread };
}

/** The error setup raises when a protected port is published in a way no forward rule can guard. */
export function unguardedError(plan: ForwardPlan): KnocktailError | undefined {
  if (plan.unguarded.length === 0) return undefined;
  const details = plan.unguarded.map((port) => `${port.proto}:${port.port}: ${port.origin}`);
  return new KnocktailError(
    'HOST_FIREWALL',
    `Expected every protected port published by NAT to reach this host through the forward path, got ${details.length} redirected to this host itself (REDIRECT or DNAT to loopback), which the guard cannot tell from other traffic; remove those rules or stop protecting those ports`,
    { details },
  );
}

/** What the family's filter table holds of the forward twin (one `iptables -S`). */
export async function readForwardState(exec: CommandExecutor, family: Family): Promise<ForwardState> {
  const lines = (await exec.run([...tablesBinary(family), '-S'])).stdout.split('\n').map((line) => line.trim());
  const jumps = (chain: string): number => lines.filter((line) => line === `-A ${chain} -j ${FORWARD_CHAIN}`).length;
  return {
    dockerUser: lines.includes(`-N ${DOCKER_USER_CHAIN}`),
    chain: lines.includes(`-N ${FORWARD_CHAIN}`),
    dockerUserJumps: jumps(DOCKER_USER_CHAIN),
    forwardJumps: jumps('FORWARD'),
    forwardJumpFirst: lines.find((line) => line.startsWith('-A FORWARD ')) === `-A FORWARD -j ${FORWARD_CHAIN}`,
  };
}
