import type { ChunkSource } from '../source/chunk-source.js';
import { createKeyMatcher, createRecordMatcher, type AuditFilter } from './audit-filter.js';
import { readAuditRecords, type ReadStats } from './audit-records.js';
import { GrantPairer, type GrantRow } from './grant-pairing.js';
import type { AuditRecord } from './record.js';

// One streaming pass over the audit trail: the records the filter selects, and the grant
// rows (paired over every record of the selected doors/sources, so a grant opened before
// --since still shows its close) whose lifetime overlaps the time window.
export type AuditItem = { readonly kind: 'record'; readonly record: AuditRecord } | { readonly kind: 'grant'; readonly row: GrantRow };

export async function* queryAudit(source: ChunkSource, filter: AuditFilter, stats: ReadStats, signal?: AbortSignal): AsyncGenerator<AuditItem> {
  const matchRecord = createRecordMatcher(filter);
  const matchKey = createKeyMatcher(filter);
  const pairer = new GrantPairer();
  for await (const record of readAuditRecords(source, stats, signal)) {
    if (matchRecord(record)) yield { kind: 'record', record };
    if (record.event !== 'open' && record.event !== 'refresh' && record.event !== 'close') continue;
    if (!matchKey(record)) continue;
    for (const row of pairer.add(record)) if (overlapsWindow(filter, row)) yield { kind: 'grant', row };
  }
  for (const row of pairer.finish()) if (overlapsWindow(filter, row)) yield { kind: 'grant', row };
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
