import { describe, expect, test } from '@jest/globals';
import { parseCidr } from '../../src/model/address.js';
import { ManualClock } from '../../src/model/clock.js';
import { GrantEngine, type GrantChange } from '../../src/grant/grant-engine.js';
import type { Grant } from '../../src/model/grant.js';
import type { KnockEvent } from '../../src/knock/events.js';
import { makeDoor } from '../support/door.js';
import { FakeBackend, MemoryAudit } from '../support/fakes.js';

const T0 = Date.parse('2026-11-24T12:00:00Z');

const ssh = makeDoor({ name: 'ssh', openFor: 60_000 });
const classic = makeDoor();

function completed(doorName: string, src: string, at: number): KnockEvent {
  return { kind: 'completed', sequence: 'open', door: doorName, src, family: 4, at };
}

function setup(grants: readonly Grant[] = []) {
  const timeline: string[] = [];
  const clock = new ManualClock(T0);
  const backend = new FakeBackend(timeline);
  const audit = new MemoryAudit(timeline);
  const persisted: number[] = [];
  // A store that records when the engine asks for persistence (changed) and waits for it (persisted).
  const store = {
    changed: () => void persisted.push(manager.size),
    persisted: () => {
      timeline.push('state persisted');
      return Promise.resolve();
    },
  };
  const manager: GrantEngine = new GrantEngine({
    doors: [ssh, classic],
    backend,
    audit,
    clock,
    grants,
    store,
    closeRetryDelay: () => 1000,
  });
  return { timeline, clock, backend, audit, manager, persisted };
}

describe('GrantEngine', () => {
  test('a completed sequence writes the audit intent, then opens the firewall', async () => {
    const { manager, timeline, audit, persisted } = setup();
    await manager.handle(completed('ssh', '203.0.113.9', T0));
    await manager.drain();
    expect(timeline).toEqual(['audit open ssh 203.0.113.9', 'firewall open ssh 203.0.113.9']);
    expect(audit.records[0]).toMatchObject({
      event: 'open',
      door: 'ssh',
      src: '203.0.113.9',
      ports: ['tcp:22'],
      at: '2026-11-24T12:00:00.000Z',
      until: '2026-11-24T12:01:00.000Z',
      by: 'knock',
    });
    expect(persisted).toEqual([1]);
  });

  test('a holder who knocks again refreshes the one grant instead of adding another', async () => {
    const { manager, clock, audit } = setup();
    await manager.handle(completed('ssh', '203.0.113.9', T0));
    clock.advanceTo(T0 + 30_000);
    await manager.handle(completed('ssh', '203.0.113.9', T0 + 30_000));
    await manager.drain();
    expect(manager.grants()).toHaveLength(1);
    expect(audit.records.map((r) => r.event)).toEqual(['open', 'refresh']);
    expect(audit.records[1]).toMatchObject({ until: '2026-11-24T12:01:30.000Z' });
  });

  test('a grant closes on the clock when it expires, with reason expired', async () => {
    const { manager, clock, backend, audit } = setup();
    await manager.handle(completed('ssh', '203.0.113.9', T0));
    clock.advanceTo(T0 + 59_999);
    await manager.drain();
    expect(backend.calls).toEqual(['open ssh 203.0.113.9']);
    clock.advanceTo(T0 + 120_000);
    await manager.drain();
    expect(backend.calls).toEqual(['open ssh 203.0.113.9', 'close ssh 203.0.113.9']);
    expect(audit.records[1]).toMatchObject({ event: 'close', reason: 'expired', at: '2026-11-24T12:01:00.000Z' });
    expect(manager.grants()).toEqual([]);
  });

  test('an until-closed grant stays open until its close sequence', async () => {
    const { manager, clock, audit } = setup();
    await manager.handle(completed('classic', '2001:db8::9', T0));
    clock.advanceTo(T0 + 86_400_000);
    await manager.drain();
    expect(manager.grants()).toHaveLength(1);
    await manager.handle({
      kind: 'closed',
      sequence: 'close',
      door: 'classic',
      src: '2001:db8::9',
      family: 6,
      at: clock.now(),
    });
    await manager.drain();
    expect(audit.records.map((r) => [r.event, (r as { reason?: string }).reason])).toEqual([
      ['open', undefined],
      ['close', 'close-sequence'],
    ]);
  });

  test('a close sequence from a source without a grant changes nothing', async () => {
    const { manager, backend, audit } = setup();
    await manager.handle({ kind: 'closed', sequence: 'close', door: 'classic', src: '203.0.113.7', family: 4, at: T0 });
    expect(backend.calls).toEqual([]);
    expect(audit.records).toEqual([]);
  });

  test('a failing close is retried until it succeeds and is visible meanwhile', async () => {
    const { manager, clock, backend, audit } = setup();
    await manager.handle(completed('ssh', '203.0.113.9', T0));
    backend.failures.close = 2;
    await manager.close('ssh', '203.0.113.9', 'revoked');
    expect(manager.pendingCloses()).toMatchObject([
      { door: 'ssh', src: '203.0.113.9', attempts: 1, lastError: 'close failed' },
    ]);
    clock.advanceTo(T0 + 1000);
    await manager.drain();
    expect(manager.pendingCloses()).toMatchObject([{ attempts: 2 }]);
    clock.advanceTo(T0 + 2000);
    await manager.drain();
    expect(manager.pendingCloses()).toEqual([]);
    expect(backend.held.size).toBe(0);
    const failures = audit.records.filter((r) => r.event === 'firewall-error');
    expect(failures).toHaveLength(2);
    expect(failures[0]).toMatchObject({ action: 'close', command: ['iptables', '-w', 'close'], attempt: 1 });
  });

  test('a failing open is audited and does not stop the daemon', async () => {
    const { manager, backend, audit } = setup();
    backend.failures.open = 1;
    await manager.handle(completed('ssh', '203.0.113.9', T0));
    await manager.drain();
    expect(audit.records.map((r) => r.event)).toEqual(['open', 'firewall-error']);
  });

  test('reconcile at start closes grants that expired while down, removes orphans and re-adds missing rules', async () => {
    const expired: Grant = {
      door: 'ssh',
      src: '203.0.113.1',
      family: 4,
      ports: [{ proto: 'tcp', port: 22 }],
      openedAt: T0 - 7_200_000,
      until: T0 - 3_600_000,
    };
    const live: Grant = {
      door: 'ssh',
      src: '203.0.113.2',
      family: 4,
      ports: [{ proto: 'tcp', port: 22 }],
      openedAt: T0 - 10_000,
      until: T0 + 50_000,
    };
    const orphan: Grant = {
      door: 'classic',
      src: '203.0.113.3',
      family: 4,
      ports: [{ proto: 'tcp', port: 22 }],
      openedAt: T0 - 10_000,
      until: null,
    };
    const { manager, backend, audit } = setup([expired, live]);
    backend.held.set('ssh/203.0.113.1', expired);
    backend.held.set('classic/203.0.113.3', orphan);
    await manager.reconcile('start');
    await manager.drain();
    expect([...backend.held.keys()].sort()).toEqual(['ssh/203.0.113.2']);
    expect(
      audit.records.map((r) => [
        r.event,
        (r as { reason?: string; action?: string }).reason ?? (r as { action?: string }).action,
      ]),
    ).toEqual([
      ['close', 'expired-while-down'],
      ['firewall-repair', 'remove-orphan'],
      ['firewall-repair', 're-add-missing'],
    ]);
    expect(manager.grants()).toEqual([live]);
  });

  test("with adoptOrphans, a start adopts a configured door's live rule the state lost (it closes on time, audited) and closes an expired one", async () => {
    const lost: Grant = {
      door: 'ssh',
      src: '203.0.113.4',
      family: 4,
      ports: [{ proto: 'tcp', port: 22 }],
      openedAt: T0 - 10_000,
      until: T0 + 50_000,
    };
    const stale: Grant = {
      door: 'ssh',
      src: '203.0.113.5',
      family: 4,
      ports: [{ proto: 'tcp', port: 22 }],
      openedAt: T0 - 90_000,
      until: T0 - 30_000,
    };
    const unknownDoor: Grant = {
      door: 'gone',
      src: '203.0.113.6',
      family: 4,
      ports: [{ proto: 'tcp', port: 22 }],
      openedAt: T0 - 10_000,
      until: T0 + 50_000,
    };
    const { manager, backend, audit, clock } = setup();
    for (const grant of [lost, stale, unknownDoor]) backend.held.set(`${grant.door}/${grant.src}`, grant);
    await manager.reconcile('start', { adoptOrphans: true });
    manager.start();
    await manager.drain();
    expect([...backend.held.keys()]).toEqual(['ssh/203.0.113.4']);
    expect(manager.grants()).toEqual([lost]);
    clock.advanceTo(T0 + 50_000);
    await manager.drain();
    expect(backend.held.size).toBe(0);
    expect(
      audit.records.map((r) => [
        r.event,
        r.src,
        (r as { reason?: string; action?: string }).reason ?? (r as { action?: string }).action,
      ]),
    ).toEqual([
      ['firewall-repair', '203.0.113.4', 'adopt-orphan'],
      ['close', '203.0.113.5', 'expired-while-down'],
      ['firewall-repair', '203.0.113.6', 'remove-orphan'],
      ['close', '203.0.113.4', 'expired'],
    ]);
  });

  test('the drift check leaves a grant the kernel dropped just before its expiry to the expiry timer', async () => {
    const { manager, clock, backend, audit } = setup();
    await manager.handle(completed('ssh', '203.0.113.9', T0));
    await manager.drain();
    backend.held.clear();
    clock.advanceTo(T0 + 59_000);
    await manager.reconcile('check');
    await manager.drain();
    expect(backend.calls).toEqual(['open ssh 203.0.113.9']);
    clock.advanceTo(T0 + 60_000);
    await manager.drain();
    expect(audit.records.map((r) => r.event)).toEqual(['open', 'close']);
  });

  test('the drift check re-adds a rule deleted by hand', async () => {
    const { manager, backend, audit } = setup();
    await manager.handle(completed('ssh', '203.0.113.9', T0));
    await manager.drain();
    backend.held.clear();
    await manager.reconcile('check');
    await manager.drain();
    expect(backend.held.size).toBe(1);
    expect(audit.records.map((r) => [r.event, (r as { action?: string }).action])).toEqual([
      ['open', undefined],
      ['firewall-repair', 're-add-missing'],
    ]);
  });

  test('a manual grant can outlive or shorten the door lifetime', async () => {
    const { manager, audit } = setup();
    await manager.open(ssh, '198.51.100.7', 4, 'manual', 5_000);
    expect(audit.records[0]).toMatchObject({ event: 'open', by: 'manual', until: '2026-11-24T12:00:05.000Z' });
  });

  test('a close before expiry waits for the state to be persisted before the firewall is touched; an open does not', async () => {
    const { manager, timeline } = setup();
    await manager.open(ssh, '203.0.113.9', 4, 'manual', 60_000);
    await manager.close('ssh', '203.0.113.9', 'revoked');
    expect(timeline).toEqual([
      'audit open ssh 203.0.113.9',
      'firewall open ssh 203.0.113.9',
      'audit close ssh 203.0.113.9',
      'state persisted',
      'firewall close ssh 203.0.113.9',
    ]);
  });

  test('an expiry that fires before a packet is closed before that packet opens again, without anyone awaiting', async () => {
    const { manager, clock, timeline } = setup();
    void manager.handle(completed('ssh', '203.0.113.9', T0));
    clock.advanceTo(T0 + 60_000);
    void manager.handle(completed('ssh', '203.0.113.9', T0 + 60_000));
    await manager.drain();
    expect(timeline).toEqual([
      'audit open ssh 203.0.113.9',
      'audit close ssh 203.0.113.9',
      'audit open ssh 203.0.113.9',
      'firewall open ssh 203.0.113.9',
      'firewall close ssh 203.0.113.9',
      'firewall open ssh 203.0.113.9',
    ]);
    expect(manager.grants()).toHaveLength(1);
  });

  test('thousands of grants expire in time order through one timer', async () => {
    const { manager, clock, audit } = setup();
    for (let i = 0; i < 5000; i++)
      void manager.open(ssh, `198.51.${(i >> 8) & 255}.${i & 255}`, 4, 'manual', 1000 + ((i * 7919) % 5000));
    clock.advanceTo(T0 + 10_000);
    await manager.drain();
    const closes = audit.records.filter((r) => r.event === 'close').map((r) => Date.parse(r.at));
    expect(closes).toHaveLength(5000);
    expect([...closes].sort((a, b) => a - b)).toEqual(closes);
    expect(clock.pendingTimers()).toBe(0);
  });

  test('observers see every change: opened, refreshed, closed with its reason', async () => {
    const { manager } = setup();
    const seen: string[] = [];
    const off = manager.onChange((change: GrantChange) =>
      seen.push(
        `${change.kind} ${change.grant.src}${change.kind === 'closed' ? ` ${change.reason}` : ` ${change.by}`}`,
      ),
    );
    await manager.open(ssh, '203.0.113.9', 4, 'manual');
    await manager.handle(completed('ssh', '203.0.113.9', T0));
    await manager.close('ssh', '203.0.113.9', 'revoked');
    off();
    await manager.open(ssh, '203.0.113.9', 4, 'manual');
    expect(seen).toEqual(['opened 203.0.113.9 manual', 'refreshed 203.0.113.9 knock', 'closed 203.0.113.9 revoked']);
  });

  test('a reload closes grants of a removed door (door-removed) and of sources allowFrom no longer admits (not-allowed)', async () => {
    const { manager, audit, backend } = setup();
    await manager.open(ssh, '203.0.113.9', 4, 'knock');
    await manager.open(ssh, '198.51.100.7', 4, 'knock');
    await manager.open(classic, '203.0.113.9', 4, 'knock');
    const tightened = makeDoor({ name: 'ssh', openFor: 60_000, allowFrom: [parseCidr('198.51.100.0/24')!] });
    await manager.setDoors([tightened]);
    await manager.drain();
    expect(manager.grants().map((g) => `${g.door} ${g.src}`)).toEqual(['ssh 198.51.100.7']);
    expect(
      audit.records.filter((r) => r.event === 'close').map((r) => [r.door, r.src, (r as { reason: string }).reason]),
    ).toEqual([
      ['ssh', '203.0.113.9', 'not-allowed'],
      ['classic', '203.0.113.9', 'door-removed'],
    ]);
    expect([...backend.held.keys()]).toEqual(['ssh/198.51.100.7']);
  });

  test('a manual grant the old allowFrom did not admit either is an exception a reload keeps', async () => {
    const { manager } = setup();
    const narrow = makeDoor({ name: 'ssh', openFor: 60_000, allowFrom: [parseCidr('198.51.100.0/24')!] });
    await manager.setDoors([narrow, classic]);
    await manager.open(narrow, '203.0.113.9', 4, 'manual');
    await manager.setDoors([
      makeDoor({ name: 'ssh', openFor: 60_000, allowFrom: [parseCidr('198.51.100.0/25')!] }),
      classic,
    ]);
    expect(manager.grants()).toHaveLength(1);
  });

  test('reconcile never re-adds a rule for a door that is not configured, and closes such grants at start', async () => {
    const stale: Grant = {
      door: 'gone',
      src: '203.0.113.5',
      family: 4,
      ports: [{ proto: 'tcp', port: 22 }],
      openedAt: T0,
      until: null,
    };
    const { manager, backend, audit } = setup([stale]);
    await manager.reconcile('check');
    await manager.drain();
    expect(backend.calls).toEqual([]);
    await manager.reconcile('start');
    await manager.drain();
    expect(audit.records.map((r) => [r.event, (r as { reason?: string }).reason])).toEqual([['close', 'door-removed']]);
    expect(manager.grants()).toEqual([]);
  });

  test('manual calls take any spelling of an address; the grant and its records use the normalised one', async () => {
    const { manager, audit } = setup();
    await manager.open(ssh, '2001:DB8:0:0::9', 6, 'manual');
    expect(manager.get('ssh', '2001:db8:0::9')?.src).toBe('2001:db8::9');
    expect(await manager.close('ssh', '2001:0db8::9', 'revoked')).toBe(true);
    expect(audit.records.map((r) => r.src)).toEqual(['2001:db8::9', '2001:db8::9']);
  });

  test("openUntil opens to an absolute end (a fleet peer's grant), and an observer sees it", async () => {
    const { manager } = setup();
    const seen: GrantChange[] = [];
    manager.onChange((change) => seen.push(change));
    const grant = await manager.openUntil(ssh, '203.0.113.9', 4, 'manual', T0 + 5_000);
    expect(grant.until).toBe(T0 + 5_000);
    expect((await manager.openUntil(classic, '203.0.113.9', 4, 'manual', null)).until).toBeNull();
    expect(seen.map((c) => c.kind)).toEqual(['opened', 'opened']);
  });
});
