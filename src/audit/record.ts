import type { CloseReason } from '../model/grant.js';

// Audit records: one JSON object per line, the same field names as `replay --json`.
interface Base {
  /** ISO-8601 UTC with milliseconds. */
  readonly at: string;
  readonly door: string;
  readonly src: string;
  /** The fleet member that wrote it (records read from the fleet's audit stream only). */
  readonly host?: string;
}

export interface OpenRecord extends Base {
  readonly event: 'open' | 'refresh';
  readonly ports: readonly string[];
  /** ISO time, or null for until-closed. */
  readonly until: string | null;
  /** 'knock', 'spa' (a single packet authorization), 'manual' (knocktail grant) or 'fleet' (applied for another member of the fleet group). */
  readonly by?: 'knock' | 'spa' | 'manual' | 'fleet';
  /** SPA grants: the ports the packet asked for (within the door's `open`). */
  readonly requested?: readonly string[];
  /** SPA grants: the timeout the client asked for, seconds (the grant lasts at most the door's openFor). */
  readonly clientTimeout?: number;
}

export interface CloseRecord extends Base {
  readonly event: 'close';
  readonly reason: CloseReason;
  readonly ports?: readonly string[];
}

export interface RejectRecord extends Base {
  readonly event: 'reject';
  /** not-allowed (allowFrom), scanner (completed while marked), tripwire (a tripwire hit marked the source), one-time-reused, time-based-reused, grant-limit (maxGrants reached), ... */
  readonly reason: string;
}

/**
 * Rejects past the per-door burst of one window, counted instead of written one by one:
 * "suppressed `suppressed` rejects from `sources` sources" between `from` and `at` (src is '').
 * `refresh-summary`: the same for refreshes coalesced into their grant's last applied one
 * (reasons is `{ refresh: n }`).
 */
export interface RejectSummaryRecord extends Base {
  readonly event: 'reject-summary' | 'refresh-summary';
  /** Start of the window (ISO); `at` is its end. */
  readonly from: string;
  readonly suppressed: number;
  /** Distinct sources among the suppressed rejects (exact up to 65,536; then `sourcesCapped`). */
  readonly sources: number;
  readonly sourcesCapped?: boolean;
  /** Suppressed rejects by reason. */
  readonly reasons: Readonly<Record<string, number>>;
}

export interface FirewallRecord extends Base {
  readonly event: 'firewall-error' | 'firewall-repair';
  readonly action: string;
  readonly command?: readonly string[];
  readonly error?: string;
  readonly attempt?: number;
}

/** The state file could not be read or made no sense: moved aside, the daemon started with no grants (door and src are ''). */
export interface StateCorruptRecord extends Base {
  readonly event: 'state-corrupt';
  readonly file: string;
  /** Where the bad file went ('' when it could not be moved). */
  readonly movedTo: string;
  readonly error: string;
}

/** A closed grant's source lost its connections to the door's ports (`endSessions`, `revoke --end-sessions`). */
export interface SessionsRecord extends Base {
  readonly event: 'sessions-ended';
  readonly ports: readonly string[];
  /** Connection-tracking entries deleted (each a connection, or one direction of a UDP flow). */
  readonly ended: number;
  readonly command: readonly (readonly string[])[];
  /** What failed, per port; absent when everything went through. */
  readonly errors?: readonly string[];
}

export type AuditRecord =
  OpenRecord | CloseRecord | RejectRecord | RejectSummaryRecord | FirewallRecord | StateCorruptRecord | SessionsRecord;

export interface AuditSink {
  write(record: AuditRecord): Promise<void>;
  close(): Promise<void>;
}

// Records' times (`at`, `until`): ISO-8601 UTC with milliseconds (src/model/iso-time.ts, no Date per call).
export { isoTime } from '../model/iso-time.js';
