import { describe, expect, test } from '@jest/globals';
import { ManualClock } from '../../src/model/clock.js';
import { GrantEngine } from '../../src/grant/grant-engine.js';
import type { KnockEvent } from '../../src/knock/events.js';
import { makeDoor } from '../support/door.js';
import { FakeBackend, MemoryAudit } from '../support/fakes.js';

const T0 = Date.parse('2026-11-24T12:00:00Z');
const flood = makeDoor({ name: 'flood', openFor: 60_000, maxGrants: 3 });
const ssh = makeDoor({ name: 'ssh', sequence: [{ proto: 'tcp', port: 7000 }], openFor: 60_000, maxGrants: 5 });

function completed(door: string, src: string, at = T0): KnockEvent {
  return { kind: 'completed', sequence: 'open', door, src, family: 4, at };
}

function scanner(door: string, src: string, at = T0): KnockEvent {
  return { kind: 'rejected', reason: 'scanner', door, src, family: 4, at };
}

function setup(maxGrants = 6, burst = 2) {
  const timeline: string[] = [];
  const clock = new ManualClock(T0);
  const backend = new FakeBackend(timeline);
  const audit = new MemoryAudit(timeline);
  const rejects: string[] = [];
  const engine = new GrantEngine({
    doors: [flood, ssh],
    backend,
    audit,
    clock,
    maxGrants,
    rejectBurst: burst,
    rejectWindowMs: 60_000,
    onReject: (door, reason) => void rejects.push(`${door} ${reason}`),
  });
  return { clock, backend, audit, engine, rejects };
}

const source = (i: number): string => `203.0.113.${i}`;

describe('grant limits', () => {
  test('a door at its maxGrants refuses a new source with reason grant-limit and opens nothing for it', async () => {
    const { engine, audit, backend } = setup();
    for (let i = 1; i <= 4; i++) await engine.handle(completed('flood', source(i)));
    await engine.drain();
    expect(engine.size).toBe(3);
    expect(engine.get('flood', source(4))).toBeUndefined();
    expect([...backend.held.values()].map((grant) => grant.src).sort()).toEqual([source(1), source(2), source(3)]);
    expect(audit.records.at(-1)).toMatchObject({
      event: 'reject',
      door: 'flood',
      src: source(4),
      reason: 'grant-limit',
    });
  });

  test('a holder of a full door still refreshes its grant', async () => {
    const { engine, audit, clock } = setup();
    for (let i = 1; i <= 3; i++) await engine.handle(completed('flood', source(i)));
    clock.advanceTo(T0 + 30_000);
    await engine.handle(completed('flood', source(2), T0 + 30_000));
    await engine.drain();
    expect(audit.records.at(-1)).toMatchObject({ event: 'refresh', src: source(2), until: '2026-11-24T12:01:30.000Z' });
  });

  test('one flooded door never takes another door’s grants, and the global cap holds across doors', async () => {
    const { engine, audit } = setup(6);
    for (let i = 1; i <= 10; i++) await engine.handle(completed('flood', source(i)));
    for (let i = 11; i <= 14; i++) await engine.handle(completed('ssh', source(i)));
    expect(engine.size).toBe(6);
    expect(engine.get('ssh', source(13))).toBeDefined();
    // 3 flood + 3 ssh = the global 6: the fourth ssh source is refused although ssh's own cap is 5.
    expect(engine.get('ssh', source(14))).toBeUndefined();
    expect(audit.records.filter((r) => r.event === 'open')).toHaveLength(6);
  });

  test('a closed grant frees its place for a new source', async () => {
    const { engine } = setup();
    for (let i = 1; i <= 3; i++) await engine.handle(completed('flood', source(i)));
    await engine.close('flood', source(1), 'revoked');
    await engine.handle(completed('flood', source(9)));
    expect(engine.get('flood', source(9))).toBeDefined();
  });

  test('a manual grant passes the door’s share but not the global cap, with an error that says what to do', async () => {
    const { engine } = setup(4);
    for (let i = 1; i <= 3; i++) await engine.handle(completed('flood', source(i)));
    await expect(engine.open(flood, source(50), 4, 'manual', 60_000)).resolves.toMatchObject({ src: source(50) });
    await expect(engine.open(flood, source(51), 4, 'manual', 60_000)).rejects.toMatchObject({
      code: 'GRANT_LIMIT',
      message: expect.stringContaining('limits.maxGrants (4)'),
    });
  });

  test('a lower global cap on reload refuses new sources and leaves the grants held', async () => {
    const { engine } = setup(6);
    for (let i = 1; i <= 3; i++) await engine.handle(completed('ssh', source(i)));
    await engine.setDoors([flood, ssh], 2);
    expect(engine.size).toBe(3);
    await engine.handle(completed('ssh', source(9)));
    expect(engine.get('ssh', source(9))).toBeUndefined();
  });
});

describe('reject audit', () => {
  test('past the burst, rejects are counted, not written, and summarised once when the window ends', async () => {
    const { engine, audit, clock, rejects } = setup(6, 2);
    for (let i = 1; i <= 3; i++) await engine.handle(completed('flood', source(i)));
    for (let i = 10; i < 110; i++) await engine.handle(completed('flood', source(i)));
    for (let i = 10; i < 30; i++) await engine.handle(scanner('flood', source(i)));
    expect(rejects).toHaveLength(120);
    expect(audit.records.filter((r) => r.event === 'reject')).toHaveLength(2);
    expect(audit.records.some((r) => r.event === 'reject-summary')).toBe(false);
    clock.advanceTo(T0 + 60_000);
    await engine.drain();
    const summaries = audit.records.filter((r) => r.event === 'reject-summary');
    expect(summaries).toEqual([
      {
        event: 'reject-summary',
        at: '2026-11-24T12:01:00.000Z',
        from: '2026-11-24T12:00:00.000Z',
        door: 'flood',
        src: '',
        suppressed: 118,
        sources: 100,
        reasons: { 'grant-limit': 98, scanner: 20 },
      },
    ]);
  });

  test('each door has its own window, and a new window writes its first rejects in full again', async () => {
    const { engine, audit, clock } = setup(6, 1);
    await engine.handle(scanner('flood', source(1)));
    await engine.handle(scanner('flood', source(2)));
    await engine.handle(scanner('ssh', source(3)));
    clock.advanceTo(T0 + 61_000);
    await engine.handle(scanner('flood', source(4), T0 + 61_000));
    await engine.drain();
    expect(audit.records.map((r) => `${r.event} ${r.door} ${r.src}`)).toEqual([
      'reject flood 203.0.113.1',
      'reject ssh 203.0.113.3',
      'reject-summary flood ',
      'reject flood 203.0.113.4',
    ]);
  });

  test('a window with nothing suppressed writes no summary, and stop writes the open summaries', async () => {
    const { engine, audit, clock } = setup(6, 1);
    await engine.handle(scanner('ssh', source(1)));
    clock.advanceTo(T0 + 60_000);
    await engine.handle(scanner('flood', source(2), T0 + 60_000));
    await engine.handle(scanner('flood', source(3), T0 + 60_000));
    engine.stop();
    await engine.drain();
    expect(audit.records.map((r) => r.event)).toEqual(['reject', 'reject', 'reject-summary']);
    expect(audit.records[2]).toMatchObject({ door: 'flood', suppressed: 1, sources: 1 });
  });

  test('a flood of 50,000 distinct rejected sources writes a bounded audit log', async () => {
    const { engine, audit, clock, rejects } = setup(6, 10);
    for (let i = 1; i <= 3; i++) await engine.handle(completed('flood', source(i)));
    for (let i = 0; i < 50_000; i++) {
      const at = T0 + Math.floor(i / 1000) * 1000;
      clock.advanceTo(at);
      const src = `2001:db8:5::${i.toString(16)}`;
      const effect = engine.handle({ ...completed('flood', src, at), family: 6 });
      if (effect) await effect;
    }
    engine.stop();
    await engine.drain();
    expect(rejects).toHaveLength(50_000);
    // 50 s of flood = one window: 10 in full and one summary (+ the 3 opens).
    expect(audit.records).toHaveLength(3 + 10 + 1);
    expect(audit.records.at(-1)).toMatchObject({ event: 'reject-summary', suppressed: 49_990, sources: 49_990 });
  });
});
