import type { ChunkSource } from '../source/chunk-source.js';
import { createKeyMatcher, createRecordMatcher, type AuditFilter } from './audit-filter.js';
import { readAuditRecords, type ReadStats } from './audit-records.js';
import { GrantPairer, type GrantRow } from './grant-pairing.js';
import type { AuditRecord } from './record.js';

// One streaming pass over the audit trail: the records the filter selects, and the grant
// rows (paired over every record of the selected doors/sources, so a grant opened before
// --since still shows its close) whose lifetime overlaps the time window. Results go to
// callbacks; without a `grant` callback no pairing is done.
export interface AuditHandlers {
  /** `line` is the record's line as it is in the file. */
  record?(record: AuditRecord, line: string): void;
  grant?(row: GrantRow): void;
  /** Awaited after each chunk: where a consumer writes out what it gathered and waits for drain. */
  chunkDone?(): Promise<void> | void;
}

export async function scanAudit(
  source: ChunkSource,
  filter: AuditFilter,
  stats: ReadStats,
  handlers: AuditHandlers,
  signal?: AbortSignal,
): Promise<void> {
  const matchRecord = createRecordMatcher(filter);
  const matchKey = createKeyMatcher(filter);
  const pairer = handlers.grant ? new GrantPairer() : undefined;
  const emit = (rows: GrantRow[]): void => {
    for (const row of rows) if (overlapsWindow(filter, row)) handlers.grant!(row);
  };
  for await (const { records, lines } of readAuditRecords(source, stats, signal)) {
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      if (handlers.record && matchRecord(record)) handlers.record(record, lines[i]!);
      if (!pairer || (record.event !== 'open' && record.event !== 'refresh' && record.event !== 'close')) continue;
      if (matchKey(record)) emit(pairer.add(record));
    }
    await handlers.chunkDone?.();
  }
  if (pairer) emit(pairer.finish());
}

/** Whether a grant was open at any time in [since, until]. */
export function overlapsWindow(filter: AuditFilter, row: GrantRow): boolean {
  if (filter.until !== undefined && row.opened !== null && row.opened > filter.until) return false;
  const end = grantEnd(row);
  if (filter.since !== undefined && end !== null && end < filter.since) return false;
  return true;
}

/**
 * When a grant really ended (ISO), or null while it may still be open. Without a close record
 * the kernel rule still expired at `until` (a stopped daemon writes no close), and a grant
 * opened again without a close in between ended at its `until` if that came first.
 */
export function grantEnd(row: GrantRow): string | null {
  if (row.closed === null) return row.until;
  return row.outcome === 'reopened' && row.until !== null && row.until < row.closed ? row.until : row.closed;
}

/** Grant rows in the order a person reads them: by opening time (unknown starts first), then closing (still open last). */
export function sortGrantRows(rows: GrantRow[]): GrantRow[] {
  return rows.sort((a, b) => compareTimes(a.opened, b.opened, -1) || compareTimes(a.closed, b.closed, 1));
}

/** ISO times compare as strings; `nullOrder` says where null goes (-1 first, 1 last). */
function compareTimes(a: string | null, b: string | null, nullOrder: -1 | 1): number {
  if (a === b) return 0;
  if (a === null) return nullOrder;
  if (b === null) return -nullOrder;
  return a < b ? -1 : 1;
}
