import type { ChunkSource } from '../source/chunk-source.js';
import type { AuditRecord } from './record.js';
import { isRecord } from '../model/is-record.js';

// Turns chunks of audit-log lines into records; a line that is not a JSON object with
// string event/at/door/src is counted as malformed and skipped, never fatal.
export interface ReadStats {
  lines: number;
  records: number;
  malformed: number;
}

export function createReadStats(): ReadStats {
  return { lines: 0, records: 0, malformed: 0 };
}

/** The records of one chunk, and the line each came from (same index), for output as written. */
export interface AuditBatch {
  readonly records: AuditRecord[];
  readonly lines: string[];
}

/** Records chunk by chunk (one batch per chunk: per-record async steps would cost more than parsing). */
export async function* readAuditRecords(
  source: ChunkSource,
  stats: ReadStats,
  signal?: AbortSignal,
): AsyncGenerator<AuditBatch> {
  for await (const chunk of source.chunks(signal)) yield parseAuditChunk(chunk, stats);
}

export function parseAuditChunk(chunk: Buffer, stats: ReadStats): AuditBatch {
  const records: AuditRecord[] = [];
  const lines: string[] = [];
  const text = chunk.toString('utf8');
  let start = 0;
  for (;;) {
    const end = text.indexOf('\n', start);
    if (end === -1) break;
    const line = text.slice(start, end);
    start = end + 1;
    if (line.length === 0 || (line.length < 3 && line.trim() === '')) continue;
    stats.lines++;
    const record = parseAuditLine(line);
    if (record) {
      stats.records++;
      records.push(record);
      lines.push(line);
    } else {
      stats.malformed++;
    }
  }
  return { records, lines };
}

export function parseAuditLine(line: string): AuditRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!isRecord(value)) return undefined;
  if (
    typeof value['event'] !== 'string' ||
    typeof value['at'] !== 'string' ||
    typeof value['door'] !== 'string' ||
    typeof value['src'] !== 'string'
  )
    return undefined;
  return value as unknown as AuditRecord;
}
