import type { Door, PortSpec, Step } from '../model/door.js';

// What the guard rules must cover, derived from the doors: the ports to protect, the
// knock ports to LOG and DROP (single ports and time-based ranges), whether any door
// knocks with ICMP echo requests, and the SPA ports to copy to NFLOG and DROP.
export interface KnockPort {
  readonly proto: 'tcp' | 'udp';
  /** A single port, or an inclusive range for time-based sequences. */
  readonly from: number;
  readonly to: number;
}

export interface DoorPorts {
  readonly protectedPorts: readonly PortSpec[];
  readonly knockPorts: readonly KnockPort[];
  readonly icmp: boolean;
  /** UDP ports of SPA doors: each NEW packet is copied to NFLOG group = the port, then refused like a knock port. */
  readonly spaPorts: readonly number[];
}

function stepsOf(door: Door): Step[] {
  return [...door.sequence, ...door.closeSequence, ...door.oneTimeSequences.flat()];
}

/** The ports every door needs guarded, deduplicated, in first-seen order. */
export function collectDoorPorts(doors: readonly Door[]): DoorPorts {
  const protectedPorts = new Map<string, PortSpec>();
  const knockPorts = new Map<string, KnockPort>();
  let icmp = false;
  const spaPorts = new Set<number>();
  for (const door of doors) {
    if (door.spa) spaPorts.add(door.spa.port);
    for (const port of door.open)
      protectedPorts.set(`${port.proto}:${port.port}`, { proto: port.proto, port: port.port });
    for (const step of stepsOf(door)) {
      if (step.proto === 'icmp') icmp = true;
      else if (step.port !== undefined)
        knockPorts.set(`${step.proto}:${step.port}`, { proto: step.proto, from: step.port, to: step.port });
    }
    const timed = door.timeBased;
    if (timed) {
      const [from, to] = timed.portRange;
      knockPorts.set(`${timed.proto}:${from}-${to}`, { proto: timed.proto, from, to });
    }
  }
  return {
    protectedPorts: [...protectedPorts.values()],
    knockPorts: [...knockPorts.values()],
    icmp,
    spaPorts: [...spaPorts],
  };
}
