import type { Family } from '../../src/model/address.js';
import { parseCidr, type Cidr } from '../../src/model/address.js';
import type { Limits } from '../../src/config/types.js';
import type { Door, Step } from '../../src/model/door.js';
import type { KnockEvent } from '../../src/knock/events.js';
import type { Packet, TcpFlag } from '../../src/parse/packet.js';

// Small factories for knock tests: doors with sensible defaults, packets as the parser would
// produce them, and a compact rendering of events for assertions.

export const SECOND = 1000;
export const T0 = Date.UTC(2026, 10, 24, 12, 0, 0);

export function steps(...texts: string[]): Step[] {
  return texts.map((text) => {
    if (text === 'icmp') return { proto: 'icmp' };
    const [proto, port] = text.split(':');
    return { proto: proto as 'tcp' | 'udp', port: Number(port) };
  });
}

export function cidrs(...texts: string[]): Cidr[] {
  return texts.map((text) => parseCidr(text)!);
}

export function makeDoor(overrides: Partial<Door> & { name: string }): Door {
  return {
    sequence: [],
    oneTimeSequences: [],
    timeout: 25 * SECOND,
    open: [{ proto: 'tcp', port: 22 }],
    openFor: 3_600_000,
    closeSequence: [],
    allowFrom: [],
    ...overrides,
  };
}

export const classic = makeDoor({
  name: 'classic',
  sequence: steps('tcp:31600'),
  openFor: null,
  closeSequence: steps('tcp:31601'),
});
export const ssh = makeDoor({
  name: 'ssh',
  sequence: steps('tcp:7000', 'udp:8000', 'tcp:9000'),
  timeout: 15 * SECOND,
  closeSequence: steps('tcp:9001'),
});

export const limits: Limits = {
  maxGrants: 1000,
  maxTrackedSources: 10_000,
  maxFailures: 5,
  failWindow: 60 * SECOND,
  banFor: 600 * SECOND,
  maxOpenFor: 86_400_000,
  retransmitWindow: 3 * SECOND,
  alwaysAllow: [],
};

function familyOf(src: string): Family {
  return src.includes(':') ? 6 : 4;
}

interface PacketOptions {
  readonly sport?: number;
  readonly flags?: readonly TcpFlag[];
}

let nextSport = 40_000;

function base(src: string, at: number): Omit<Packet, 'proto' | 'flags'> {
  const family = familyOf(src);
  return { at, prefix: 'knocktail: ', in: 'eth0', family, src, dst: family === 4 ? '198.51.100.1' : '2001:db8::1' };
}

/** A TCP packet; a bare SYN from a fresh source port unless told otherwise. */
export function tcp(src: string, dport: number, at: number, options: PacketOptions = {}): Packet {
  return {
    ...base(src, at),
    proto: 'tcp',
    sport: options.sport ?? nextSport++,
    dport,
    flags: new Set(options.flags ?? ['SYN']),
  };
}

export function udp(src: string, dport: number, at: number): Packet {
  return { ...base(src, at), proto: 'udp', sport: nextSport++, dport, flags: new Set() };
}

/** An echo request (ICMP type 8, or ICMPv6 type 128 for an IPv6 source). */
export function ping(src: string, at: number, type?: number): Packet {
  const v6 = familyOf(src) === 6;
  return {
    ...base(src, at),
    proto: v6 ? 'icmpv6' : 'icmp',
    icmpType: type ?? (v6 ? 128 : 8),
    icmpCode: 0,
    flags: new Set(),
  };
}

/** A packet for a step, e.g. knock('203.0.113.9', 'udp:8000', at). */
export function knock(src: string, step: string, at: number): Packet {
  const [proto, port] = step.split(':');
  if (proto === 'icmp') return ping(src, at);
  return proto === 'udp' ? udp(src, Number(port), at) : tcp(src, Number(port), at);
}

/** "completed ssh 203.0.113.9", "reset open timeout classic 198.51.100.7", ... */
export function describeEvent(event: KnockEvent): string {
  switch (event.kind) {
    case 'advanced':
      return `advanced ${event.sequence} ${event.step}/${event.of} ${event.door} ${event.src}`;
    case 'reset':
      return `reset ${event.sequence} ${event.reason} ${event.door} ${event.src}`;
    case 'rejected':
      return `rejected ${event.reason} ${event.door} ${event.src}`;
    case 'scanner':
      return `scanner ${event.port} ${event.src}`;
    default:
      return `${event.kind} ${event.door} ${event.src}`;
  }
}

export const describeEvents = (events: readonly KnockEvent[]): string[] => events.map(describeEvent);
