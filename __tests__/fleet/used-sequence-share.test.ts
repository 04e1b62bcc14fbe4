import { describe, expect, test } from '@jest/globals';
import { ManualClock } from '../../src/model/clock.js';
import { FleetLink } from '../../src/fleet/fleet-link.js';
import { encodeEnvelope, signEnvelope } from '../../src/fleet/message-signing.js';
import { usedEntryKey } from '../../src/fleet/used-sequence-share.js';
import { KnockTracker } from '../../src/knock/tracker.js';
import type { Door } from '../../src/model/door.js';
import { describeEvents, limits, makeDoor, steps, udp } from '../knock/knock-fixtures.js';
import {
  joinedPair,
  MemoryBucket,
  memberEngine,
  MemoryFleetTransport,
  settle,
  testFleetConfig,
} from './memory-transport.js';

const T0 = Date.parse('2026-12-01T09:00:00Z');
const KEY = 'fleet-group-key-'.repeat(3);
const vault = makeDoor({ name: 'vault', oneTimeSequences: [steps('udp:4001', 'udp:4002')] });
const local = makeDoor({ name: 'local', oneTimeSequences: [steps('udp:5001', 'udp:5002')] });
const quiet = { info: () => undefined, warn: () => undefined };

// One member as the daemon wires it: knock engine → grant engine, and a fleet link that shares
// the knock engine's used sequences for the fleet door `vault`.
function member(host: string, clock: ManualClock, bucket: MemoryBucket, doors: Door[] = [vault, local]) {
  const { port } = memberEngine(doors, clock);
  const tracker = new KnockTracker({ doors, limits });
  const transport = new MemoryFleetTransport(bucket);
  const link = new FleetLink({
    config: testFleetConfig(host, KEY, ['vault']),
    maxOpenFor: 3_600_000,
    port,
    transport,
    clock,
    log: quiet,
    version: '0.1.0',
    sequences: {
      markUsed: (key) => tracker.markOneTimeUsed(key),
      onUsed: (listener) => tracker.onSequenceUsed(listener),
    },
  });
  const knock = (src: string, ...ports: number[]): string[] =>
    ports.flatMap((port, i) => describeEvents(tracker.observe(udp(src, port, clock.now() + i), clock.now() + i)));
  return { tracker, link, transport, knock };
}

describe('used single-use sequences are group-wide on fleet doors', () => {
  test('a one-time sequence used on b1 and replayed on b2 opens nothing on b2', async () => {
    const { b1, b2 } = await joinedPair(T0, member);
    expect(b1.knock('203.0.113.5', 4001, 4002)).toContain('completed vault 203.0.113.5');
    await settle();
    expect(b2.knock('203.0.113.66', 4001, 4002)).toContain('rejected one-time-reused vault 203.0.113.66');
  });

  test('a member that joins later learns the sequences used before it came', async () => {
    const clock = new ManualClock(T0);
    const bucket = new MemoryBucket(() => clock.now());
    const b1 = member('b1', clock, bucket);
    await b1.link.start();
    b1.knock('203.0.113.5', 4001, 4002);
    await settle();
    const b3 = member('b3', clock, bucket);
    await b3.link.start();
    expect(b3.tracker.usedOneTimeKeys()).toEqual(['once:udp:4001,udp:4002']);
  });

  test('a sequence used while cut off reaches the group once the member is back', async () => {
    const { b1, b2 } = await joinedPair(T0, member);
    b1.transport.setOnline(false);
    b1.knock('203.0.113.5', 4001, 4002);
    await settle();
    expect(b2.tracker.usedOneTimeKeys()).toEqual([]);
    b1.transport.setOnline(true);
    await settle();
    await b2.link.resync();
    expect(b2.tracker.usedOneTimeKeys()).toEqual(['once:udp:4001,udp:4002']);
  });

  test('a sequence whose entry the cluster could not store (no stream leader, still connected) reaches the group within a second, without waiting for a catch-up', async () => {
    const { clock, b1, b2 } = await joinedPair(T0, member);
    b1.transport.failPuts = 2;
    b1.knock('203.0.113.5', 4001, 4002);
    await settle();
    expect(b2.tracker.usedOneTimeKeys()).toEqual([]);
    clock.advanceTo(T0 + 1_000); // the first retry fails too
    await settle();
    expect(b2.tracker.usedOneTimeKeys()).toEqual([]);
    clock.advanceTo(T0 + 2_000);
    await settle();
    expect(b2.tracker.usedOneTimeKeys()).toEqual(['once:udp:4001,udp:4002']);
    expect(b2.knock('203.0.113.6', 4001, 4002)).toContain('rejected one-time-reused vault 203.0.113.6');
  });

  test('sequences of doors that are not fleet doors stay local, and an unsigned or forged entry marks nothing', async () => {
    const { bucket, b1, b2 } = await joinedPair(T0, member);
    b1.knock('203.0.113.5', 5001, 5002);
    const forged = signEnvelope(
      {
        v: 1,
        group: 'bastions',
        id: 'x',
        host: 'b9',
        iat: T0,
        exp: T0 + 60_000,
        type: 'used',
        body: { key: 'once:udp:4001,udp:4002' },
      },
      'not-the-group-key',
    );
    bucket.write(usedEntryKey('once:udp:4001,udp:4002'), encodeEnvelope(forged));
    await settle();
    expect(b2.tracker.usedOneTimeKeys()).toEqual([]);
  });
});
