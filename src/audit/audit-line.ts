import type { AuditRecord } from './record.js';

// One record as one line of JSON: event, at, door, src first (so a person and `grep`
// read the same order every time), then the record's other fields as given.
const LEADING = ['event', 'at', 'door', 'src'] as const;

export function formatAuditLine(record: AuditRecord, backend?: string): string {
  const ordered: Record<string, unknown> = {};
  for (const key of LEADING) ordered[key] = record[key];
  for (const [key, value] of Object.entries(record)) {
    if (!(key in ordered)) ordered[key] = value;
  }
  if (backend !== undefined && !('backend' in ordered)) ordered['backend'] = backend;
  return `${JSON.stringify(ordered)}\n`;
}
