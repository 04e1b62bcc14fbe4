import type { NatsConnection } from '@nats-io/transport-node';
import type { AuditRecord } from '../audit/record.js';
import { formatLength, formatTime } from '../audit/audit-table.js';
import { escapeCell, paint, renderColumns, type Cell } from '../audit/text-table.js';
import type { FleetConfig } from '../config/types.js';
import type { ChunkSource } from '../source/chunk-source.js';
import { GRANT_PREFIX, MEMBER_PREFIX, parseGrantEntryKey } from './fleet-keys.js';
import type { FleetEntry } from './fleet-transport.js';
import { verifyEnvelope } from './message-signing.js';
import { jetstreamManager } from '@nats-io/jetstream';
import { listKeys, openFleetBucket, readAuditStream } from './nats-transport.js';

// The group seen from one place, straight from NATS (no daemon needed): `status --fleet`
// (members' heartbeats and the group's open grants) and `audit --fleet` (every member's
// records). Everything shown is verified with the group key first; what fails is counted.
export interface FleetMemberView {
  readonly host: string;
  readonly version: string;
  /** When the servers stored its last heartbeat (ISO). */
  readonly lastSeen: string;
  /** Heard from within three heartbeat intervals. */
  readonly alive: boolean;
  readonly clockOffset: number | null;
  readonly accepting: boolean;
  readonly doors: readonly string[];
}

export interface FleetGrantView {
  readonly door: string;
  readonly src: string;
  readonly until: string;
  /** The member whose knock, grant or refresh it came from. */
  readonly origin: string;
  readonly at: string;
}

export interface FleetStatusView {
  readonly group: string;
  readonly members: FleetMemberView[];
  readonly grants: FleetGrantView[];
  /** Entries of the bucket that failed verification (forged, corrupt, another key). */
  readonly unverified: number;
}

/** Builds the view from the bucket's entries (pure; `now` is the reader's clock). */
export function buildFleetStatus(fleet: FleetConfig, entries: readonly FleetEntry[], now: number): FleetStatusView {
  const members: FleetMemberView[] = [];
  const grants: FleetGrantView[] = [];
  let unverified = 0;
  for (const entry of entries) {
    if (entry.operation !== 'PUT') continue;
    const verified = verifyEnvelope(entry.value, {
      key: fleet.key,
      group: fleet.group,
      now,
      maxSkew: fleet.maxClockSkew,
      ignoreExpiry: true,
    });
    if (!verified.ok) {
      unverified += 1;
      continue;
    }
    const { envelope } = verified;
    if (
      entry.key.startsWith(MEMBER_PREFIX) &&
      envelope.type === 'heartbeat' &&
      entry.key === `${MEMBER_PREFIX}${envelope.host}`
    ) {
      members.push({
        host: envelope.host,
        version: envelope.body.version,
        lastSeen: new Date(entry.created).toISOString(),
        alive: now - entry.created <= 3 * fleet.heartbeatInterval,
        clockOffset: envelope.body.clockOffset,
        accepting: envelope.body.accepting,
        doors: envelope.body.doors,
      });
    } else if (
      entry.key.startsWith(GRANT_PREFIX) &&
      envelope.type === 'grant' &&
      envelope.body.action === 'open' &&
      envelope.body.until > now
    ) {
      const named = parseGrantEntryKey(entry.key);
      if (named?.door !== envelope.body.door || named.src !== envelope.body.src) {
        unverified += 1;
        continue;
      }
      grants.push({
        door: envelope.body.door,
        src: envelope.body.src,
        until: new Date(envelope.body.until).toISOString(),
        origin: envelope.host,
        at: new Date(envelope.iat).toISOString(),
      });
    }
  }
  members.sort((a, b) => (a.host < b.host ? -1 : 1));
  grants.sort((a, b) => (a.at < b.at ? -1 : 1));
  return { group: fleet.group, members, grants, unverified };
}

export async function readFleetStatus(
  nc: NatsConnection,
  fleet: FleetConfig,
  now: () => number,
): Promise<FleetStatusView> {
  const kv = await openFleetBucket(nc, fleet);
  const entries: FleetEntry[] = [];
  const keys = await listKeys(await jetstreamManager(nc, { timeout: 10_000 }), fleet.group, '');
  for (const key of keys) {
    const entry = await kv.get(key);
    if (entry)
      entries.push({
        key: entry.key,
        value: entry.value,
        revision: entry.revision,
        created: entry.created.getTime(),
        operation: entry.operation,
      });
  }
  return buildFleetStatus(fleet, entries, now());
}

export function renderFleetStatus(view: FleetStatusView, options: { color: boolean; now: number }): string {
  const { color, now } = options;
  const out: string[] = [
    paint(
      `Fleet ${escapeCell(view.group)}: ${view.members.length} member${view.members.length === 1 ? '' : 's'}`,
      'bold',
      color,
    ),
  ];
  out.push(
    ...renderColumns(
      [
        { header: 'HOST' },
        { header: 'STATE' },
        { header: 'LAST SEEN (UTC)' },
        { header: 'VERSION' },
        { header: 'CLOCK OFFSET', align: 'right' },
        { header: 'FLEET DOORS' },
      ],
      view.members.map((member): Cell[] => [
        { text: member.host },
        member.alive
          ? member.accepting
            ? { text: 'up', tone: 'green' }
            : { text: 'REFUSING (clock)', tone: 'red' }
          : { text: `silent ${formatLength(Math.max(0, now - Date.parse(member.lastSeen)))}`, tone: 'yellow' },
        { text: formatTime(member.lastSeen) },
        { text: member.version },
        { text: member.clockOffset === null ? '?' : `${member.clockOffset} ms` },
        { text: member.doors.join(',') || '-' },
      ]),
      color,
    ),
  );
  out.push('');
  if (view.grants.length === 0) out.push('Open fleet grants: none');
  else {
    out.push(paint(`Open fleet grants (${view.grants.length})`, 'bold', color));
    out.push(
      ...renderColumns(
        [
          { header: 'SOURCE' },
          { header: 'DOOR' },
          { header: 'FROM' },
          { header: 'SINCE (UTC)' },
          { header: 'UNTIL (UTC)' },
        ],
        view.grants.map((grant): Cell[] => [
          { text: grant.src },
          { text: grant.door },
          { text: grant.origin },
          { text: formatTime(grant.at) },
          { text: formatTime(grant.until) },
        ]),
        color,
      ),
    );
  }
  if (view.unverified > 0)
    out.push(
      '',
      paint(
        `!!! ${view.unverified} bucket entr${view.unverified === 1 ? 'y' : 'ies'} failed verification with the group key (forged or from another key)`,
        'red',
        color,
      ),
    );
  return out.join('\n');
}

/** The group's audit stream as audit-log lines (each record with its `host`), verified; counts what fails. */
export function fleetAuditSource(
  nc: NatsConnection,
  fleet: FleetConfig,
  since: number | undefined,
  stats: { unverified: number },
): ChunkSource {
  return {
    async *chunks() {
      let lines: string[] = [];
      for await (const data of readAuditStream(nc, fleet, since)) {
        const verified = verifyEnvelope(data, {
          key: fleet.key,
          group: fleet.group,
          now: Date.now(),
          maxSkew: Number.MAX_SAFE_INTEGER,
          ignoreExpiry: true,
        });
        if (!verified.ok || verified.envelope.type !== 'audit') {
          stats.unverified += 1;
          continue;
        }
        const record: AuditRecord = { ...verified.envelope.body.record, host: verified.envelope.host };
        lines.push(JSON.stringify(record));
        if (lines.length >= 1000) {
          yield Buffer.from(`${lines.join('\n')}\n`);
          lines = [];
        }
      }
      if (lines.length > 0) yield Buffer.from(`${lines.join('\n')}\n`);
    },
  };
}
