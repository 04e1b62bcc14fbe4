import { describe, expect, test } from '@jest/globals';
import { ManualClock } from '../../src/model/clock.js';
import { GrantEngine } from '../../src/grant/grant-engine.js';
import type { KnockEvent } from '../../src/knock/events.js';
import { makeDoor } from '../support/door.js';
import { FakeBackend, MemoryAudit } from '../support/fakes.js';

const T0 = Date.parse('2026-11-24T12:00:00Z');
const scanner = '203.0.113.66';
const owner = '198.51.100.7';

// The seed's doors: 31600 opens until 31601 closes, and a single-knock door that opens for 4 s.
const classic = makeDoor();
const quick = makeDoor({ name: 'quick', sequence: [{ proto: 'tcp', port: 31700 }], closeSequence: [], openFor: 4000 });
const hourly = makeDoor({
  name: 'hourly',
  sequence: [{ proto: 'tcp', port: 31800 }],
  closeSequence: [],
  openFor: 3_600_000,
});

function completed(door: string, src: string, at: number): KnockEvent {
  return { kind: 'completed', sequence: 'open', door, src, family: 4, at };
}

function tripwire(src: string, at: number): KnockEvent {
  return { kind: 'scanner', door: '', src, family: 4, at, port: 'tcp:40000', until: at + 120_000 };
}

function setup() {
  const clock = new ManualClock(T0);
  const backend = new FakeBackend();
  const audit = new MemoryAudit();
  const engine = new GrantEngine({ doors: [classic, quick, hourly], backend, audit, clock });
  return { clock, backend, audit, engine };
}

describe('GrantEngine: a tripwire hit', () => {
  test('revokes what the scanner got by knocking in the minute before, with reason scanner', async () => {
    const { clock, engine, audit } = setup();
    await engine.handle(completed('classic', scanner, T0));
    clock.advanceTo(T0 + 30_000);
    await engine.handle(tripwire(scanner, T0 + 30_000));
    await engine.drain();
    expect(engine.grants()).toEqual([]);
    expect(audit.records.map((record) => [record.event, record.door, 'reason' in record ? record.reason : ''])).toEqual(
      [
        ['open', 'classic', ''],
        ['reject', '', 'tripwire'],
        ['close', 'classic', 'scanner'],
      ],
    );
  });

  test("leaves older grants, grants given by hand and other sources' grants alone", async () => {
    const { clock, engine } = setup();
    await engine.handle(completed('hourly', scanner, T0));
    await engine.handle(completed('classic', owner, T0 + 61_000));
    clock.advanceTo(T0 + 61_000);
    await engine.open(classic, scanner, 4, 'manual');
    await engine.handle(tripwire(scanner, T0 + 61_000));
    await engine.drain();
    expect(
      engine
        .grants()
        .map((grant) => `${grant.door} ${grant.src}`)
        .sort(),
    ).toEqual([`classic ${owner}`, `classic ${scanner}`, `hourly ${scanner}`]);
  });
});

describe('GrantEngine: refreshes are coalesced', () => {
  test('50 sources knocking a single-knock door 20 times a second for 10 s: one open each, refreshes bounded, one summary', async () => {
    const { clock, engine, audit, backend } = setup();
    const sources = Array.from({ length: 50 }, (_, i) => `198.51.100.${i + 1}`);
    for (let tick = 0; tick < 200; tick++) {
      const at = T0 + tick * 50;
      clock.advanceTo(at);
      for (const src of sources) void engine.handle(completed('quick', src, at));
    }
    clock.advanceTo(T0 + 61_000); // the summary window (a minute from the first coalesced knock) ends
    await engine.drain();
    const count = (event: string): number => audit.records.filter((record) => record.event === event).length;
    expect(count('open')).toBe(50);
    // openFor 4 s: a refresh is applied every 2 s at most, so 10 s of knocking gives 4 per grant, not 199.
    expect(count('refresh')).toBe(50 * 4);
    expect(backend.calls.filter((call) => call.startsWith('open')).length).toBe(50 * 5);
    const summary = audit.records.find((record) => record.event === 'refresh-summary');
    expect(summary).toMatchObject({ door: 'quick', suppressed: 50 * 199 - 50 * 4, sources: 50 });
  });

  test('a holder who keeps knocking never sees the grant lapse', async () => {
    const { clock, engine } = setup();
    for (let at = T0; at <= T0 + 20_000; at += 500) {
      clock.advanceTo(at);
      await engine.handle(completed('quick', owner, at));
      expect(engine.get('quick', owner)).toBeDefined();
    }
    expect(engine.get('quick', owner)!.until).toBeGreaterThanOrEqual(T0 + 20_000 + 2000);
  });

  test('an until-closed grant writes at most one refresh a minute, and a refresh after a close opens again', async () => {
    const { clock, engine, audit } = setup();
    for (let at = T0; at < T0 + 120_000; at += 1000) {
      clock.advanceTo(at);
      await engine.handle(completed('classic', owner, at));
    }
    expect(audit.records.filter((record) => record.event === 'refresh').length).toBe(1);
    await engine.close('classic', owner, 'revoked');
    await engine.handle(completed('classic', owner, T0 + 120_000));
    expect(audit.records.at(-1)).toMatchObject({ event: 'open', door: 'classic', src: owner });
  });
});
