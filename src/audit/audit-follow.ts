import { FileFollower, type FileFollowerOptions } from '../source/follower.js';
import { readLogFiles } from '../source/file-reader.js';
import { createRecordMatcher, type AuditFilter } from './audit-filter.js';
import { listAuditFiles } from './audit-files.js';
import { readAuditRecords, type ReadStats } from './audit-records.js';
import type { AuditRecord } from './record.js';

export interface FollowAuditOptions {
  readonly path: string;
  readonly filter: AuditFilter;
  readonly stats: ReadStats;
  readonly signal: AbortSignal;
  readonly onRecord: (record: AuditRecord) => void;
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
  const emit = (record: AuditRecord): void => {
    if (match(record)) options.onRecord(record);
  };
  if (options.history) {
    const rotated = (await listAuditFiles(options.path)).filter((path) => path !== options.path);
    for await (const record of readAuditRecords(readLogFiles(rotated), options.stats, options.signal)) emit(record);
  }
  const follower = new FileFollower({ ...options.follower, path: options.path, startAt: options.history ? 'start' : 'end' });
  for await (const record of readAuditRecords(follower, options.stats, options.signal)) emit(record);
}
