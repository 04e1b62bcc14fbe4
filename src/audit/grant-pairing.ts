import type { CloseReason } from '../model/grant.js';
import type { AuditRecord } from './record.js';

// Open, refresh and close records of one door × source folded into grant rows.
// Only grants still open are held, so memory follows concurrent grants, not log size.
export type GrantOutcome = CloseReason | 'still-open' | 'reopened' | 'expired-unclosed';

export interface GrantRow {
  readonly door: string;
  readonly src: string;
  readonly ports: readonly string[];
  /** ISO time, or null when the open record is older than the oldest log kept. */
  readonly opened: string | null;
  /** ISO time of the close, or null while still open. */
  readonly closed: string | null;
  /** The last promised end (null for until-closed or unknown). */
  readonly until: string | null;
  readonly refreshes: number;
  /**
   * How it ended; `reopened` when a new open came without a close record in between,
   * `expired-unclosed` when its end has passed and no close record was written.
   */
  readonly outcome: GrantOutcome;
  readonly by?: 'knock' | 'spa' | 'manual' | 'fleet';
  /** The fleet member, for rows from the fleet's audit stream. */
  readonly host?: string;
}

interface Pending {
  door: string;
  src: string;
  ports: readonly string[];
  opened: string | null;
  until: string | null;
  refreshes: number;
  by?: 'knock' | 'spa' | 'manual' | 'fleet';
  host?: string;
}

export class GrantPairer {
  private readonly open = new Map<string, Pending>();

  /** Feeds one record; returns the rows it completed (zero, one, or two). */
  add(record: AuditRecord): GrantRow[] {
    // Fleet records pair per member: the same grant is open on each host separately.
    const key = `${record.host ?? ''}\u0000${record.door}\u0000${record.src}`;
    const held = this.open.get(key);
    switch (record.event) {
      case 'open': {
        const done: GrantRow[] = held ? [finish(held, record.at, 'reopened')] : [];
        this.open.set(key, {
          door: record.door,
          src: record.src,
          ports: record.ports,
          opened: record.at,
          until: record.until,
          refreshes: 0,
          ...(record.by ? { by: record.by } : {}),
          ...hostOf(record),
        });
        return done;
      }
      case 'refresh': {
        if (held) {
          held.until = record.until;
          held.refreshes++;
        } else {
          // The open is in a log that is gone; the grant is known from here on.
          this.open.set(key, {
            door: record.door,
            src: record.src,
            ports: record.ports,
            opened: null,
            until: record.until,
            refreshes: 1,
            ...hostOf(record),
          });
        }
        return [];
      }
      case 'close': {
        this.open.delete(key);
        const pending = held ?? {
          door: record.door,
          src: record.src,
          ports: record.ports ?? [],
          opened: null,
          until: null,
          refreshes: 0,
          ...hostOf(record),
        };
        return [finish(pending, record.at, record.reason)];
      }
      default:
        return [];
    }
  }

  /** The grants with no close record yet, oldest open first. */
  finish(): GrantRow[] {
    const rows = [...this.open.values()].map((pending) => finish(pending, null, 'still-open'));
    this.open.clear();
    return rows;
  }
}

function finish(pending: Pending, closed: string | null, outcome: GrantOutcome): GrantRow {
  return {
    door: pending.door,
    src: pending.src,
    ports: pending.ports,
    opened: pending.opened,
    closed,
    until: pending.until,
    refreshes: pending.refreshes,
    outcome,
    ...(pending.by ? { by: pending.by } : {}),
    ...(pending.host === undefined ? {} : { host: pending.host }),
  };
}

const hostOf = (record: AuditRecord): { host?: string } => (record.host === undefined ? {} : { host: record.host });

// A grant with no close record whose promised end has passed is not "still open": the daemon
// was stopped, crashed or lost its log before writing the close. Pairing knows no clock, so
// the caller settles the rows left open at the end of the scan against its `now`.
export function settleOpenRow(row: GrantRow, now: number): GrantRow {
  if (row.outcome !== 'still-open' || row.until === null) return row;
  const until = Date.parse(row.until);
  return Number.isFinite(until) && until <= now ? { ...row, outcome: 'expired-unclosed' } : row;
}

/** Milliseconds a grant was (or, while open, has been) open; undefined when its start is unknown. An unclosed expired grant counts to its end. */
export function grantLength(row: GrantRow, now: number): number | undefined {
  if (row.opened === null) return undefined;
  const end =
    row.closed !== null
      ? Date.parse(row.closed)
      : row.outcome === 'expired-unclosed' && row.until !== null
        ? Date.parse(row.until)
        : now;
  const length = end - Date.parse(row.opened);
  return Number.isFinite(length) ? Math.max(0, length) : undefined;
}
