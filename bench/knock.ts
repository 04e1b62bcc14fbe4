// Knock engine cost: packets per second through KnockTracker.observe() for ordinary traffic and
// for a flood of distinct sources against the LRU cap, plus expiry sweeps and time-based derivation.
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Limits } from '../src/config/types.js';
import type { Door, Step } from '../src/model/door.js';
import { deriveSequence } from '../src/knock/time-based.js';
import { KnockTracker } from '../src/knock/tracker.js';
import type { Packet } from '../src/parse/packet.js';
import type { BenchFunction } from './section.js';

const T0 = Date.UTC(2026, 10, 24, 12);
const tcpSteps = (...ports: number[]): Step[] => ports.map((port) => ({ proto: 'tcp', port }));
const door = (name: string, sequence: Step[], closeSequence: Step[]): Door => ({
  name,
  sequence,
  closeSequence,
  oneTimeSequences: [],
  timeout: 15_000,
  open: [{ proto: 'tcp', port: 22 }],
  openFor: 3_600_000,
  allowFrom: [],
});
const doors = [
  door('ssh', tcpSteps(7000, 8000, 9000), tcpSteps(9001)),
  door('classic', tcpSteps(31600), tcpSteps(31601)),
];
const limits = (maxTrackedSources: number): Limits => ({
  maxGrants: 1000,
  maxTrackedSources,
  maxFailures: 5,
  failWindow: 60_000,
  banFor: 600_000,
  maxOpenFor: 86_400_000,
  retransmitWindow: 3000,
  alwaysAllow: [],
});
const SYN = new Set(['SYN'] as const);

function syn(src: string, dport: number, at: number, sport: number): Packet {
  return {
    at,
    prefix: 'knocktail: ',
    in: 'eth0',
    family: src.includes(':') ? 6 : 4,
    src,
    dst: '198.51.100.1',
    proto: 'tcp',
    sport,
    dport,
    flags: SYN,
  };
}

// A full collection on demand, to see what the tracker retains rather than what it has thrown away.
function collector(): () => void {
  setFlagsFromString('--expose_gc');
  return runInNewContext('gc') as () => void;
}

// Build packets first so the timing covers the tracker only.
function run(label: string, packets: readonly Packet[], cap: number, gc: () => void): Record<string, string | number> {
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const tracker = new KnockTracker({ doors, limits: limits(cap) });
  let events = 0;
  const started = performance.now();
  for (const packet of packets) {
    events += tracker.observe(packet, packet.at).length;
    if (tracker.nextExpiry()! <= packet.at) events += tracker.expire(packet.at).length;
  }
  const seconds = (performance.now() - started) / 1000;
  const stats = tracker.stats();
  gc();
  const retained = process.memoryUsage().heapUsed - heapBefore;
  return {
    case: label,
    packets: packets.length,
    cap,
    seconds,
    'packets/s': Math.round(packets.length / seconds),
    events,
    tracked: stats.trackedSources,
    evicted: stats.evicted,
    'bytes/source': Math.round(retained / Math.max(1, stats.trackedSources)),
  };
}

export const bench: BenchFunction = ({ quick }) => {
  const count = quick ? 200_000 : 2_000_000;
  const ports = [7000, 8000, 9000, 9001, 31600, 31601, 443];
  // 250 sources knocking knock ports and one other port in a scrambled order, 10 packets per ms.
  const mixed = Array.from({ length: count }, (_, i) =>
    syn(
      `203.0.113.${i % 250}`,
      ports[Math.floor(i / 250) % ports.length]!,
      T0 + Math.floor(i / 10),
      1024 + (i % 60_000),
    ),
  );
  // Every packet from a new IPv6 source, all knocking the first step.
  const flood = Array.from({ length: count }, (_, i) =>
    syn(`2001:db8:${(i >> 16) + 1}::${(i & 0xffff).toString(16)}`, 7000, T0 + Math.floor(i / 10), 40_000),
  );
  const gc = collector();
  const rows = [
    run('mixed knocks, 250 sources', mixed, 10_000, gc),
    run('flood of distinct sources', flood, 10_000, gc),
    run('flood of distinct sources', flood, 100_000, gc),
  ];
  const spec = {
    secret: 'bench',
    length: 4,
    period: 30_000,
    portRange: [20_000, 29_999] as const,
    proto: 'udp' as const,
  };
  const derivations = quick ? 20_000 : 200_000;
  const started = performance.now();
  for (let window = 0; window < derivations; window++) deriveSequence(spec, window);
  const seconds = (performance.now() - started) / 1000;
  rows.push({
    case: 'deriveSequence (4 steps)',
    packets: derivations,
    cap: '',
    seconds,
    'packets/s': Math.round(derivations / seconds),
    events: '',
    tracked: '',
    evicted: '',
    'bytes/source': '',
  });
  return Promise.resolve({
    name: 'knock engine (KnockTracker.observe + expire)',
    rows,
    notes: [
      'packets/s for the last row is derivations/s',
      'bytes/source: heap the tracker retains after a full GC, per tracked source',
    ],
  });
};
