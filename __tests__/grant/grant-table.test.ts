import { describe, expect, test } from '@jest/globals';
import { GrantTable } from '../../src/grant/grant-table.js';
import type { Door } from '../../src/model/door.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 24, 12);

const door = (name: string, openFor: number | null): Door => ({
  name,
  sequence: [{ proto: 'tcp', port: 31600 }],
  oneTimeSequences: [],
  timeout: 25_000,
  open: [{ proto: 'tcp', port: 22 }],
  openFor,
  closeSequence: [{ proto: 'tcp', port: 31601 }],
  allowFrom: [],
});

const ssh = door('ssh', HOUR);
const classic = door('classic', null);

describe('GrantTable', () => {
  test('opening gives a grant for the door’s ports until now + openFor', () => {
    const table = new GrantTable();
    expect(table.open(ssh, '203.0.113.9', 4, T0)).toEqual({
      kind: 'opened',
      grant: {
        door: 'ssh',
        src: '203.0.113.9',
        family: 4,
        ports: [{ proto: 'tcp', port: 22 }],
        openedAt: T0,
        until: T0 + HOUR,
      },
    });
    expect(table.size).toBe(1);
  });

  test('a second open refreshes: openedAt stays, until moves to now + openFor', () => {
    const table = new GrantTable();
    table.open(ssh, '203.0.113.9', 4, T0);
    const { kind, grant } = table.open(ssh, '203.0.113.9', 4, T0 + 10 * 60_000);
    expect(kind).toBe('refreshed');
    expect(grant.openedAt).toBe(T0);
    expect(grant.until).toBe(T0 + 10 * 60_000 + HOUR);
    expect(table.size).toBe(1);
  });

  test('a refresh never shortens a longer grant given by hand', () => {
    const table = new GrantTable();
    table.open(ssh, '203.0.113.9', 4, T0, 24 * HOUR);
    expect(table.open(ssh, '203.0.113.9', 4, T0 + 1).grant.until).toBe(T0 + 24 * HOUR);
  });

  test('until-closed grants have no end, and a refresh keeps it that way', () => {
    const table = new GrantTable();
    expect(table.open(classic, '203.0.113.9', 4, T0).grant.until).toBeNull();
    expect(table.open(classic, '203.0.113.9', 4, T0 + 1, HOUR).grant.until).toBeNull();
    expect(table.nextDue()).toBeUndefined();
    expect(table.due(T0 + 1000 * HOUR)).toEqual([]);
  });

  test('an openFor override replaces the door’s lifetime, null meaning until-closed', () => {
    const table = new GrantTable();
    expect(table.open(ssh, '203.0.113.9', 4, T0, 5 * 60_000).grant.until).toBe(T0 + 5 * 60_000);
    expect(table.open(ssh, '203.0.113.10', 4, T0, null).grant.until).toBeNull();
  });

  test('grants are per door and per source', () => {
    const table = new GrantTable();
    table.open(ssh, '2001:db8::9', 6, T0);
    table.open(classic, '2001:db8::9', 6, T0);
    expect(table.get('ssh', '2001:db8::9')?.src).toBe('2001:db8::9');
    expect(table.get('ssh', '2001:db8::10')).toBeUndefined();
    expect(table.size).toBe(2);
  });

  test('close removes and returns the grant, once', () => {
    const table = new GrantTable();
    table.open(ssh, '203.0.113.9', 4, T0);
    expect(table.close('ssh', '203.0.113.9')?.door).toBe('ssh');
    expect(table.close('ssh', '203.0.113.9')).toBeUndefined();
    expect(table.all()).toEqual([]);
  });

  test('due lists grants whose time is up, soonest first, without removing them', () => {
    const table = new GrantTable();
    table.open(ssh, '203.0.113.1', 4, T0 + 2000);
    table.open(ssh, '203.0.113.2', 4, T0);
    table.open(ssh, '203.0.113.3', 4, T0 + 5000);
    table.open(classic, '203.0.113.4', 4, T0);
    expect(table.nextDue()).toBe(T0 + HOUR);
    expect(table.due(T0 + HOUR - 1)).toEqual([]);
    expect(table.due(T0 + HOUR + 2000).map((grant) => grant.src)).toEqual(['203.0.113.2', '203.0.113.1']);
    expect(table.size).toBe(4);
  });

  test('a table can start from persisted grants', () => {
    const grant = {
      door: 'ssh',
      src: '203.0.113.9',
      family: 4 as const,
      ports: [{ proto: 'tcp' as const, port: 22 }],
      openedAt: T0,
      until: T0 + HOUR,
    };
    const table = new GrantTable([grant]);
    expect(table.get('ssh', '203.0.113.9')).toEqual(grant);
    expect(table.nextDue()).toBe(T0 + HOUR);
  });

  test('the next expiry follows refreshes and closes, and firstDue gives the soonest due grant only', () => {
    const table = new GrantTable();
    table.open(ssh, '203.0.113.1', 4, T0);
    table.open(ssh, '203.0.113.2', 4, T0 + 1000);
    expect(table.nextDue()).toBe(T0 + HOUR);
    table.open(ssh, '203.0.113.1', 4, T0 + 5000);
    expect(table.nextDue()).toBe(T0 + 1000 + HOUR);
    expect(table.firstDue(T0 + HOUR + 999)).toBeUndefined();
    expect(table.firstDue(T0 + HOUR + 1000)?.src).toBe('203.0.113.2');
    table.close('ssh', '203.0.113.2');
    expect(table.nextDue()).toBe(T0 + 5000 + HOUR);
    table.close('ssh', '203.0.113.1');
    expect(table.nextDue()).toBeUndefined();
  });
});
