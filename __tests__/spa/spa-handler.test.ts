import { describe, expect, test } from '@jest/globals';
import { ReplayCache, type ReplayEntry } from '../../src/spa/replay-cache.js';
import { SpaHandler, spaDoorsByPort, type SpaCounterName, type SpaGrantPort } from '../../src/spa/spa-handler.js';
import { sealSpaPacket } from '../../src/spa/spa-packet.js';
import type { Stage } from '../../src/trace/stage-trace.js';
import { makeDoor } from '../support/door.js';
import { client, makeSpaDoor, NOW, recordedKeys } from './spa-fixtures.js';

const spaDoor = makeSpaDoor();

function packet(overrides: { timestamp?: number; message?: string } = {}): Buffer {
  return sealSpaPacket(
    {
      random: '1234567890123456',
      user: 'alice',
      timestamp: NOW / 1000,
      version: '3.0.0',
      type: 1,
      message: '203.0.113.9,tcp/22',
      ...overrides,
    },
    recordedKeys,
  );
}

function rig(options: { traced?: boolean } = {}) {
  const calls: string[] = [];
  const counts = new Map<string, number>();
  const grants: SpaGrantPort = {
    full: () => false,
    open: (door, src, _family, _by, openFor, detail) => {
      calls.push(`open ${door.name} ${src} ${openFor} ${detail.requested.join(',')}`);
      return Promise.resolve();
    },
    refuse: (door, src, reason) => {
      calls.push(`refuse ${door} ${src} ${reason}`);
      return undefined;
    },
  };
  const handler = new SpaHandler({
    ports: spaDoorsByPort([makeDoor(), spaDoor]),
    grants,
    cache: new ReplayCache(),
    now: () => NOW,
    remember: (entry: ReplayEntry) => {
      calls.push(`remember ${entry.until}`);
      return Promise.resolve();
    },
    count: (name: SpaCounterName) => counts.set(name, (counts.get(name) ?? 0) + 1),
    ...(options.traced ? { tracer: { mark: (stage: Stage) => calls.push(`mark ${stage}`) } } : {}),
  });
  const receive = (payload: Buffer, dport = 62201, length = payload.length) =>
    handler.receive({ src: client, dport, payload, length });
  return { calls, counts, receive };
}

describe('SpaHandler', () => {
  test('a valid packet is remembered until it would be stale, then opens the door for the door’s time', async () => {
    const { calls, counts, receive } = rig();
    await receive(packet());
    expect(calls).toEqual([`remember ${NOW + 120_000}`, 'open spa 203.0.113.9 30000 tcp:22']);
    expect(Object.fromEntries(counts)).toEqual({ spaPackets: 1, spaAccepted: 1 });
  });

  test('with a tracer, a checked packet marks its decision before it is remembered, and an accepted one marks the save before the grant', async () => {
    const { calls, receive } = rig({ traced: true });
    await receive(packet());
    await receive(packet({ message: '203.0.113.9,tcp/2222' }));
    await receive(Buffer.alloc(300, 0x41));
    expect(calls).toEqual([
      'mark spa-decided',
      `remember ${NOW + 120_000}`,
      'mark spa-saved',
      'open spa 203.0.113.9 30000 tcp:22',
      'mark spa-decided',
      `remember ${NOW + 120_000}`,
      'refuse spa 203.0.113.9 port-not-allowed',
      'refuse spa 203.0.113.9 bad-hmac',
    ]);
  });

  test('the same bytes again are refused as replayed', async () => {
    const { calls, counts, receive } = rig();
    const bytes = packet();
    await receive(bytes);
    await receive(bytes);
    expect(calls.at(-1)).toBe('refuse spa 203.0.113.9 replayed');
    expect(counts.get('spaRefused.replayed')).toBe(1);
  });

  test('a stale packet is refused and not remembered; a refused valid one is remembered', async () => {
    const { calls, receive } = rig();
    const stale = packet({ timestamp: NOW / 1000 - 600 });
    await receive(stale);
    await receive(stale);
    expect(calls).toEqual(['refuse spa 203.0.113.9 stale', 'refuse spa 203.0.113.9 stale']);
    const wrongPort = packet({ message: '203.0.113.9,tcp/2222' });
    await receive(wrongPort);
    await receive(wrongPort);
    expect(calls.slice(2)).toEqual([
      `remember ${NOW + 120_000}`,
      'refuse spa 203.0.113.9 port-not-allowed',
      'refuse spa 203.0.113.9 replayed',
    ]);
  });

  test('garbage is refused at the HMAC and counted; a cut capture counts as oversized; other ports are not SPA', async () => {
    const { calls, counts, receive } = rig();
    await receive(Buffer.alloc(300, 0x41));
    await receive(packet(), 62201, 10_240);
    expect(receive(packet(), 62202)).toBeUndefined();
    expect(calls).toEqual(['refuse spa 203.0.113.9 bad-hmac', 'refuse spa 203.0.113.9 oversized']);
    expect(Object.fromEntries(counts)).toEqual({ spaPackets: 2, 'spaRefused.bad-hmac': 1, 'spaRefused.oversized': 1 });
  });
});
