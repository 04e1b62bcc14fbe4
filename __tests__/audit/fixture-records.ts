import type { AuditRecord } from '../../src/audit/record.js';

// A fixed day and a half of audit records: knocked grants that expire, one closed by
// sequence, one revoked, one lost to downtime, one still open, rejections, a firewall error.
export const NOW = Date.parse('2026-11-24T12:00:00.000Z');

export const FIXTURE_RECORDS: readonly AuditRecord[] = [
  {
    event: 'open',
    at: '2026-11-23T08:00:00.000Z',
    door: 'ssh',
    src: '203.0.113.9',
    ports: ['tcp:22'],
    until: '2026-11-23T09:00:00.000Z',
    by: 'knock',
  },
  { event: 'reject', at: '2026-11-23T08:10:00.000Z', door: 'ssh', src: '198.51.100.66', reason: 'not-allowed' },
  {
    event: 'refresh',
    at: '2026-11-23T08:30:00.000Z',
    door: 'ssh',
    src: '203.0.113.9',
    ports: ['tcp:22'],
    until: '2026-11-23T09:30:00.000Z',
  },
  { event: 'close', at: '2026-11-23T09:30:00.000Z', door: 'ssh', src: '203.0.113.9', reason: 'expired' },
  {
    event: 'open',
    at: '2026-11-23T20:00:00.000Z',
    door: 'classic',
    src: '2001:db8::7',
    ports: ['tcp:22'],
    until: null,
    by: 'knock',
  },
  { event: 'close', at: '2026-11-23T20:05:30.000Z', door: 'classic', src: '2001:db8::7', reason: 'close-sequence' },
  {
    event: 'open',
    at: '2026-11-24T01:00:00.000Z',
    door: 'ssh',
    src: '203.0.113.10',
    ports: ['tcp:22', 'udp:60001'],
    until: '2026-11-24T02:00:00.000Z',
    by: 'manual',
  },
  {
    event: 'firewall-error',
    at: '2026-11-24T01:00:00.500Z',
    door: 'ssh',
    src: '203.0.113.10',
    action: 'open',
    command: ['iptables', '-I', 'KNOCKTAIL'],
    error: 'exit 4',
    attempt: 1,
  },
  { event: 'close', at: '2026-11-24T01:20:00.000Z', door: 'ssh', src: '203.0.113.10', reason: 'revoked' },
  {
    event: 'open',
    at: '2026-11-24T03:00:00.000Z',
    door: 'ssh',
    src: '198.51.100.20',
    ports: ['tcp:22'],
    until: '2026-11-24T04:00:00.000Z',
    by: 'knock',
  },
  { event: 'close', at: '2026-11-24T06:00:00.000Z', door: 'ssh', src: '198.51.100.20', reason: 'expired-while-down' },
  { event: 'reject', at: '2026-11-24T09:00:00.000Z', door: 'ssh', src: '198.51.100.66', reason: 'banned' },
  {
    event: 'open',
    at: '2026-11-24T11:15:00.000Z',
    door: 'ssh',
    src: '203.0.113.9',
    ports: ['tcp:22'],
    until: '2026-11-24T12:15:00.000Z',
    by: 'knock',
  },
];
