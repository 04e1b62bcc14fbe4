import type { FleetLinkStatus } from '../fleet/fleet-link.js';
import type { Grant } from '../model/grant.js';
import { formatPort } from '../model/door.js';
import { formatLength, formatTime } from './time-text.js';
import { escapeCell, paint, renderColumns, type Cell } from './text-table.js';
import { describeRefusal } from '../firewall/refusal.js';

// What `knocktail status` shows: the daemon builds the snapshot, this renders it for people.
export interface StatusSnapshot {
  /** ISO time the daemon started; '' when no daemon answered (grants from the state file). */
  startedAt: string;
  backend: string;
  backendHealthy: boolean;
  grants: { door: string; src: string; ports: string[]; openedAt: string; until: string | null }[];
  trackedSources: number;
  /** Sources marked as scanners now (a tripwire hit within limits.scannerHold); absent without a daemon. */
  scanners?: number;
  /** Sources part-way through a sequence, newest first, capped (`total` counts them all); absent without a daemon. */
  inProgress?: { total: number; sources: ProgressRow[] };
  /** lines, packets, malformed, ignored, foreign, oversized, knocks, opens, refreshes, closes, rejected, firewallFailures */
  counters: Record<string, number>;
  follower?: { path: string; offset: number; lagBytes: number };
  pendingCloses: { door: string; src: string; attempts: number; lastError: string }[];
  /** limits.alwaysAllow: sources the guard never blocks on the protected ports. */
  alwaysAllow?: string[];
  /** The state file was unusable at start (or, without a daemon, a moved-aside one was found). */
  stateRecovery?: { at: string; movedTo: string; error: string };
  /** Present when this member is in a fleet group and has reached it once. */
  fleet?: FleetLinkStatus;
  /** What the guard answers refused packets (knock, tripwire and protected ports) and why; absent before setup. */
  refusal?: { refusal: 'reject' | 'drop'; reason: string };
  /** Protected ports published by DNAT and how they are guarded (the DNAT probe's lines); absent when not probed. */
  forward?: string[];
  /** The canary's verdict at the daemon's start (src/canary/arm-guard.ts describeLogPath). */
  logPath?: string;
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

const COUNTER_ORDER = [
  'lines',
  'packets',
  'malformed',
  'ignored',
  'foreign',
  'oversized',
  'knocks',
  'opens',
  'refreshes',
  'closes',
  'rejected',
  'firewallFailures',
];

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
  const recovery = snapshot.stateRecovery;
  if (recovery) {
    out.push(
      paint(
        `!!! STATE FILE WAS CORRUPT${recovery.at ? ` (${formatTime(recovery.at)} UTC)` : ''}: ${escapeCell(recovery.error)}; ${recovery.movedTo ? `moved to ${escapeCell(recovery.movedTo)}` : 'it could not be moved aside'}; started with no grants and removed every knocktail rule found`,
        'red',
        color,
      ),
      '',
    );
  }
  const started = Date.parse(snapshot.startedAt);
  const health = snapshot.backendHealthy ? paint('healthy', 'green', color) : paint('UNHEALTHY', 'red', color);
  out.push(
    `${Number.isNaN(started) ? 'daemon: not running' : `up ${formatLength(Math.max(0, now - started))} (since ${formatTime(snapshot.startedAt)} UTC)`}   backend ${escapeCell(snapshot.backend)}: ${health}`,
  );
  if (snapshot.fleet) out.push(fleetLine(snapshot.fleet, color));
  if (snapshot.logPath) out.push(escapeCell(snapshot.logPath));
  out.push('');
  if (snapshot.grants.length === 0) {
    out.push('Open grants: none');
  } else {
    out.push(paint(`Open grants (${snapshot.grants.length})`, 'bold', color));
    const grants = [...snapshot.grants].sort((a, b) =>
      a.openedAt < b.openedAt ? -1 : a.openedAt > b.openedAt ? 1 : 0,
    );
    out.push(
      ...renderColumns(
        [
          { header: 'SOURCE' },
          { header: 'DOOR' },
          { header: 'PORTS' },
          { header: 'OPENED (UTC)' },
          { header: 'UNTIL (UTC)' },
        ],
        grants.map((grant): Cell[] => [
          { text: grant.src },
          { text: grant.door },
          { text: grant.ports.join(',') },
          { text: formatTime(grant.openedAt) },
          untilCell(grant.until, now),
        ]),
        color,
      ),
    );
  }
  if (snapshot.alwaysAllow !== undefined) {
    out.push(
      '',
      `Always allowed (limits.alwaysAllow, never blocked on protected ports): ${snapshot.alwaysAllow.length === 0 ? 'none' : snapshot.alwaysAllow.map(escapeCell).join(' ')}`,
    );
  }
  if (snapshot.refusal) out.push('', `Guard ${describeRefusal(snapshot.refusal)}`);
  if (snapshot.forward) out.push('', ...snapshot.forward.map((line) => `Guard ${escapeCell(line)}`));
  out.push(
    '',
    `Tracked sources: ${snapshot.trackedSources}${snapshot.scanners === undefined ? '' : `, scanners marked: ${snapshot.scanners}`}`,
  );
  const names = [
    ...COUNTER_ORDER.filter((name) => name in snapshot.counters),
    ...Object.keys(snapshot.counters)
      .filter((name) => !COUNTER_ORDER.includes(name))
      .sort(),
  ];
  out.push(
    `Counters: ${names.length === 0 ? '(none)' : names.map((name) => `${name} ${snapshot.counters[name]}`).join('  ')}`,
  );
  const follower = snapshot.follower;
  out.push(
    follower
      ? `Follower: ${escapeCell(follower.path)} at offset ${follower.offset} (${follower.lagBytes} bytes behind)`
      : 'Follower: none',
  );
  out.push(...progressLines(snapshot, { color, now }));
  return out.join('\n');
}

function untilCell(until: string | null, now: number): Cell {
  if (until === null) return { text: 'until closed' };
  const left = Date.parse(until) - now;
  if (Number.isNaN(left)) return { text: until };
  return left >= 0
    ? { text: `${formatTime(until)} (in ${formatLength(left)})` }
    : { text: `${formatTime(until)} (overdue ${formatLength(-left)})`, tone: 'red' };
}

/** A source part-way through a door's open (or close) sequence; `since` is the ISO time of its first knock. */
export interface ProgressRow {
  src: string;
  door: string;
  sequence: 'open' | 'close';
  step: number;
  of: number;
  since: string;
}

/** The tracker's mid-sequence sources (epoch-ms times) as the snapshot carries them. */
export function progressSnapshot(progress: {
  total: number;
  sources: readonly (Omit<ProgressRow, 'since'> & { since: number })[];
}): { total: number; sources: ProgressRow[] } {
  return {
    total: progress.total,
    sources: progress.sources.map((source) => ({ ...source, since: new Date(source.since).toISOString() })),
  };
}

/** How many mid-sequence sources the daemon puts in a status snapshot. */
export const STATUS_PROGRESS_CAP = 20;

function progressLines(snapshot: StatusSnapshot, options: { color: boolean; now: number }): string[] {
  const progress = snapshot.inProgress;
  if (!progress || progress.total === 0) return [];
  const rows = progress.sources.map((source): Cell[] => [
    { text: source.src },
    { text: source.sequence === 'close' ? `${source.door} (close)` : source.door },
    { text: `${source.step} of ${source.of}` },
    { text: `${formatTime(source.since)} (${formatLength(Math.max(0, options.now - Date.parse(source.since)))} ago)` },
  ]);
  const more = progress.total - progress.sources.length;
  return [
    '',
    paint(`Mid-sequence (${progress.total})`, 'bold', options.color),
    ...renderColumns(
      [{ header: 'SOURCE' }, { header: 'DOOR' }, { header: 'STEP' }, { header: 'SINCE (UTC)' }],
      rows,
      options.color,
    ),
    ...(more > 0
      ? [`… and ${more.toLocaleString('en-US')} more; \`--json\` for the first ${progress.sources.length}`]
      : []),
  ];
}

/** One line on the fleet link: reachable, accepting (or why not), clock offset, traffic, refusals. */
export function fleetLine(fleet: FleetLinkStatus, color: boolean): string {
  const refused = Object.values(fleet.rejected).reduce((sum, count) => sum + count, 0);
  const offset = fleet.clockOffset === null ? 'not measured' : `${fleet.clockOffset} ms`;
  const state = fleet.duplicateName
    ? paint(
        `DUPLICATE NAME: another member is also "${escapeCell(fleet.host)}" and the two ignore each other's changes; give each its own fleet.host`,
        'red',
        color,
      )
    : !fleet.connected
      ? paint('DISCONNECTED (local doors and expiry go on)', 'yellow', color)
      : fleet.accepting
        ? paint('connected', 'green', color)
        : paint('REFUSING fleet grants (clock off)', 'red', color);
  const details = [
    `clock offset ${offset}`,
    `published ${fleet.published}`,
    `applied ${fleet.applied}`,
    `refused ${refused}`,
    ...(fleet.outbox > 0 ? [`waiting ${fleet.outbox}`] : []),
  ];
  return `fleet ${escapeCell(fleet.group)} as ${escapeCell(fleet.host)}: ${state}   ${details.join(', ')}`;
}
