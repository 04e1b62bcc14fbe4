import { FileFollower, type FileFollowerOptions } from '../source/follower.js';
import { readLogFiles } from '../source/file-reader.js';
import { createRecordMatcher, type AuditFilter } from './audit-filter.js';
import { listAuditFiles } from './audit-files.js';
import { readAuditRecords, type AuditBatch, type ReadStats } from './audit-records.js';
import type { AuditRecord } from './record.js';

export interface FollowAuditOptions {
  readonly path: string;
  readonly filter: AuditFilter;
  readonly stats: ReadStats;
  readonly signal: AbortSignal;
  /** `line` is the record's line as written. */
  readonly onRecord: (record: AuditRecord, line: string) => void;
  /** Also print what is already there: the rotated files, then the live file from its start. */
  readonly history: boolean;
  /** Follower tuning for tests; the defaults suit a person watching. */
  readonly follower?: Pick<FileFollowerOptions, 'pollIntervalMs' | 'rotateGraceMs' | 'onEvent'>;
}

// `knocktail audit --follow`: matching records as they are written, across rotations,
// until the signal aborts. With history, the rotated files are read first and the live
// file is followed from its start, so nothing falls between the two.
export async function followAudit(options: FollowAuditOptions): Promise<void> {
  const match = createRecordMatcher(options.filter);
  const emit = ({ records, lines }: AuditBatch): void => {
    records.forEach((record, i) => {
      if (match(record)) options.onRecord(record, lines[i]!);
    });
  };
  if (options.history) {
    const rotated = (await listAuditFiles(options.path)).filter((path) => path !== options.path);
    for await (const batch of readAuditRecords(readLogFiles(rotated), options.stats, options.signal)) emit(batch);
  }
  const follower = new FileFollower({
    ...options.follower,
    path: options.path,
    startAt: options.history ? 'start' : 'end',
  });
  for await (const batch of readAuditRecords(follower, options.stats, options.signal)) emit(batch);
}
