import type { Grant } from '../model/grant.js';
import { formatPort } from '../model/door.js';
import { formatLength, formatTime } from './audit-table.js';
import { escapeCell, paint, renderColumns, type Cell } from './text-table.js';

// What `knocktail status` shows: the daemon builds the snapshot, this renders it for people.
export interface StatusSnapshot {
  /** ISO time the daemon started; '' when no daemon answered (grants from the state file). */
  startedAt: string;
  backend: string;
  backendHealthy: boolean;
  grants: { door: string; src: string; ports: string[]; openedAt: string; until: string | null }[];
  trackedSources: number;
  /** lines, packets, malformed, ignored, knocks, opens, refreshes, closes, rejected, firewallFailures */
  counters: Record<string, number>;
  follower?: { path: string; offset: number; lagBytes: number };
  pendingCloses: { door: string; src: string; attempts: number; lastError: string }[];
}

/** A grant as the status shows it (ISO times, ports as text); the daemon and the offline CLI both use it. */
export function statusGrant(grant: Grant): StatusSnapshot['grants'][number] {
  return {
    door: grant.door,
    src: grant.src,
    ports: grant.ports.map(formatPort),
    openedAt: new Date(grant.openedAt).toISOString(),
    until: grant.until === null ? null : new Date(grant.until).toISOString(),
  };
}

const COUNTER_ORDER = ['lines', 'packets', 'malformed', 'ignored', 'knocks', 'opens', 'refreshes', 'closes', 'rejected', 'firewallFailures'];

/** The status as lines of text (no trailing newline); failing closes come first and loud. */
export function renderStatus(snapshot: StatusSnapshot, options: { color: boolean; now: number }): string {
  const { color, now } = options;
  const out: string[] = [];
  for (const pending of snapshot.pendingCloses) {
    out.push(
      paint(
        `!!! CLOSE FAILING: door ${escapeCell(pending.door)} is still open for ${escapeCell(pending.src)} after ${pending.attempts} attempt${pending.attempts === 1 ? '' : 's'}; last error: ${escapeCell(pending.lastError)}`,
        'red',
        color,
      ),
    );
  }
  if (snapshot.pendingCloses.length > 0) out.push('');
  const started = Date.parse(snapshot.startedAt);
  const health = snapshot.backendHealthy ? paint('healthy', 'green', color) : paint('UNHEALTHY', 'red', color);
  out.push(
    `${Number.isNaN(started) ? 'daemon: not running' : `up ${formatLength(Math.max(0, now - started))} (since ${formatTime(snapshot.startedAt)} UTC)`}   backend ${escapeCell(snapshot.backend)}: ${health}`,
  );
  out.push('');
  if (snapshot.grants.length === 0) {
    out.push('Open grants: none');
  } else {
    out.push(paint(`Open grants (${snapshot.grants.length})`, 'bold', color));
    const grants = [...snapshot.grants].sort((a, b) => (a.openedAt < b.openedAt ? -1 : a.openedAt > b.openedAt ? 1 : 0));
    out.push(
      ...renderColumns(
        [{ header: 'SOURCE' }, { header: 'DOOR' }, { header: 'PORTS' }, { header: 'OPENED (UTC)' }, { header: 'UNTIL (UTC)' }],
        grants.map((grant): Cell[] => [{ text: grant.src }, { text: grant.door }, { text: grant.ports.join(',') }, { text: formatTime(grant.openedAt) }, untilCell(grant.until, now)]),
        color,
      ),
    );
  }
  out.push('', `Tracked sources: ${snapshot.trackedSources}`);
  const names = [
    ...COUNTER_ORDER.filter((name) => name in snapshot.counters),
    ...Object.keys(snapshot.counters)
      .filter((name) => !COUNTER_ORDER.includes(name))
      .sort(),
  ];
  out.push(`Counters: ${names.length === 0 ? '(none)' : names.map((name) => `${name} ${snapshot.counters[name]}`).join('  ')}`);
  const follower = snapshot.follower;
  out.push(follower ? `Follower: ${escapeCell(follower.path)} at offset ${follower.offset} (${follower.lagBytes} bytes behind)` : 'Follower: none');
  return out.join('\n');
}

function untilCell(until: string | null, now: number): Cell {
  if (until === null) return { text: 'until closed' };
  const left = Date.parse(until) - now;
  if (Number.isNaN(left)) return { text: until };
  return left >= 0 ? { text: `${formatTime(until)} (in ${formatLength(left)})` } : { text: `${formatTime(until)} (overdue ${formatLength(-left)})`, tone: 'red' };
}
