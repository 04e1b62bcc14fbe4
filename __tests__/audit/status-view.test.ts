import { describe, expect, test } from '@jest/globals';
import { progressSnapshot, renderStatus, type StatusSnapshot } from '../../src/audit/status-view.js';

const now = Date.parse('2026-11-24T12:00:00.000Z');
const snapshot: StatusSnapshot = {
  startedAt: '2026-11-24T09:55:00.000Z',
  backend: 'iptables',
  backendHealthy: true,
  grants: [
    { door: 'classic', src: '2001:db8::7', ports: ['tcp:22'], openedAt: '2026-11-24T11:30:00.000Z', until: null },
    {
      door: 'ssh',
      src: '203.0.113.9',
      ports: ['tcp:22', 'udp:60001'],
      openedAt: '2026-11-24T11:15:00.000Z',
      until: '2026-11-24T12:15:00.000Z',
    },
  ],
  trackedSources: 3,
  counters: { closes: 3, lines: 1200, packets: 1100, opens: 5, firewallFailures: 0, custom: 1 },
  follower: { path: '/var/log/knocktail/knocks.log', offset: 123456, lagBytes: 0 },
  pendingCloses: [],
};

describe('renderStatus', () => {
  test('shows what the DNAT probe found on the forward path, and nothing when it did not run', () => {
    const forward = [
      'forward path: tcp:8080 (IPv4) is published by DNAT (iptables nat DOCKER: …); guarded by chain KNOCKTAIL-FWD (…)',
    ];
    expect(renderStatus({ ...snapshot, forward }, { color: false, now }).split('\n')).toContain(`Guard ${forward[0]}`);
    expect(renderStatus(snapshot, { color: false, now })).not.toContain('forward path');
  });

  test("shows the guard's refusal and why when the snapshot carries it, nothing before the first setup", () => {
    const refusal = {
      refusal: 'drop' as const,
      reason: 'auto: ufw (table ip filter, chain INPUT, priority 0: policy drop) drops unused ports by default',
    };
    expect(renderStatus({ ...snapshot, refusal }, { color: false, now }).split('\n')).toContain(
      'Guard refusal: drop (silent), as for unused ports; auto: ufw (table ip filter, chain INPUT, priority 0: policy drop) drops unused ports by default',
    );
    expect(renderStatus(snapshot, { color: false, now })).not.toContain('Guard refusal');
  });

  test('shows the always-allowed sources when the snapshot carries them', () => {
    const lines = renderStatus(
      { ...snapshot, alwaysAllow: ['192.0.2.0/24', '2001:db8:9::/48'] },
      { color: false, now },
    ).split('\n');
    expect(lines).toContain(
      'Always allowed (limits.alwaysAllow, never blocked on protected ports): 192.0.2.0/24 2001:db8:9::/48',
    );
    expect(renderStatus({ ...snapshot, alwaysAllow: [] }, { color: false, now })).toContain(
      'Always allowed (limits.alwaysAllow, never blocked on protected ports): none',
    );
  });

  test('shows uptime, backend health, grants oldest first, counters and the follower', () => {
    expect(renderStatus(snapshot, { color: false, now })).toBe(
      [
        'up 2h 05m (since 2026-11-24 09:55:00 UTC)   backend iptables: healthy',
        '',
        'Open grants (2)',
        'SOURCE       DOOR     PORTS             OPENED (UTC)         UNTIL (UTC)',
        '203.0.113.9  ssh      tcp:22,udp:60001  2026-11-24 11:15:00  2026-11-24 12:15:00 (in 15m 00s)',
        '2001:db8::7  classic  tcp:22            2026-11-24 11:30:00  until closed',
        '',
        'Tracked sources: 3',
        'Counters: lines 1200  packets 1100  opens 5  closes 3  firewallFailures 0  custom 1',
        'Follower: /var/log/knocktail/knocks.log at offset 123456 (0 bytes behind)',
      ].join('\n'),
    );
  });

  test("a running daemon's scanner marks are shown next to the tracked sources", () => {
    expect(renderStatus({ ...snapshot, scanners: 12 }, { color: false, now }).split('\n')).toContain(
      'Tracked sources: 3, scanners marked: 12',
    );
  });

  test('a failing close is the first, loud line, and an unhealthy backend says so', () => {
    const text = renderStatus(
      {
        ...snapshot,
        backendHealthy: false,
        pendingCloses: [{ door: 'ssh', src: '203.0.113.9', attempts: 4, lastError: 'iptables: exit 4' }],
      },
      { color: false, now },
    );
    expect(text.split('\n')[0]).toBe(
      '!!! CLOSE FAILING: door ssh is still open for 203.0.113.9 after 4 attempts; last error: iptables: exit 4',
    );
    expect(text).toContain('backend iptables: UNHEALTHY');
  });

  test('in colour the failing close is red; without colour there are no escapes', () => {
    const failing = { ...snapshot, pendingCloses: [{ door: 'ssh', src: '203.0.113.9', attempts: 1, lastError: 'x' }] };
    expect(renderStatus(failing, { color: true, now }).split('\n')[0]).toMatch(
      /^\u001b\[31m!!! CLOSE FAILING.*\u001b\[39m$/,
    );
    expect(renderStatus(failing, { color: false, now })).not.toContain('\u001b');
  });

  test('without a daemon, no grants and no follower it still reads cleanly', () => {
    const text = renderStatus(
      { ...snapshot, startedAt: '', grants: [], counters: {}, follower: undefined },
      { color: false, now },
    );
    expect(text).toBe(
      [
        'daemon: not running   backend iptables: healthy',
        '',
        'Open grants: none',
        '',
        'Tracked sources: 3',
        'Counters: (none)',
        'Follower: none',
      ].join('\n'),
    );
  });

  test('a grant past its end is marked overdue', () => {
    const text = renderStatus(
      { ...snapshot, grants: [{ ...snapshot.grants[1]!, until: '2026-11-24T11:59:00.000Z' }] },
      { color: false, now },
    );
    expect(text).toContain('2026-11-24 11:59:00 (overdue 1m 00s)');
  });
});

describe('sources mid-sequence in the status', () => {
  const progress = progressSnapshot({
    total: 23,
    sources: [
      {
        src: '203.0.113.9',
        door: 'ssh',
        sequence: 'open',
        step: 2,
        of: 3,
        since: Date.parse('2026-11-24T11:59:55.000Z'),
      },
      {
        src: '2001:db8::7',
        door: 'classic',
        sequence: 'close',
        step: 1,
        of: 2,
        since: Date.parse('2026-11-24T11:59:00.000Z'),
      },
    ],
  });

  test('are listed after the follower with door, step and since when, and the rest counted', () => {
    const lines = renderStatus({ ...snapshot, inProgress: progress }, { color: false, now }).split('\n');
    expect(lines.slice(lines.indexOf('Mid-sequence (23)'))).toEqual([
      'Mid-sequence (23)',
      'SOURCE       DOOR             STEP    SINCE (UTC)',
      '203.0.113.9  ssh              2 of 3  2026-11-24 11:59:55 (5s ago)',
      '2001:db8::7  classic (close)  1 of 2  2026-11-24 11:59:00 (1m 00s ago)',
      '… and 21 more; `--json` for the first 2',
    ]);
  });

  test('are left out when none is mid-sequence or no daemon answered', () => {
    expect(renderStatus({ ...snapshot, inProgress: { total: 0, sources: [] } }, { color: false, now })).not.toContain(
      'Mid-sequence',
    );
    expect(renderStatus(snapshot, { color: false, now })).not.toContain('Mid-sequence');
  });
});
