import type { PortSpec } from '../model/door.js';
import { formatBlockingChain } from './host-firewall.js';
import type { BlockingChain } from './host-firewall.js';

// What the guard answers a refused NEW packet (knock, close, tripwire and protected ports of
// sources without a grant): the host's own answer for a port nobody listens on, so a scan
// cannot single those ports out. "reject": a TCP reset for tcp, ICMP(v6) port unreachable for
// udp (the kernel's answer on a bare host); "drop": silence (a host whose firewall drops unused
// ports by default: ufw, firewalld, `-P INPUT DROP`, an nft input policy drop). Pure.
export type Refusal = 'reject' | 'drop';

/** `firewall.refusal`: "auto" picks from the host firewall at setup. */
export type RefusalSetting = 'auto' | Refusal;

export interface RefusalChoice {
  readonly refusal: Refusal;
  /** Why, for check-config, rules and status. */
  readonly reason: string;
}

/**
 * The refusal for a setting and what the host firewall probe found: `blocking` is the list of
 * other input chains that drop by default, or undefined when nothing could be looked at (then
 * "auto" takes the kernel's own answer, reject).
 */
export function chooseRefusal(
  setting: RefusalSetting | undefined,
  blocking: readonly BlockingChain[] | undefined,
  notLooked = 'the host firewall was not looked at',
): RefusalChoice {
  if (setting === 'reject' || setting === 'drop')
    return { refusal: setting, reason: `firewall.refusal is "${setting}"` };
  if (blocking === undefined)
    return {
      refusal: 'reject',
      reason: `auto: ${notLooked}; the kernel answers an unused port with a TCP reset or ICMP port unreachable`,
    };
  if (blocking.length > 0)
    return {
      refusal: 'drop',
      reason: `auto: ${blocking.map(formatBlockingChain).join('; ')} drops unused ports by default`,
    };
  return {
    refusal: 'reject',
    reason:
      'auto: no input chain drops by default, so the kernel answers an unused port with a TCP reset or ICMP port unreachable',
  };
}

/** "refusal: reject (TCP reset for tcp, ICMP port unreachable for udp), because auto: …". */
export function describeRefusal(choice: RefusalChoice): string {
  const what =
    choice.refusal === 'reject' ? 'reject (TCP reset for tcp, ICMP/ICMPv6 port unreachable for udp)' : 'drop (silent)';
  return `refusal: ${what}, as for unused ports; ${choice.reason}`;
}

/** The host facts the guard adapts to, resolved by the caller at setup (never inside a pure builder). */
export interface GuardHost {
  readonly refusal: RefusalChoice;
  /** Ports with a local listener: never tripwires. */
  readonly listening: readonly PortSpec[];
}
