import { describe, expect, test } from '@jest/globals';
import { grantTableLines, recordTableLines } from '../../src/audit/audit-table.js';
import { GrantPairer } from '../../src/audit/grant-pairing.js';
import type { AuditRecord } from '../../src/audit/record.js';
import { fleetLine } from '../../src/audit/status-view.js';
import type { FleetConfig } from '../../src/config/types.js';
import { grantEntryKey, memberEntryKey, parseGrantEntryKey } from '../../src/fleet/fleet-keys.js';
import type { FleetLinkStatus } from '../../src/fleet/fleet-link.js';
import type { UnsignedEnvelope } from '../../src/fleet/fleet-message.js';
import { buildFleetStatus, renderFleetStatus } from '../../src/fleet/fleet-views.js';
import { encodeEnvelope, signEnvelope } from '../../src/fleet/message-signing.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { testFleetConfig } from './memory-transport.js';

const T0 = Date.parse('2026-12-01T09:00:00Z');
const KEY = 'view-key-'.repeat(5);
const fleet: FleetConfig = testFleetConfig('b1', KEY, ['ssh']);

const envelope = (fields: Partial<UnsignedEnvelope> & Pick<UnsignedEnvelope, 'type' | 'body'>, key = KEY) =>
  encodeEnvelope(
    signEnvelope(
      { v: 1, group: 'bastions', id: `id-${Math.random()}`, host: 'b1', iat: T0, exp: T0 + 60_000, ...fields },
      key,
    ),
  );

let revision = 0;
const entry = (key: string, value: Uint8Array, created = T0) => ({
  key,
  value,
  revision: ++revision,
  created,
  operation: 'PUT' as const,
});

describe('fleet keys', () => {
  test('a grant key carries door and source (IPv6 too) and parses back', () => {
    expect(grantEntryKey('ssh', '2001:db8::7')).toMatch(/^g\.ssh\.[0-9a-f]+$/);
    expect(parseGrantEntryKey(grantEntryKey('ssh', '2001:db8::7'))).toEqual({ door: 'ssh', src: '2001:db8::7' });
    expect(parseGrantEntryKey(memberEntryKey('b1'))).toBeUndefined();
  });
});

describe('status --fleet', () => {
  const heartbeat = (host: string, clockOffset: number | null, accepting = true) =>
    envelope({ host, type: 'heartbeat', body: { version: '0.1.0', doors: ['ssh'], clockOffset, accepting } });
  const entries = [
    entry(memberEntryKey('b2'), heartbeat('b2', 12), T0 - 1000),
    entry(memberEntryKey('b1'), heartbeat('b1', -3), T0 - 500),
    entry(memberEntryKey('b3'), heartbeat('b3', 4000, false), T0 - 60_000),
    entry(
      grantEntryKey('ssh', '203.0.113.7'),
      envelope({
        host: 'b2',
        type: 'grant',
        body: { action: 'open', door: 'ssh', src: '203.0.113.7', family: 4, until: T0 + 30_000, by: 'knock' },
      }),
    ),
    entry(
      grantEntryKey('ssh', '203.0.113.8'),
      envelope({ type: 'grant', body: { action: 'close', door: 'ssh', src: '203.0.113.8', reason: 'revoked' } }),
    ),
    entry(
      grantEntryKey('ssh', '203.0.113.9'),
      envelope(
        {
          type: 'grant',
          body: { action: 'open', door: 'ssh', src: '203.0.113.9', family: 4, until: T0 + 30_000, by: 'knock' },
        },
        'forger-key-'.repeat(4),
      ),
    ),
  ];

  test('lists verified members (alive within three heartbeats) and the open grants; counts what fails verification', () => {
    const view = buildFleetStatus(fleet, entries, T0);
    expect(view.members.map((member) => [member.host, member.alive, member.clockOffset, member.accepting])).toEqual([
      ['b1', true, -3, true],
      ['b2', true, 12, true],
      ['b3', false, 4000, false],
    ]);
    expect(view.grants).toEqual([
      {
        door: 'ssh',
        src: '203.0.113.7',
        until: new Date(T0 + 30_000).toISOString(),
        origin: 'b2',
        at: new Date(T0).toISOString(),
      },
    ]);
    expect(view.unverified).toBe(1);
  });

  test('renders members and grants as tables, with the verification failures loud', () => {
    const text = renderFleetStatus(buildFleetStatus(fleet, entries, T0), { color: false, now: T0 });
    expect(text).toMatch(/^Fleet bastions: 3 members$/m);
    expect(text).toMatch(/^HOST +STATE +LAST SEEN \(UTC\) +VERSION +CLOCK OFFSET +FLEET DOORS$/m);
    expect(text).toMatch(/^b3 +silent 1m/m);
    expect(text).toMatch(/^203\.0\.113\.7 +ssh +b2 /m);
    expect(text).toMatch(/1 bucket entry failed verification/);
  });
});

describe('audit --fleet tables', () => {
  const open = (host: string, at: number): AuditRecord => ({
    event: 'open',
    at: new Date(at).toISOString(),
    door: 'ssh',
    src: '203.0.113.7',
    ports: ['tcp:22'],
    until: null,
    by: host === 'b1' ? 'knock' : 'fleet',
    host,
  });
  test('the same grant on three members pairs into three rows, one per host, and the table gains a HOST column', () => {
    const pairer = new GrantPairer();
    for (const host of ['b1', 'b2', 'b3']) pairer.add(open(host, T0));
    const rows = pairer.finish();
    expect(rows.map((row) => row.host)).toEqual(['b1', 'b2', 'b3']);
    const lines = [...grantTableLines(rows, { color: false, now: T0 })];
    expect(lines[0]).toMatch(/^HOST +SOURCE +DOOR/);
    expect(lines[2]).toMatch(/^b2 +203\.0\.113\.7 +ssh/);
    expect([...recordTableLines([open('b2', T0)], { color: false })][1]).toMatch(/^b2 .* until closed \(fleet\)$/);
  });

  test('local records keep the table without a HOST column', () => {
    const pairer = new GrantPairer();
    pairer.add({
      event: 'open',
      at: new Date(T0).toISOString(),
      door: 'ssh',
      src: '203.0.113.7',
      ports: ['tcp:22'],
      until: null,
    });
    expect([...grantTableLines(pairer.finish(), { color: false, now: T0 })][0]).toMatch(/^SOURCE +DOOR/);
  });
});

describe('fleet status line and metrics', () => {
  const status: FleetLinkStatus = {
    group: 'bastions',
    host: 'b1',
    connected: true,
    accepting: false,
    clockOffset: 4200,
    published: 3,
    applied: 5,
    rejected: {
      malformed: 0,
      unsigned: 1,
      'bad-signature': 2,
      'wrong-group': 0,
      expired: 0,
      'not-yet-valid': 0,
      replayed: 0,
    },
    ignored: {
      own: 3,
      'no-such-door': 0,
      'not-allowed': 0,
      'past-until': 0,
      'clock-skew': 4,
      'not-held': 0,
      superseded: 0,
    },
    outbox: 0,
    duplicateName: false,
  };

  test('status says when the member refuses fleet grants because of its clock', () => {
    expect(fleetLine(status, false)).toBe(
      'fleet bastions as b1: REFUSING fleet grants (clock off)   clock offset 4200 ms, published 3, applied 5, refused 3',
    );
  });

  test('status and metrics say loudly when another member uses the same name', async () => {
    const duplicate = { ...status, accepting: true, duplicateName: true };
    expect(fleetLine(duplicate, false)).toMatch(
      /^fleet bastions as b1: DUPLICATE NAME: another member is also "b1" .*fleet\.host/,
    );
    const metrics = new Metrics();
    metrics.trackFleet(() => duplicate);
    expect(await metrics.text()).toMatch(/^knocktail_fleet_duplicate_name 1$/m);
  });

  test('the metrics show accepting, the clock offset and refusals by reason', async () => {
    const metrics = new Metrics();
    metrics.trackFleet(() => status);
    const text = await metrics.text();
    expect(text).toMatch(/^knocktail_fleet_accepting 0$/m);
    expect(text).toMatch(/^knocktail_fleet_duplicate_name 0$/m);
    expect(text).toMatch(/^knocktail_fleet_clock_offset_seconds 4\.2$/m);
    expect(text).toMatch(/^knocktail_fleet_rejected_total\{reason="bad-signature"\} 2$/m);
    expect(text).toMatch(/^knocktail_fleet_ignored_total\{reason="clock-skew"\} 4$/m);
    expect(await metrics.text()).toMatch(/^knocktail_fleet_rejected_total\{reason="bad-signature"\} 2$/m);
  });
});
