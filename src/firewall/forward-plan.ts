import type { Family } from '../model/address.js';
import type { PortSpec } from '../model/door.js';
import type { DnatRule } from './dnat-rules.js';

// Which protected ports destination NAT publishes (pure): those are guarded on the forward path
// too, matched by conntrack's original destination (`--ctorigdstport`; nft `ct original proto-dst`).

/** A protected port the forward chain refuses, for one family, by its original (published) destination. */
export interface ForwardPort {
  readonly family: Family;
  readonly proto: 'tcp' | 'udp';
  /** The original (published) destination port. */
  readonly port: number;
  /** Original destination addresses to limit the refusal to; undefined: any. */
  readonly addresses?: readonly string[];
}

/** A protected port that a DNAT rule publishes, for one family. */
export interface ForwardGuard extends ForwardPort {
  /** The rules that publish it, for check-config and status. */
  readonly origins: readonly string[];
}

/** A protected port published to this host itself (REDIRECT, DNAT to loopback): the forward guard never sees it. */
export interface UnguardedPort {
  readonly proto: 'tcp' | 'udp';
  readonly port: number;
  readonly origin: string;
}

export interface ForwardPlan {
  readonly guards: readonly ForwardGuard[];
  readonly unguarded: readonly UnguardedPort[];
  /** Listings that could not be read (not root, a tool failing): what the plan may miss. */
  readonly unread?: readonly string[];
}

export const NO_FORWARD: ForwardPlan = { guards: [], unguarded: [] };

function publishes(rule: DnatRule, port: PortSpec): boolean {
  if (rule.proto !== undefined && rule.proto !== port.proto) return false;
  if (rule.ports === undefined) return true;
  const listed = rule.ports.some(([from, to]) => port.port >= from && port.port <= to);
  return rule.negated === true ? !listed : listed;
}

/** The forward guards the protected ports need, given the host's DNAT rules, in protected-port order. */
export function planForward(rules: readonly DnatRule[], protectedPorts: readonly PortSpec[]): ForwardPlan {
  const guards = new Map<
    string,
    { family: Family; proto: 'tcp' | 'udp'; port: number; addresses: Set<string> | undefined; origins: string[] }
  >();
  const unguarded: UnguardedPort[] = [];
  for (const port of protectedPorts) {
    for (const rule of rules) {
      if (!publishes(rule, port)) continue;
      if (rule.local) {
        unguarded.push({ proto: port.proto, port: port.port, origin: rule.origin });
        continue;
      }
      const key = `${rule.family}|${port.proto}|${port.port}`;
      const held = guards.get(key) ?? {
        family: rule.family,
        proto: port.proto,
        port: port.port,
        addresses: new Set<string>(),
        origins: [],
      };
      // One rule without an address publishes the port on every address.
      if (rule.addresses === undefined) held.addresses = undefined;
      else for (const address of rule.addresses) held.addresses?.add(address);
      if (!held.origins.includes(rule.origin)) held.origins.push(rule.origin);
      guards.set(key, held);
    }
  }
  return {
    guards: [...guards.values()].map(({ addresses, ...guard }) =>
      addresses === undefined ? guard : { ...guard, addresses: [...addresses] },
    ),
    unguarded,
  };
}

/**
 * What the forward chain refuses once it is installed: every protected port, both families.
 * A refusal matches only connections DNATed from that port, so a port no rule publishes costs
 * nothing, and a port Docker publishes later (a new container, or the same one after a
 * restart, when its DNAT was briefly gone) is guarded from its first packet, not from the next check.
 */
export function forwardPorts(protectedPorts: readonly PortSpec[]): ForwardPort[] {
  return ([4, 6] as const).flatMap((family) =>
    protectedPorts.map((port) => ({ family, proto: port.proto, port: port.port })),
  );
}

/** The guards of one family. */
export function guardsOf(plan: ForwardPlan, family: Family): ForwardGuard[] {
  return plan.guards.filter((guard) => guard.family === family);
}

/** How a backend guards the forward path, for check-config and status. */
export function forwardGuardText(backend: string): string {
  if (backend === 'nftables')
    return 'by chain forward of table inet knocktail (hook forward, priority filter), matching ct original proto-dst';
  return "by chain KNOCKTAIL-FWD (jumped from DOCKER-USER when it exists, else first in FORWARD), matching conntrack's original destination";
}

/** One line per published protected port, for check-config and status; one line when none is published. */
export function describeForwardPlan(plan: ForwardPlan, backend: string): string[] {
  const unread = plan.unread && plan.unread.length > 0 ? ` (not read: ${plan.unread.join('; ')})` : '';
  if (plan.guards.length === 0 && plan.unguarded.length === 0)
    return [`forward path: no protected port is published by DNAT${unread}`];
  const lines = plan.guards.map((guard) => {
    const where = guard.addresses ? ` on ${guard.addresses.join(', ')}` : '';
    return `forward path: ${guard.proto}:${guard.port} (IPv${guard.family}${where}) is published by DNAT (${guard.origins.join('; ')}); guarded ${forwardGuardText(backend)}`;
  });
  for (const port of plan.unguarded)
    lines.push(
      `forward path: ${port.proto}:${port.port} is redirected to this host (${port.origin}): knocktail cannot guard it; setup refuses`,
    );
  if (unread) lines.push(`forward path:${unread}`);
  return lines;
}
