import { createHash } from 'node:crypto';
import type { Door, PortSpec } from './door.js';

// Tripwires: unused ports the guard logs like knock ports (at most one line per source per
// minute) and refuses like every unused port. Nobody who knows a door touches them, so a hit
// marks the source as a scanner. Pure: the firewall renders the rules from this list, and the
// daemon classifies a logged packet against the same list (docs/guard-rules.md, "Tripwires").

/** Neighbours on each side of every knock port (p−2, p−1, p+1, p+2). */
const NEAR = 2;
/** Far tripwires: one per stripe of this many ports, from FAR_START to 65535. */
const STRIPE = 1024;
const FAR_START = 1024;
/** udp gets a far tripwire in every fourth stripe only: a udp scan is slow, and each line costs. */
const UDP_STRIPE_STEP = 4;

function key(proto: 'tcp' | 'udp', port: number): string {
  return `${proto}:${port}`;
}

interface PortSpecRange {
  readonly proto: 'tcp' | 'udp';
  readonly from: number;
  readonly to: number;
}

// Every (proto, port) a door uses, knock or protected, ranges expanded; these are never tripwires.
function usedPorts(doors: readonly Door[]): { used: Set<string>; knocks: PortSpecRange[] } {
  const used = new Set<string>();
  const knocks: PortSpecRange[] = [];
  for (const door of doors) {
    for (const port of door.open) used.add(key(port.proto, port.port));
    // An SPA port is refused like an unused port but must never mark its sender as a scanner.
    if (door.spa) used.add(key('udp', door.spa.port));
    for (const step of [...door.sequence, ...door.closeSequence, ...door.oneTimeSequences.flat()]) {
      if (step.proto === 'icmp' || step.port === undefined) continue;
      used.add(key(step.proto, step.port));
      knocks.push({ proto: step.proto, from: step.port, to: step.port });
    }
    const timed = door.timeBased;
    if (timed) {
      const [from, to] = timed.portRange;
      for (let port = from; port <= to; port++) used.add(key(timed.proto, port));
      knocks.push({ proto: timed.proto, from, to });
    }
  }
  return { used, knocks };
}

// Where the stripe's tripwire sits: a hash of the seed, the protocol and the stripe, so hosts
// with different seeds differ and one config gives the same ports every time.
function offsetInStripe(seed: string, proto: 'tcp' | 'udp', stripe: number): number {
  const digest = createHash('sha256').update(`knocktail-tripwire\u0000${seed}\u0000${proto}\u0000${stripe}`).digest();
  return digest.readUInt32BE(0) % STRIPE;
}

/**
 * The tripwire ports for a set of doors: the two neighbours on each side of every tcp/udp knock
 * port (sequence, close, one-time steps, both ends of a time-based range), plus one tcp port in
 * each 1024-port stripe of 1024–65535 and one udp port in every fourth stripe, placed by a hash of
 * `seed` (the config's `logPrefix`). Ports any door uses are left out; the caller also leaves out
 * ports with a local listener ({@link withoutPorts}). Sorted by protocol (tcp first), then port.
 */
export function tripwirePorts(doors: readonly Door[], seed: string): PortSpec[] {
  const { used, knocks } = usedPorts(doors);
  const found = new Map<string, PortSpec>();
  const add = (proto: 'tcp' | 'udp', port: number): void => {
    if (port < 1 || port > 65535 || used.has(key(proto, port))) return;
    found.set(key(proto, port), { proto, port });
  };
  for (const knock of knocks) {
    for (let d = 1; d <= NEAR; d++) {
      add(knock.proto, knock.from - d);
      add(knock.proto, knock.to + d);
    }
  }
  const stripes = (65536 - FAR_START) / STRIPE;
  for (let stripe = 0; stripe < stripes; stripe++) {
    const base = FAR_START + stripe * STRIPE;
    add('tcp', base + offsetInStripe(seed, 'tcp', stripe));
    if (stripe % UDP_STRIPE_STEP === 0) add('udp', base + offsetInStripe(seed, 'udp', stripe));
  }
  return [...found.values()].sort((a, b) => (a.proto === b.proto ? a.port - b.port : a.proto === 'tcp' ? -1 : 1));
}

/** The tripwires less the given ports (e.g. the host's listening sockets: a service's port is never a tripwire). */
export function withoutPorts(tripwires: readonly PortSpec[], ports: readonly PortSpec[]): PortSpec[] {
  const excluded = new Set(ports.map((port) => key(port.proto, port.port)));
  return tripwires.filter((port) => !excluded.has(key(port.proto, port.port)));
}

/** A lookup for the daemon: is a logged packet to (proto, port) a tripwire hit? */
export function buildTripwireMatcher(
  tripwires: readonly PortSpec[],
): (proto: string, port: number | undefined) => boolean {
  const set = new Set(tripwires.map((port) => key(port.proto, port.port)));
  return (proto, port) => port !== undefined && (proto === 'tcp' || proto === 'udp') && set.has(key(proto, port));
}
