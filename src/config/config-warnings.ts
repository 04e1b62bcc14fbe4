import type { Cidr } from '../model/address.js';
import { formatStep, type Door, type Step } from '../model/door.js';
import { bucketTtl } from '../fleet/fleet-keys.js';
import { formatDuration } from '../model/duration.js';
import { formatPath } from './json-path.js';
import { knockSpansOf } from './port-warnings.js';
import type { Config } from './types.js';

// Advice for `check-config` on a valid config (pure; nothing of the host): settings that
// load but weaken what knocktail is for. Each warning is "path: message", like a problem.

/** The widest `limits.alwaysAllow` entry that is still "a few networks": a /16 of IPv4, a /48 of IPv6. */
const WIDEST_PREFIX = { 4: 16, 6: 48 } as const;

/** Ports scanners and stray traffic reach all day, by what usually listens there. */
const WELL_KNOWN: Readonly<Record<number, string>> = {
  21: 'FTP',
  22: 'ssh',
  23: 'telnet',
  25: 'SMTP',
  53: 'DNS',
  80: 'HTTP',
  110: 'POP3',
  123: 'NTP',
  143: 'IMAP',
  161: 'SNMP',
  443: 'HTTPS',
  445: 'SMB',
  465: 'SMTPS',
  500: 'IKE',
  587: 'mail submission',
  993: 'IMAPS',
  995: 'POP3S',
  1194: 'OpenVPN',
  3306: 'MySQL',
  3389: 'RDP',
  5432: 'PostgreSQL',
  8080: 'HTTP',
  8443: 'HTTPS',
  51820: 'WireGuard',
};

function alwaysAllowWarnings(entries: readonly Cidr[]): string[] {
  return entries.flatMap((cidr, index) => {
    const widest = WIDEST_PREFIX[cidr.family];
    if (cidr.range[1] >= widest) return [];
    const what = cidr.range[1] === 0 ? `every IPv${cidr.family} address` : `more than a /${widest}`;
    return [
      `${formatPath(['limits', 'alwaysAllow', index])}: ${cidr.text} is ${what}; the guard lets these sources reach the protected ports without a knock, so for them knocktail is off (list your own networks, each a /${widest} or narrower)`,
    ];
  });
}

function repeatedStepWarnings(door: Door, index: number): string[] {
  const warnings: string[] = [];
  const check = (steps: readonly Step[], path: readonly (string | number)[]): void => {
    steps.forEach((step, position) => {
      const first = steps.findIndex((other) => formatStep(other) === formatStep(step));
      if (first === position) return;
      warnings.push(
        `${formatPath([...path, position])}: ${formatStep(step)} is also step ${first + 1}; a repeated step adds nothing a scanner has to guess${first === position - 1 ? ', and a second SYN to the same port within seconds can be taken for a retransmit' : ''} (use another port)`,
      );
    });
  };
  check(door.sequence, ['doors', index, 'sequence']);
  door.oneTimeSequences.forEach((steps, k) => check(steps, ['doors', index, 'oneTimeSequences', k]));
  check(door.closeSequence, ['doors', index, 'closeSequence']);
  return warnings;
}

function wellKnownPortWarnings(door: Door, index: number): string[] {
  return knockSpansOf(door, index).flatMap((span) => {
    if (span.from !== span.to) return [];
    const service = WELL_KNOWN[span.from];
    if (service === undefined) return [];
    const single = span.path[2] === 'sequence' && door.sequence.length === 1;
    const risk = single
      ? 'every scan and stray packet to it opens the door'
      : 'scanners and stray traffic hit it all day, so it tells a knock from noise poorly';
    return [
      `${formatPath(span.path)}: ${span.proto}:${span.from} is a well-known service port (${service}); ${risk} (pick an unremarkable high port)`,
    ];
  });
}

// A fleet SPA door's used packets stay in the group's bucket for its TTL; a packet can be fresh
// for up to 2 × maxAge after it is written (stamped maxAge ahead), and a member that joins later
// must still find it.
function fleetSpaWarnings(config: Config, door: Door, index: number): string[] {
  if (!door.spa || !config.fleet?.doors.includes(door.name)) return [];
  const ttl = bucketTtl(config.limits.maxOpenFor);
  if (2 * door.spa.maxAge <= ttl) return [];
  return [
    `${formatPath(['doors', index, 'spa', 'maxAge'])}: a packet may stay fresh for 2 × maxAge (${formatDuration(2 * door.spa.maxAge)}) but the fleet's bucket keeps used packets for limits.maxOpenFor + 1h (${formatDuration(ttl)}); a member that joins later may miss older ones (lower maxAge or raise limits.maxOpenFor)`,
  ];
}

/** Every config warning, limits first, then door by door. */
export function checkConfigWarnings(config: Config): string[] {
  return [
    ...alwaysAllowWarnings(config.limits.alwaysAllow),
    ...config.doors.flatMap((door, index) => [
      ...repeatedStepWarnings(door, index),
      ...wellKnownPortWarnings(door, index),
      ...fleetSpaWarnings(config, door, index),
    ]),
  ];
}
