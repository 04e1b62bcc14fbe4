import { describe, expect, test } from '@jest/globals';
import { ManualClock } from '../../src/model/clock.js';
import { FleetLink } from '../../src/fleet/fleet-link.js';
import { encodeEnvelope, signEnvelope } from '../../src/fleet/message-signing.js';
import { usedEntryKey } from '../../src/fleet/used-sequence-share.js';
import { UsedKeyRelay } from '../../src/app/used-key-relay.js';
import { ReplayCache } from '../../src/spa/replay-cache.js';
import { rememberSharedPacket, spaUsedKey } from '../../src/spa/replay-share.js';
import { SpaHandler, spaDoorsByPort } from '../../src/spa/spa-handler.js';
import { sealSpaPacket } from '../../src/spa/spa-packet.js';
import { client, makeSpaDoor, NOW, recordedKeys } from '../spa/spa-fixtures.js';
import {
  joinedPair,
  MemoryBucket,
  memberEngine,
  MemoryFleetTransport,
  settle,
  testFleetConfig,
} from './memory-transport.js';

// A fleet SPA door's replay cache is group-wide: a packet used on one member is refused as
// `replayed` on the others, through the same signed used-sequence entries as single-use knocks.
const KEY = 'fleet-group-key-'.repeat(3);
const shared = makeSpaDoor();
const local = makeSpaDoor({ name: 'spa-local' }, { port: 62202 });
const quiet = { info: () => undefined, warn: () => undefined };
const MAX_AGE = 120_000;

function packet(random = '1234567890123456'): Buffer {
  return sealSpaPacket(
    { random, user: 'alice', timestamp: NOW / 1000, version: '3.0.0', type: 1, message: '203.0.113.9,tcp/22' },
    recordedKeys,
  );
}

// One member as the daemon wires it: SPA handler → grant engine, and a fleet link that shares the
// handler's used packets (fleet door `spa` only, held until the link joins) and puts the group's
// into this member's cache.
function member(host: string, clock: ManualClock, bucket: MemoryBucket, capacity?: number) {
  const doors = [shared, local];
  const { engine, port } = memberEngine(doors, clock);
  const cache = new ReplayCache(capacity);
  const counts = new Map<string, number>();
  const relay = new UsedKeyRelay((door) => door === 'spa');
  const handler = new SpaHandler({
    ports: spaDoorsByPort(doors),
    grants: engine,
    cache,
    now: () => clock.now(),
    remember: () => Promise.resolve(),
    count: (name) => counts.set(name, (counts.get(name) ?? 0) + 1),
    onRecorded: (door, digest, until) => relay.emit(spaUsedKey(digest, until), door),
  });
  const link = new FleetLink({
    config: testFleetConfig(host, KEY, ['spa']),
    maxOpenFor: 3_600_000,
    port,
    transport: new MemoryFleetTransport(bucket),
    clock,
    log: quiet,
    version: '0.1.0',
    sequences: {
      markUsed: (key) => rememberSharedPacket(cache, key, clock.now()),
      onUsed: (listener) => relay.listen(listener),
    },
  });
  const receive = (payload: Buffer, dport = 62201) =>
    handler.receive({ src: client, dport, payload, length: payload.length });
  return { engine, cache, counts, link, receive };
}

const usedEntries = (bucket: MemoryBucket) => [...bucket.entries.keys()].filter((key) => key.startsWith('u.'));

describe('the replay cache of a fleet SPA door is group-wide', () => {
  test('a packet accepted on b1 opens the door on b1 and b2; the same bytes on b2 are refused as replayed', async () => {
    const { b1, b2 } = await joinedPair(NOW, member);
    const bytes = packet();
    await b1.receive(bytes);
    await settle();
    expect(b1.engine.get('spa', client.text)?.until).toBe(NOW + 30_000);
    expect(b2.engine.get('spa', client.text)?.until).toBe(NOW + 30_000);
    await b2.engine.close('spa', client.text, 'revoked');
    await b2.receive(bytes);
    expect(b2.counts.get('spaRefused.replayed')).toBe(1);
    expect(b2.counts.get('spaAccepted')).toBeUndefined();
  });

  test('the group entry expires when the packet turns stale, and a member that joins later still learns it before then', async () => {
    const { clock, bucket, b1 } = await joinedPair(NOW, member);
    const bytes = packet();
    await b1.receive(bytes);
    await settle();
    const [entry] = usedEntries(bucket);
    const stored = JSON.parse(Buffer.from(bucket.entries.get(entry!)!.value).toString('utf8')) as unknown;
    expect(stored).toMatchObject({ type: 'used', exp: NOW + MAX_AGE });
    const early = member('b3', clock, bucket);
    await early.link.start();
    await early.receive(bytes);
    expect(early.counts.get('spaRefused.replayed')).toBe(1);
    clock.advanceTo(NOW + MAX_AGE + 1);
    const late = member('b4', clock, bucket);
    await late.link.start();
    expect(late.cache.size).toBe(0);
  });

  test('a packet used before the member joined the group (NATS down at its start) reaches the group once it joins', async () => {
    const clock = new ManualClock(NOW);
    const bucket = new MemoryBucket(() => clock.now());
    const b1 = member('b1', clock, bucket);
    const b2 = member('b2', clock, bucket);
    await b2.link.start();
    const bytes = packet();
    await b1.receive(bytes);
    await b1.receive(packet('6543210987654321'), 62202);
    await b1.link.start();
    await settle();
    expect(usedEntries(bucket)).toHaveLength(1);
    await b2.receive(bytes);
    expect(b2.counts.get('spaRefused.replayed')).toBe(1);
  });

  test('an unsigned or forged entry puts nothing into the cache', async () => {
    const { bucket, b2 } = await joinedPair(NOW, member);
    const digest = 'ab'.repeat(32);
    const key = spaUsedKey(digest, NOW + MAX_AGE);
    const body = { v: 1 as const, group: 'bastions', id: 'x', host: 'b9', iat: NOW, exp: NOW + MAX_AGE };
    bucket.write(
      usedEntryKey(key),
      encodeEnvelope(signEnvelope({ ...body, type: 'used', body: { key } }, 'not-the-group-key')),
    );
    bucket.write(usedEntryKey(key), Buffer.from(JSON.stringify({ ...body, type: 'used', body: { key } })));
    await settle();
    await b2.link.resync();
    expect(b2.cache.seen(digest, NOW)).toBe(false);
  });

  test('a packet on an SPA door that is not a fleet door publishes nothing', async () => {
    const { bucket, b1, b2 } = await joinedPair(NOW, member);
    await b1.receive(packet(), 62202);
    await settle();
    expect(b1.counts.get('spaAccepted')).toBe(1);
    expect(usedEntries(bucket)).toEqual([]);
    expect(b2.engine.get('spa-local', client.text)).toBeUndefined();
  });

  test('a member takes the group’s digests only while its cache has room, and never a stale or far-future one', () => {
    const cache = new ReplayCache(1);
    const digest = (n: number) => n.toString(16).padStart(64, '0');
    expect(rememberSharedPacket(cache, spaUsedKey(digest(1), NOW + 1000), NOW)).toBe('added');
    expect(rememberSharedPacket(cache, spaUsedKey(digest(1), NOW + 1000), NOW)).toBe('known');
    expect(rememberSharedPacket(cache, spaUsedKey(digest(2), NOW + 1000), NOW)).toBe('refused');
    expect(rememberSharedPacket(cache, spaUsedKey(digest(3), NOW - 1), NOW)).toBe('refused');
    expect(rememberSharedPacket(cache, spaUsedKey(digest(3), NOW + 3 * 86_400_000), NOW)).toBe('refused');
    expect(rememberSharedPacket(cache, 'once:udp:4001,udp:4002', NOW)).toBe('refused');
    expect(cache.size).toBe(1);
  });
});
