import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { followAudit } from '../../src/audit/audit-follow.js';
import { buildAuditFilter } from '../../src/audit/audit-filter.js';
import { createReadStats } from '../../src/audit/audit-records.js';
import type { AuditRecord } from '../../src/audit/record.js';
import { FIXTURE_RECORDS, NOW } from './fixture-records.js';
import { sleep } from '../support/helpers.js';

const FAST = { pollIntervalMs: 20, rotateGraceMs: 100 };
const line = (index: number): string => `${JSON.stringify(FIXTURE_RECORDS[index])}\n`;
describe('followAudit', () => {
  let dir: string;
  let path: string;
  let controller: AbortController;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'knocktail-audit-follow-'));
    path = join(dir, 'audit.log');
    controller = new AbortController();
  });
  afterEach(() => {
    controller.abort();
    rmSync(dir, { recursive: true, force: true });
  });

  async function waitFor(seen: AuditRecord[], count: number): Promise<void> {
    for (let waited = 0; seen.length < count; waited += 5) {
      if (waited > 3000) throw new Error(`expected ${count} records, got ${seen.length}`);
      await sleep(5);
    }
  }

  test('with history: rotated files, then the live file, then new records across a rename rotation', async () => {
    writeFileSync(`${path}.2.gz`, gzipSync(line(0) + line(1)));
    writeFileSync(`${path}.1`, line(2) + line(3));
    writeFileSync(path, line(4) + 'not json\n');
    const seen: AuditRecord[] = [];
    const stats = createReadStats();
    const running = followAudit({
      path,
      filter: buildAuditFilter({ src: '203.0.113.0/24' }, NOW),
      stats,
      signal: controller.signal,
      history: true,
      onRecord: (record) => seen.push(record),
      follower: FAST,
    });
    await waitFor(seen, 3);
    appendFileSync(path, line(6));
    await waitFor(seen, 4);
    renameSync(path, `${path}.0`);
    // The writer may finish a line in the rotated file during the grace period.
    appendFileSync(`${path}.0`, line(7));
    writeFileSync(path, line(8) + line(9) + line(12));
    await waitFor(seen, 7);
    controller.abort();
    await running;
    expect(seen).toEqual([0, 2, 3, 6, 7, 8, 12].map((index) => FIXTURE_RECORDS[index]));
    expect(stats.malformed).toBe(1);
  });

  test('without history only records written from now on are printed', async () => {
    writeFileSync(path, line(0));
    const seen: AuditRecord[] = [];
    const events: string[] = [];
    const running = followAudit({
      path,
      filter: {},
      stats: createReadStats(),
      signal: controller.signal,
      history: false,
      onRecord: (record) => seen.push(record),
      follower: { ...FAST, onEvent: (event) => events.push(event.type) },
    });
    for (let waited = 0; !events.includes('opened'); waited += 5) {
      if (waited > 3000) throw new Error('follower never opened the file');
      await sleep(5);
    }
    appendFileSync(path, line(1));
    await waitFor(seen, 1);
    controller.abort();
    await running;
    expect(seen).toEqual([FIXTURE_RECORDS[1]]);
  });
});
