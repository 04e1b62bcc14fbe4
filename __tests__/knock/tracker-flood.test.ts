import { describe, expect, test } from '@jest/globals';
import { KnockTracker } from '../../src/knock/tracker.js';
import { describeEvents, limits, ssh, T0, tcp, udp } from './knock-fixtures.js';

// Memory stays bounded by maxTrackedSources under a flood of distinct sources, and a legitimate
// knocker is only starved when a full cap's worth of strangers knock between two of its knocks.
const CAP = 1000;
const FLOOD = 100_000;
const alice = '203.0.113.9';

function stranger(i: number): string {
  return `2001:db8:${(i >> 16) + 1}::${(i & 0xffff).toString(16)}`;
}

function flood(legit: ReadonlyMap<number, (at: number) => ReturnType<typeof tcp>>): {
  aliceEvents: string[];
  maxTracked: number;
  engine: KnockTracker;
} {
  const engine = new KnockTracker({ doors: [ssh], limits: { ...limits, maxTrackedSources: CAP } });
  const aliceEvents: string[] = [];
  let maxTracked = 0;
  for (let i = 0; i < FLOOD; i++) {
    // 10 strangers per millisecond, each knocking the first step: all of them are worth tracking.
    const at = T0 + Math.floor(i / 10);
    const events = engine.observe(tcp(stranger(i), 7000, at), at);
    const mine = legit.get(i);
    if (mine) events.push(...engine.observe(mine(at), at));
    aliceEvents.push(...describeEvents(events.filter((event) => event.src === alice)));
    if (i % 997 === 0) maxTracked = Math.max(maxTracked, engine.stats().trackedSources);
  }
  return { aliceEvents, maxTracked: Math.max(maxTracked, engine.stats().trackedSources), engine };
}

describe('KnockTracker under a flood of distinct sources', () => {
  test('tracked sources never exceed the cap and a knocker within the cap still gets in', () => {
    const knocks = new Map([
      [50_000, (at: number) => tcp(alice, 7000, at)],
      [50_600, (at: number) => udp(alice, 8000, at)],
      [51_200, (at: number) => tcp(alice, 9000, at)],
    ]);
    const { aliceEvents, maxTracked, engine } = flood(knocks);
    expect(maxTracked).toBeLessThanOrEqual(CAP);
    expect(aliceEvents).toEqual([
      `advanced open 1/3 ssh ${alice}`,
      `advanced open 2/3 ssh ${alice}`,
      `completed ssh ${alice}`,
    ]);
    expect(engine.stats().evicted).toBeGreaterThanOrEqual(FLOOD - CAP);
  });

  test('a knocker with more than a cap of strangers between two knocks loses its progress (the documented trade-off)', () => {
    const knocks = new Map([
      [10_000, (at: number) => tcp(alice, 7000, at)],
      [11_500, (at: number) => udp(alice, 8000, at)],
      [11_600, (at: number) => tcp(alice, 9000, at)],
    ]);
    const { aliceEvents } = flood(knocks);
    expect(aliceEvents).toEqual([`advanced open 1/3 ssh ${alice}`, `reset open evicted ssh ${alice}`]);
  });

  test('sources that never knocked a first step cannot push out a knocker part-way through', () => {
    const engine = new KnockTracker({ doors: [ssh], limits: { ...limits, maxTrackedSources: 10 } });
    const events = engine.observe(tcp(alice, 7000, T0), T0);
    // Their SYNs to the last step are remembered (as possible retransmits), but never first in progress.
    for (let i = 0; i < 1000; i++) events.push(...engine.observe(tcp(stranger(i), 9000, T0 + 1), T0 + 1));
    events.push(
      ...engine.observe(udp(alice, 8000, T0 + 2), T0 + 2),
      ...engine.observe(tcp(alice, 9000, T0 + 3), T0 + 3),
    );
    expect(describeEvents(events)).toEqual([
      `advanced open 1/3 ssh ${alice}`,
      `advanced open 2/3 ssh ${alice}`,
      `completed ssh ${alice}`,
    ]);
    expect(engine.stats()).toMatchObject({ trackedSources: 10, evicted: 991 });
  });
});
