import { describe, expect, test } from '@jest/globals';
import { ManualClock, type Clock } from '../../src/model/clock.js';
import { GRANT_PREFIX, grantEntryKey } from '../../src/fleet/fleet-keys.js';
import { FleetLink } from '../../src/fleet/fleet-link.js';
import { grantEnginePort } from '../../src/fleet/grant-engine-port.js';
import { encodeEnvelope, signEnvelope } from '../../src/fleet/message-signing.js';
import type { FleetBody } from '../../src/fleet/fleet-message.js';
import type { OutboxStore, SavedChange } from '../../src/fleet/outbox-file.js';
import { GrantEngine } from '../../src/grant/grant-engine.js';
import type { Door } from '../../src/model/door.js';
import { makeDoor } from '../support/door.js';
import { FakeBackend, MemoryAudit } from '../support/fakes.js';
import { MemoryBucket, MemoryFleetTransport, settle, testFleetConfig } from './memory-transport.js';

const T0 = Date.parse('2026-12-01T09:00:00Z');
const KEY = 'fleet-group-key-'.repeat(3);
const SRC = '203.0.113.7';
const ssh = makeDoor({ name: 'ssh', openFor: 60_000 });
const web = makeDoor({
  name: 'web',
  sequence: [{ proto: 'tcp', port: 31700 }],
  open: [{ proto: 'tcp', port: 443 }],
  openFor: 60_000,
});
const quiet = { info: () => undefined, warn: () => undefined };

/** A clock `offset` ms ahead of `base`, sharing its timers. */
function skewed(base: ManualClock, offset: number): Clock {
  return {
    now: () => base.now() + offset,
    setTimer: (at, fn) => base.setTimer(at - offset, fn),
    clearTimer: (handle) => base.clearTimer(handle),
  };
}

/** An outbox kept in memory, as the daemon keeps it in its state directory: it outlives the member. */
class MemoryOutbox implements OutboxStore {
  saved: readonly SavedChange[] = [];
  load(): Promise<readonly SavedChange[]> {
    return Promise.resolve(this.saved);
  }
  save(changes: readonly SavedChange[]): Promise<void> {
    this.saved = [...changes];
    return Promise.resolve();
  }
  bodies(): unknown[] {
    return this.saved.map(({ envelope }) => (envelope as { body: unknown }).body);
  }
}

/** One member: its own grant engine (empty, as after a restart when its state holds no grant), transport and link. */
function member(options: {
  host: string;
  clock: Clock;
  bucket: MemoryBucket;
  doors?: Door[];
  outbox?: OutboxStore;
  warnings?: string[];
}) {
  const { host, clock: memberClock, bucket } = options;
  const doors = options.doors ?? [ssh, web];
  const backend = new FakeBackend();
  const audit = new MemoryAudit();
  const port = grantEnginePort({ engine: () => manager, doors: () => doors, now: () => memberClock.now() });
  const manager: GrantEngine = new GrantEngine({
    doors,
    backend,
    audit,
    clock: memberClock,
    onRecord: (record) => port.emit(record),
  });
  manager.start();
  const transport = new MemoryFleetTransport(bucket);
  const link = new FleetLink({
    config: testFleetConfig(host, KEY, ['ssh']),
    maxOpenFor: 3_600_000,
    port,
    transport,
    clock: memberClock,
    log: options.warnings
      ? { info: () => undefined, warn: (message: string) => options.warnings?.push(message) }
      : quiet,
    version: '0.1.0',
    ...(options.outbox ? { outbox: options.outbox } : {}),
  });
  const held = () =>
    manager
      .grants()
      .map((grant) => `${grant.door} ${grant.src} until ${grant.until === null ? 'closed' : grant.until - T0}`);
  return { host, backend, audit, manager, transport, link, held };
}

function group(
  options: {
    members?: number;
    clockOffsets?: Record<number, number>;
    doors?: Record<number, Door[]>;
    outboxes?: Record<number, OutboxStore>;
  } = {},
) {
  const clock = new ManualClock(T0);
  const bucket = new MemoryBucket(() => clock.now());
  const members = Array.from({ length: options.members ?? 3 }, (_, index) => {
    const doors = options.doors?.[index];
    const outbox = options.outboxes?.[index];
    return member({
      host: `b${index + 1}`,
      clock: skewed(clock, options.clockOffsets?.[index] ?? 0),
      bucket,
      ...(doors ? { doors } : {}),
      ...(outbox ? { outbox } : {}),
    });
  });
  const start = async () => {
    for (const each of members) await each.link.start();
  };
  return { clock, bucket, members, start };
}

describe('a grant fans out to the group', () => {
  test('a knock on b1 opens the door on b2 and b3 with the same absolute until, audited as a fleet grant', async () => {
    const { members, start } = group();
    await start();
    const [b1, b2, b3] = members;
    await b1!.manager.open(ssh, SRC, 4, 'knock');
    await settle();
    for (const member of members) expect(member.held()).toEqual(['ssh 203.0.113.7 until 60000']);
    expect(b2!.audit.records.at(-1)).toMatchObject({
      event: 'open',
      door: 'ssh',
      src: SRC,
      by: 'fleet',
      until: new Date(T0 + 60_000).toISOString(),
    });
    expect(b3!.backend.calls).toEqual(['open ssh 203.0.113.7']);
  });

  test('no echo: one grant costs one bucket write, not one per member', async () => {
    const { bucket, members, start } = group();
    await start();
    const heartbeats = bucket.puts;
    await members[0]!.manager.open(ssh, SRC, 4, 'knock');
    await settle();
    expect(bucket.puts - heartbeats).toBe(1);
    expect(members[0]!.audit.records.filter((record) => record.event === 'open')).toHaveLength(1);
  });

  test('a revoke on b3 closes the grant on every member', async () => {
    const { bucket, members, start } = group();
    await start();
    await members[0]!.manager.open(ssh, SRC, 4, 'knock');
    await settle();
    const before = bucket.puts;
    await members[2]!.manager.close('ssh', SRC, 'revoked');
    await settle();
    for (const member of members) expect(member.held()).toEqual([]);
    expect(members[1]!.audit.records.at(-1)).toMatchObject({ event: 'close', reason: 'revoked' });
    expect(bucket.puts - before).toBe(1); // the members that applied the revoke do not publish it again
  });

  test('a completed knock and a close sequence on b2 open and close the door everywhere', async () => {
    const { members, start } = group();
    await start();
    await members[1]!.manager.handle({ kind: 'completed', sequence: 'open', door: 'ssh', src: SRC, family: 4, at: T0 });
    await settle();
    for (const member of members) expect(member.held()).toEqual(['ssh 203.0.113.7 until 60000']);
    await members[1]!.manager.handle({
      kind: 'closed',
      sequence: 'close',
      door: 'ssh',
      src: SRC,
      family: 4,
      at: T0 + 1000,
    });
    await settle();
    for (const member of members) expect(member.held()).toEqual([]);
    expect(members[2]!.audit.records.at(-1)).toMatchObject({ event: 'close', reason: 'close-sequence' });
  });

  test('a refresh moves until on every member; doors that are not fleet doors stay local', async () => {
    const { clock, members, start } = group();
    await start();
    await members[0]!.manager.open(ssh, SRC, 4, 'knock');
    await members[0]!.manager.open(web, SRC, 4, 'knock');
    await settle();
    clock.advanceTo(T0 + 30_000);
    await members[0]!.manager.open(ssh, SRC, 4, 'knock');
    await settle();
    expect(members[1]!.held()).toEqual(['ssh 203.0.113.7 until 90000']);
  });

  test('a member without the door applies nothing and says so in its counts', async () => {
    const { members, start } = group({ doors: { 1: [web] } });
    await start();
    await members[0]!.manager.open(ssh, SRC, 4, 'knock');
    await settle();
    expect(members[1]!.held()).toEqual([]);
    expect(members[1]!.link.status().ignored['no-such-door']).toBe(1);
    expect(members[2]!.held()).toHaveLength(1);
  });

  test("a member's allowFrom still applies to fleet grants", async () => {
    const narrow = makeDoor({ ...ssh, allowFrom: [{ text: '198.51.100.0/24', family: 4, range: [] as never }] });
    const { members, start } = group({ doors: { 1: [narrow] } });
    await start();
    await members[0]!.manager.open(ssh, SRC, 4, 'knock');
    await settle();
    expect(members[1]!.held()).toEqual([]);
  });
});

describe('fail closed', () => {
  test('every member closes at until by its own expiry, without any message', async () => {
    const { clock, members, start } = group();
    await start();
    await members[0]!.manager.open(ssh, SRC, 4, 'knock');
    await settle();
    for (const member of members) member.transport.setOnline(false);
    clock.advanceTo(T0 + 60_000);
    await settle();
    for (const member of members) {
      await member.manager.drain();
      expect(member.held()).toEqual([]);
      expect(member.audit.records.at(-1)).toMatchObject({ event: 'close', reason: 'expired' });
    }
  });

  test('a partitioned member opens for its own knocks; on reconnect it applies a revoke made meanwhile and keeps an expired grant closed', async () => {
    const { clock, members, start } = group();
    await start();
    const [b1, b2, b3] = members;
    await b1!.manager.open(ssh, SRC, 4, 'knock');
    await b1!.manager.open(ssh, '203.0.113.8', 4, 'knock');
    await settle();
    b2!.transport.setOnline(false);
    await b2!.manager.open(ssh, '203.0.113.9', 4, 'knock');
    expect(b2!.held()).toContain('ssh 203.0.113.9 until 60000');
    await b3!.manager.close('ssh', SRC, 'revoked');
    clock.advanceTo(T0 + 10_000);
    await b1!.manager.open(ssh, '203.0.113.20', 4, 'manual', 5_000); // opened and expired during the partition
    clock.advanceTo(T0 + 20_000);
    await settle();
    expect(b2!.held()).toContain('ssh 203.0.113.7 until 60000');
    b2!.transport.setOnline(true);
    await settle();
    await b2!.link.idle();
    await settle();
    expect(b2!.held().sort()).toEqual(['ssh 203.0.113.8 until 60000', 'ssh 203.0.113.9 until 60000']);
    // b2's own knock from the partition reached the others once it was back.
    expect(b3!.held()).toContain('ssh 203.0.113.9 until 60000');
  });

  test('a close queued while the open is being published still reaches the group (its own echo does not supersede it)', async () => {
    const { bucket, members, start } = group();
    await start();
    const [b1, b2, b3] = members;
    const opened = b1!.manager.open(ssh, SRC, 4, 'knock');
    const closed = b1!.manager.close('ssh', SRC, 'close-sequence');
    await Promise.all([opened, closed]);
    await settle();
    for (const member of [b2, b3]) expect(member!.held()).toEqual([]);
    expect(b1!.link.status().outbox).toBe(0);
    expect(JSON.parse(new TextDecoder().decode(bucket.entries.get(grantEntryKey('ssh', SRC))!.value))).toMatchObject({
      host: 'b1',
      body: { action: 'close' },
    });
  });

  test('a write stored although its acknowledgement was lost is not published again over a later revoke', async () => {
    const { clock, bucket, members, start } = group();
    await start();
    const [b1, b2] = members;
    // b2's knock reaches the bucket, but b2 hears a timeout: the change stays in its outbox.
    b2!.transport.afterPut = () => {
      b2!.transport.afterPut = undefined;
      throw new Error('timeout');
    };
    await b2!.manager.open(ssh, SRC, 4, 'knock');
    await settle();
    expect(b1!.held()).toEqual(['ssh 203.0.113.7 until 60000']);
    // Cut off, b2 misses the revoke made on b1; back, it catches up and retries its outbox.
    b2!.transport.setOnline(false);
    await b1!.manager.close('ssh', SRC, 'revoked');
    await settle();
    b2!.transport.setOnline(true);
    clock.advanceTo(T0 + 5_000);
    await settle();
    await b2!.link.idle();
    expect(b2!.held()).toEqual([]);
    expect(b2!.link.status().outbox).toBe(0);
    const stored = bucket.entries.get(grantEntryKey('ssh', SRC));
    expect(JSON.parse(new TextDecoder().decode(stored!.value))).toMatchObject({
      host: 'b1',
      body: { action: 'close', reason: 'revoked' },
    });
  });

  test('a change left in the outbox is not published over a revoke made meanwhile when the catch-up after the reconnect fails', async () => {
    const { clock, bucket, members, start } = group();
    await start();
    const [b1, b2, b3] = members;
    await b1!.manager.open(ssh, SRC, 4, 'knock');
    await settle();
    expect(b2!.held()).toEqual(['ssh 203.0.113.7 until 60000']);
    // Cut off (as by a NATS node killed under it), b2 hears a knock again: the refresh waits in its outbox.
    b2!.transport.setOnline(false);
    clock.advanceTo(T0 + 1_000);
    await b2!.manager.open(ssh, SRC, 4, 'knock');
    expect(b2!.link.status().outbox).toBeGreaterThan(0);
    // Meanwhile the grant is revoked on b1.
    clock.advanceTo(T0 + 2_000);
    await b1!.manager.close('ssh', SRC, 'revoked');
    await settle();
    expect(b3!.held()).toEqual([]);
    // Back, b2's catch-up times out; its outbox is flushed all the same.
    b2!.transport.failEntries = 1;
    b2!.transport.setOnline(true);
    await settle();
    await b2!.link.idle();
    expect(b2!.held()).toEqual([]);
    expect(b2!.link.status().outbox).toBe(0);
    expect(JSON.parse(new TextDecoder().decode(bucket.entries.get(grantEntryKey('ssh', SRC))!.value))).toMatchObject({
      host: 'b1',
      body: { action: 'close', reason: 'revoked' },
    });
    clock.advanceTo(T0 + 5_000);
    await settle();
    for (const each of members) expect(each.held()).toEqual([]);
  });

  test('a publish that loses a race with a write of the same grant elsewhere is retried after applying it', async () => {
    const { clock, bucket, members, start } = group();
    await start();
    const [b1, b2] = members;
    // Between b2's read of the entry and its put, b1's revoke lands: the compare-and-set fails.
    await b1!.manager.open(ssh, SRC, 4, 'knock');
    await settle();
    const read = b2!.transport.get.bind(b2!.transport);
    let raced = false;
    b2!.transport.get = async (key) => {
      const entry = await read(key);
      if (!raced && key === grantEntryKey('ssh', SRC)) {
        raced = true;
        await b1!.manager.close('ssh', SRC, 'revoked');
      }
      return entry;
    };
    b2!.transport.setOnline(false);
    clock.advanceTo(T0 + 1_000);
    await b2!.manager.open(ssh, SRC, 4, 'knock'); // a refresh
    b2!.transport.setOnline(true);
    await settle();
    await b2!.link.idle();
    expect(raced).toBe(true);
    clock.advanceTo(T0 + 3_000);
    await settle();
    await b2!.link.idle();
    expect(JSON.parse(new TextDecoder().decode(bucket.entries.get(grantEntryKey('ssh', SRC))!.value))).toMatchObject({
      host: 'b1',
      body: { action: 'close' },
    });
    expect(b2!.held()).toEqual([]);
  });

  test('a publish that every member hears but the stream never stores (its leader died) is published again: its own echo is no proof', async () => {
    const { clock, bucket, members, start } = group();
    await start();
    const [b1, b2, b3] = members;
    b2!.transport.loseNextPut = true;
    await b2!.manager.open(ssh, SRC, 4, 'knock');
    await settle();
    // b1 and b3 heard it live; the bucket does not have it, so a member that missed it never would.
    expect(b3!.held()).toEqual(['ssh 203.0.113.7 until 60000']);
    expect(bucket.entries.get(grantEntryKey('ssh', SRC))).toBeUndefined();
    expect(b2!.link.status().outbox).toBe(2); // the grant change and its audit record
    clock.advanceTo(T0 + 1_000);
    await settle();
    await b2!.link.idle();
    expect(b2!.link.status()).toMatchObject({ outbox: 0, published: 1 });
    expect(JSON.parse(new TextDecoder().decode(bucket.entries.get(grantEntryKey('ssh', SRC))!.value))).toMatchObject({
      host: 'b2',
      body: { action: 'open' },
    });
    expect(b1!.held()).toEqual(['ssh 203.0.113.7 until 60000']);
  });

  test('a revoke made while cut off survives a crash: restarted, the member does not reopen the grant from the bucket, and the revoke reaches the group once it is back', async () => {
    const outbox = new MemoryOutbox();
    const { clock, bucket, members, start } = group({ outboxes: { 1: outbox } });
    await start();
    const [b1, b2, b3] = members;
    await b1!.manager.open(ssh, SRC, 4, 'knock');
    await settle();
    expect(b2!.held()).toEqual(['ssh 203.0.113.7 until 60000']);
    b2!.transport.setOnline(false);
    await b2!.manager.close('ssh', SRC, 'revoked');
    await settle();
    clock.advanceTo(T0 + 100); // the outbox is written once its batch (100 ms) is over
    await settle();
    expect(outbox.bodies()).toEqual([{ action: 'close', door: 'ssh', src: SRC, reason: 'revoked' }]);
    // b2 crashes (no stop, nothing flushed) and comes back with no grant held and the saved outbox.
    clock.advanceTo(T0 + 5_000);
    const again = member({ host: 'b2', clock, bucket, outbox });
    await again.link.start();
    await settle();
    await again.link.idle();
    expect(again.held()).toEqual([]);
    expect(again.link.status().ignored.superseded).toBe(1);
    for (const other of [b1, b3]) expect(other!.held()).toEqual([]);
    expect(b3!.audit.records.at(-1)).toMatchObject({ event: 'close', reason: 'revoked' });
    expect(again.link.status().outbox).toBe(0);
    clock.advanceTo(T0 + 5_100);
    await settle();
    expect(outbox.saved).toEqual([]);
  });

  test('a revoke made while cut off, on a member whose clock is behind, is not taken for older than the open it ends', async () => {
    // b2's clock is 1.5 s behind (within maxClockSkew): its revoke is signed "before" b1's open.
    const { clock, members, start } = group({ clockOffsets: { 1: -1500 } });
    await start();
    const [b1, b2, b3] = members;
    await b1!.manager.open(ssh, SRC, 4, 'knock');
    await settle();
    expect(b2!.held()).toHaveLength(1);
    b2!.transport.setOnline(false);
    clock.advanceTo(T0 + 500);
    await b2!.manager.close('ssh', SRC, 'revoked');
    b2!.transport.setOnline(true);
    await settle();
    await b2!.link.idle();
    await settle();
    for (const each of [b1, b2, b3]) expect(each!.held()).toEqual([]);
  });

  test("a restored outbox drops what it must not publish: expired changes, other hosts' envelopes, a rotated-away key, other message types", async () => {
    const clock = new ManualClock(T0);
    const bucket = new MemoryBucket(() => clock.now());
    const envelope = (over: { id: string; host?: string; exp?: number; key?: string; heartbeat?: boolean }) => {
      const head = {
        v: 1,
        group: 'bastions',
        id: over.id,
        host: over.host ?? 'b2',
        iat: T0 - 1000,
        exp: over.exp ?? T0 + 60_000,
      } as const;
      const body: FleetBody = over.heartbeat
        ? { type: 'heartbeat', body: { version: '0.1.0', doors: [], clockOffset: 0, accepting: true } }
        : {
            type: 'grant',
            body: { action: 'close', door: 'ssh', src: `203.0.113.${over.id.length}`, reason: 'revoked' },
          };
      return signEnvelope({ ...head, ...body }, over.key ?? KEY);
    };
    const outbox = new MemoryOutbox();
    outbox.saved = [
      envelope({ id: 'k' }),
      envelope({ id: 'old', exp: T0 - 1 }),
      envelope({ id: 'other', host: 'b1' }),
      envelope({ id: 'rotated', key: 'an-older-group-key-'.repeat(3) }),
      envelope({ id: 'beat', heartbeat: true }),
    ].map((signed) => ({ envelope: JSON.parse(JSON.stringify(signed)) as unknown }));
    const b2 = member({ host: 'b2', clock, bucket, outbox });
    await b2.link.start();
    await settle();
    await b2.link.idle();
    // Only the one valid change of b2's own was published; the outbox is empty and saved so.
    const stored = [...bucket.entries.keys()].filter((key) => key.startsWith(GRANT_PREFIX));
    expect(stored).toEqual([grantEntryKey('ssh', '203.0.113.1')]);
    clock.advanceTo(T0 + 100);
    await settle();
    expect(outbox.saved).toEqual([]);
  });

  test('a member whose clock is off by more than maxClockSkew refuses fleet grants and reports its offset', async () => {
    const { members, start } = group({ clockOffsets: { 1: 5000 } });
    await start();
    await members[0]!.manager.open(ssh, SRC, 4, 'knock');
    await settle();
    expect(members[1]!.held()).toEqual([]);
    expect(members[1]!.link.status()).toMatchObject({ accepting: false, clockOffset: 5000 });
    expect(members[1]!.link.status().ignored['clock-skew']).toBeGreaterThan(0);
    expect(members[2]!.held()).toHaveLength(1);
  });

  test('heartbeats acknowledged slowly (a busy cluster) do not move the measured clock offset', async () => {
    const { clock, members, start } = group({ members: 1 });
    await start();
    const member = members[0]!;
    expect(member.link.status()).toMatchObject({ accepting: true, clockOffset: 0 });
    // Stored at once, acknowledged 1.5 s later: the reading would say the clock is 750 ms off.
    member.transport.afterPut = () => clock.advanceTo(clock.now() + 1500);
    for (let beat = 1; beat <= 8; beat++) {
      clock.advanceTo(clock.now() + 5000);
      await settle();
    }
    member.transport.afterPut = undefined;
    expect(member.link.status()).toMatchObject({ accepting: true, clockOffset: 0 });
  });

  test('a read answered by a lagging replica (the previous heartbeat) does not move the measured clock offset', async () => {
    const { clock, members, start } = group({ members: 1 });
    await start();
    const member = members[0]!;
    // The previous heartbeat was stored one interval (5 s) earlier: the reading would say 5 s.
    member.transport.staleReads = true;
    for (let beat = 1; beat <= 8; beat++) {
      clock.advanceTo(clock.now() + 5000);
      await settle();
    }
    expect(member.link.status()).toMatchObject({ accepting: true, clockOffset: 0 });
  });

  test('a grant whose until is already past when it arrives is not opened', async () => {
    const { clock, bucket, members, start } = group();
    await start();
    const stale = signEnvelope(
      {
        v: 1,
        group: 'bastions',
        id: 'stale',
        host: 'b9',
        iat: T0,
        exp: T0 + 1000,
        type: 'grant',
        body: { action: 'open', door: 'ssh', src: SRC, family: 4, until: T0 + 1000, by: 'knock' },
      },
      KEY,
    );
    clock.advanceTo(T0 + 2000);
    bucket.write(grantEntryKey('ssh', SRC), encodeEnvelope(stale));
    await settle();
    for (const member of members) expect(member.held()).toEqual([]);
    expect(members[0]!.link.status().rejected.expired).toBe(1);
  });
});

describe("the link's life", () => {
  test('the constructor only assigns: the link hears the grant engine and the connection from start() on', async () => {
    const clock = new ManualClock(T0);
    const bucket = new MemoryBucket(() => clock.now());
    const b1 = member({ host: 'b1', clock, bucket });
    const b2 = member({ host: 'b2', clock, bucket });
    await b2.link.start();
    const puts = bucket.puts;
    await b1.manager.open(ssh, SRC, 4, 'knock');
    b1.transport.setOnline(false);
    b1.transport.setOnline(true);
    await settle();
    expect({
      puts: bucket.puts - puts,
      audit: bucket.audit.filter((entry) => entry.host === 'b1').length,
      connected: b1.link.status().connected,
    }).toEqual({ puts: 0, audit: 0, connected: false });
    await b1.link.start();
    await b1.manager.open(ssh, '203.0.113.8', 4, 'knock');
    await settle();
    expect(b1.link.status()).toMatchObject({ connected: true, published: 1 });
    expect(b2.held()).toEqual(['ssh 203.0.113.8 until 60000']);
  });
});

describe('member names', () => {
  /** Moves the shared clock a second at a time, so that each member's heartbeat runs on its own. */
  async function beats(clock: ManualClock, seconds: number): Promise<void> {
    for (let second = 0; second < seconds; second++) {
      clock.advanceTo(clock.now() + 1000);
      await settle();
    }
  }

  test("two members that share a name both say so from the heartbeats, naming fleet.host, and still apply each other's live changes", async () => {
    const clock = new ManualClock(T0);
    const bucket = new MemoryBucket(() => clock.now());
    const [firstWarnings, secondWarnings]: string[][] = [[], []];
    const first = member({ host: 'a', clock, bucket, warnings: firstWarnings });
    const second = member({ host: 'a', clock, bucket, warnings: secondWarnings });
    await first.link.start();
    await beats(clock, 2);
    await second.link.start();
    await beats(clock, 12);
    for (const each of [first, second]) expect(each.link.status().duplicateName).toBe(true);
    for (const warnings of [firstWarnings, secondWarnings])
      expect(warnings).toEqual([
        expect.stringMatching(/another member also calls itself "a" .*give each member its own fleet\.host$/),
      ]);
    await first.manager.open(ssh, SRC, 4, 'knock');
    await settle();
    expect(second.held()).toEqual(['ssh 203.0.113.7 until 74000']);
    expect(second.audit.records.at(-1)).toMatchObject({ event: 'open', by: 'fleet' });
  });

  test('a restarted member is not its own namesake: the heartbeat and grants its previous run left count as its own', async () => {
    const clock = new ManualClock(T0);
    const bucket = new MemoryBucket(() => clock.now());
    const warnings: string[] = [];
    const before = member({ host: 'a', clock, bucket, warnings });
    const other = member({ host: 'b', clock, bucket, warnings });
    await before.link.start();
    await other.link.start();
    await before.manager.open(ssh, SRC, 4, 'knock');
    await beats(clock, 12);
    await before.link.stop();
    const after = member({ host: 'a', clock, bucket, warnings });
    await after.link.start();
    await beats(clock, 12);
    expect([after.link.status().duplicateName, other.link.status().duplicateName]).toEqual([false, false]);
    expect(after.link.status().ignored.own).toBe(1);
    expect(warnings).toEqual([]);
  });
});

describe('end-to-end authentication', () => {
  const forged = (key: string, id: string) =>
    encodeEnvelope(
      signEnvelope(
        {
          v: 1,
          group: 'bastions',
          id,
          host: 'mallory',
          iat: T0,
          exp: T0 + 60_000,
          type: 'grant',
          body: { action: 'open', door: 'ssh', src: SRC, family: 4, until: T0 + 60_000, by: 'knock' },
        },
        key,
      ),
    );

  test('a message signed with a wrong key, or unsigned, opens nothing and is counted', async () => {
    const { bucket, members, start } = group();
    await start();
    bucket.write(grantEntryKey('ssh', SRC), forged('not-the-group-key-'.repeat(3), 'f1'));
    bucket.write(
      grantEntryKey('ssh', '203.0.113.8'),
      Buffer.from(
        JSON.stringify({
          v: 1,
          group: 'bastions',
          id: 'u1',
          host: 'mallory',
          iat: T0,
          exp: T0 + 60_000,
          type: 'grant',
          body: { action: 'open', door: 'ssh', src: '203.0.113.8', family: 4, until: T0 + 60_000, by: 'knock' },
        }),
      ),
    );
    await settle();
    for (const member of members) {
      expect(member.held()).toEqual([]);
      expect(member.link.status().rejected).toMatchObject({ 'bad-signature': 1, unsigned: 1 });
    }
  });

  test('a valid message replayed after a revoke is refused as a replay', async () => {
    const { bucket, members, start } = group();
    await start();
    const original = forged(KEY, 'r1');
    bucket.write(grantEntryKey('ssh', SRC), original);
    await settle();
    expect(members[1]!.held()).toHaveLength(1);
    await members[1]!.manager.close('ssh', SRC, 'revoked');
    await settle();
    bucket.write(grantEntryKey('ssh', SRC), original);
    await settle();
    for (const member of members) expect(member.held()).toEqual([]);
    expect(members[0]!.link.status().rejected.replayed).toBe(1);
  });

  test('a valid open put back into the bucket after its revoke is refused, also by a member that starts afterwards', async () => {
    const { clock, bucket, members } = group();
    const [b1, b2, b3] = members;
    await b1!.link.start();
    await b2!.link.start();
    await b1!.manager.open(ssh, SRC, 4, 'knock');
    await settle();
    const captured = bucket.entries.get(grantEntryKey('ssh', SRC))!.value;
    await b2!.manager.close('ssh', SRC, 'revoked');
    await settle();
    // Someone with access to the NATS account, not to the group key, writes the old open back.
    clock.advanceTo(T0 + 30_000);
    bucket.write(grantEntryKey('ssh', SRC), captured);
    await b3!.link.start();
    await settle();
    for (const member of members) expect(member.held()).toEqual([]);
    expect(b3!.link.status().rejected.replayed).toBe(1);
  });

  test('a signed message moved to another grant key is refused as malformed', async () => {
    const { bucket, members, start } = group();
    await start();
    bucket.write(grantEntryKey('ssh', '203.0.113.99'), forged(KEY, 'm1'));
    await settle();
    expect(members[0]!.held()).toEqual([]);
    expect(members[0]!.link.status().rejected.malformed).toBe(1);
  });
});

describe('the group audit stream', () => {
  test("every member's records reach the stream, the fleet grants included", async () => {
    const { bucket, members, start } = group();
    await start();
    await members[0]!.manager.open(ssh, SRC, 4, 'knock');
    await settle();
    for (const member of members) await member.link.idle();
    await settle();
    const hosts = bucket.audit.map((entry) => entry.host).sort();
    expect(hosts).toEqual(['b1', 'b2', 'b3']);
  });
});
