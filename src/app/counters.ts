import type { AuditRecord } from '../audit/record.js';

// What the daemon and replay count; the replay summary and `status` print these.
export interface Counters {
  lines: number;
  packets: number;
  knocks: number;
  opens: number;
  refreshes: number;
  closes: number;
  rejected: number;
  malformed: number;
  ignored: number;
  /** Lines with the prefix from a userspace program (never packets). */
  forged: number;
  /** Kernel packets that are not this host's INPUT traffic (OUT= set, no IN=, DST= not ours): never knocks. */
  foreign: number;
  /** Lines longer than MAX_LINE_BYTES, dropped whole by the reader (in `lines`, never parsed). */
  oversized: number;
  /** Lines whose processing threw (a bug): counted, logged, skipped. */
  errors: number;
  firewallFailures: number;
  /** SPA doors only: spaPackets, spaAccepted and `spaRefused.<reason>` (bad-hmac, stale, replayed, ...), present once counted. */
  [spa: `spa${string}`]: number;
}

export function createCounters(): Counters {
  return {
    lines: 0,
    packets: 0,
    knocks: 0,
    opens: 0,
    refreshes: 0,
    closes: 0,
    rejected: 0,
    malformed: 0,
    ignored: 0,
    forged: 0,
    foreign: 0,
    oversized: 0,
    errors: 0,
    firewallFailures: 0,
  };
}

/** Count one audit record (the grant engine reports every record it writes); rejects are counted one by one through countReject, since the audit log summarises them. */
export function countRecord(counters: Counters, record: AuditRecord): void {
  switch (record.event) {
    case 'open':
      counters.opens += 1;
      break;
    case 'refresh':
      counters.refreshes += 1;
      break;
    case 'close':
      counters.closes += 1;
      break;
    case 'firewall-error':
      counters.firewallFailures += 1;
      break;
    default:
      break;
  }
}

/** Count one reject, whether the audit log wrote it in full or only in a `reject-summary`. */
export function countReject(counters: Counters): void {
  counters.rejected += 1;
}
