import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import type { KnockEvent } from '../../src/knock/events.js';
import { KnockTracker } from '../../src/knock/tracker.js';
import type { Packet } from '../../src/parse/packet.js';
import { classic, describeEvents, knock, limits, SECOND, ssh, T0, tcp } from './knock-fixtures.js';

const KNOCKS = [
  'tcp:7000',
  'udp:8000',
  'tcp:9000',
  'tcp:9001',
  'tcp:31600',
  'tcp:31601',
  'udp:7000',
  'tcp:8000',
  'tcp:443',
];
const SOURCES = ['203.0.113.9', '203.0.113.10', '2001:db8::7', '198.51.100.3'];
const subject = SOURCES[0]!;

type Action = { kind: 'packet'; who: number; step: string; gap: number; sport: number } | { kind: 'tick'; gap: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('packet' as const),
      who: fc.nat(SOURCES.length - 1),
      step: fc.constantFrom(...KNOCKS),
      gap: fc.nat(6 * SECOND),
      sport: fc.constantFrom(50_000, 50_001, 50_002),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), gap: fc.nat(20 * SECOND) }) },
);

function packetFor(src: string, step: string, at: number, sport: number): Packet {
  const [proto, port] = step.split(':');
  return proto === 'tcp' ? tcp(src, Number(port), at, { sport }) : knock(src, step, at);
}

// Play actions against a fresh tracker; packets of sources not in `only` are left out.
function play(actions: readonly Action[], only?: string): KnockEvent[] {
  const engine = new KnockTracker({ doors: [classic, ssh], limits });
  const events: KnockEvent[] = [];
  let now = T0;
  for (const item of actions) {
    now += item.gap;
    if (item.kind === 'tick') {
      events.push(...engine.expire(now));
      continue;
    }
    const src = SOURCES[item.who]!;
    if (only !== undefined && src !== only) continue;
    events.push(...engine.observe(packetFor(src, item.step, now, item.sport), now));
  }
  return events;
}

describe('KnockTracker properties', () => {
  test("noise from other sources never changes a source's outcome", () => {
    fc.assert(
      fc.property(fc.array(action, { maxLength: 120 }), (actions) => {
        const mixed = play(actions).filter((event) => event.src === subject);
        expect(describeEvents(mixed)).toEqual(describeEvents(play(actions, subject)));
      }),
      { numRuns: 300 },
    );
  });

  test('ssh completes exactly when the last three knocks are its sequence, in order, within the timeout', () => {
    const steps = fc.array(fc.record({ step: fc.constantFrom(...KNOCKS.slice(0, 6)), gap: fc.nat(8 * SECOND) }), {
      maxLength: 60,
    });
    fc.assert(
      fc.property(steps, (knocks) => {
        // A fresh source port per SYN: every packet is a knock.
        const engine = new KnockTracker({ doors: [classic, ssh], limits });
        let at = T0;
        const history: { step: string; at: number }[] = [];
        for (const { step, gap } of knocks) {
          at += gap;
          history.push({ step, at });
          const completed = engine
            .observe(knock(subject, step, at), at)
            .some((event) => event.kind === 'completed' && event.door === 'ssh');
          const last = history.slice(-3);
          const expected =
            last.length === 3 &&
            last.map((k) => k.step).join() === 'tcp:7000,udp:8000,tcp:9000' &&
            last[2]!.at - last[0]!.at <= ssh.timeout;
          expect(completed).toBe(expected);
        }
      }),
      { numRuns: 500 },
    );
  });
});
