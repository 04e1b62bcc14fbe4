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

export async function scanAudit(source: ChunkSource, filter: AuditFilter, stats: ReadStats, handlers: AuditHandlers, signal?: AbortSignal): Promise<void> {
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
  if (filter.since !== undefined && row.closed !== null && row.closed < filter.since) return false;
  return true;
}

/** Grant rows in the order a person reads them: by opening time, unknown starts first. */
export function sortGrantRows(rows: GrantRow[]): GrantRow[] {
  return rows.sort((a, b) => compareNullable(a.opened, b.opened) || compareNullable(a.closed, b.closed));
}

function compareNullable(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}
