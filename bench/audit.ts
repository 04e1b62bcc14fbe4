// `knocktail audit` query speed: 1,000,000 audit records (~250 MB; the older 60% rotated
// and gzipped as logrotate leaves them) read, parsed, filtered and paired into grants.
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createGzip } from 'node:zlib';
import { listAuditFiles } from '../src/audit/audit-files.js';
import { buildAuditFilter, type AuditFilterOptions } from '../src/audit/audit-filter.js';
import { scanAudit } from '../src/audit/audit-query.js';
import { createReadStats } from '../src/audit/audit-records.js';
import { SummaryBuilder } from '../src/audit/audit-summary.js';
import { formatAuditLine } from '../src/audit/audit-line.js';
import { createAuditLog } from '../src/audit/audit-log.js';
import type { AuditRecord } from '../src/audit/record.js';
import { readLogFiles } from '../src/source/file-reader.js';
import type { BenchFunction } from './section.js';

const START = Date.parse('2026-01-01T00:00:00.000Z');
const STEP = 2_000; // ms between records: 1M records span ~23 days
const iso = (ms: number): string => new Date(ms).toISOString();

// Deterministic, realistic traffic: each grant is an open (with the firewall command), a
// refresh, a close; a rejected knock now and then. ~250 bytes a record on average.
function* generateRecords(count: number): Generator<AuditRecord> {
  let n = 0;
  for (let i = 0; n < count; i++) {
    const at = START + n * STEP;
    const src = `203.0.113.${i % 250}`;
    const door = ['ssh', 'classic', 'web6'][i % 3]!;
    const until = iso(at + 3_600_000);
    const command = [
      'iptables',
      '-w',
      '-I',
      'KNOCKTAIL',
      '-s',
      src,
      '-p',
      'tcp',
      '--dport',
      '22',
      '-m',
      'comment',
      '--comment',
      `knocktail ${door} exp=${Math.floor((at + 3_600_000) / 1000)}`,
      '-j',
      'ACCEPT',
    ];
    const batch: AuditRecord[] = [
      {
        event: 'open',
        at: iso(at),
        door,
        src,
        ports: ['tcp:22'],
        until,
        by: 'knock',
        command,
        outcome: 'ok',
      } as AuditRecord,
      { event: 'refresh', at: iso(at + STEP), door, src, ports: ['tcp:22'], until: iso(at + STEP + 3_600_000) },
      {
        event: 'close',
        at: iso(at + 2 * STEP),
        door,
        src,
        reason: i % 7 === 0 ? 'close-sequence' : 'expired',
        ports: ['tcp:22'],
        command: command.map((part) => (part === '-I' ? '-D' : part)),
      } as AuditRecord,
      {
        event: 'reject',
        at: iso(at + 3 * STEP),
        door,
        src: `198.51.100.${i % 200}`,
        reason: i % 2 ? 'not-allowed' : 'banned',
      },
    ];
    for (const record of batch) {
      if (n++ >= count) return;
      yield record;
    }
  }
}

async function writeAll(stream: WriteStream | ReturnType<typeof createGzip>, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain');
}

// audit.log.4.gz … audit.log.2.gz (oldest), audit.log.1 (plain, as with delaycompress), audit.log.
async function generateAuditLogs(dir: string, count: number): Promise<string> {
  const path = join(dir, 'audit.log');
  const marker = join(dir, 'complete');
  if (
    await stat(marker).then(
      () => true,
      () => false,
    )
  )
    return path;
  await mkdir(dir, { recursive: true });
  const parts = [
    { name: 'audit.log.4.gz', share: 0.2 },
    { name: 'audit.log.3.gz', share: 0.2 },
    { name: 'audit.log.2.gz', share: 0.2 },
    { name: 'audit.log.1', share: 0.2 },
    { name: 'audit.log', share: 0.2 },
  ];
  const records = generateRecords(count);
  for (const part of parts) {
    const file = createWriteStream(join(dir, part.name));
    const out = part.name.endsWith('.gz') ? createGzip() : file;
    if (out !== file) out.pipe(file);
    let text = '';
    for (let i = 0; i < Math.round(count * part.share); i++) {
      const next = records.next();
      if (next.done) break;
      text += formatAuditLine(next.value, 'iptables');
      if (text.length > 1 << 20) {
        await writeAll(out, text);
        text = '';
      }
    }
    await writeAll(out, text);
    out.end();
    await once(file, 'close');
  }
  await writeFile(marker, '');
  return path;
}

// The writer: each record one append, the promise settling once the kernel has it.
async function benchWriter(workDir: string, count: number): Promise<Record<string, string | number>[]> {
  const path = join(workDir, 'audit-writer', 'audit.log');
  await rm(join(workDir, 'audit-writer'), { recursive: true, force: true });
  const records = [...generateRecords(count)];
  const rows: Record<string, string | number>[] = [];
  for (const mode of ['awaited one by one', 'all at once'] as const) {
    const sink = createAuditLog(path, { backend: 'iptables' });
    const started = performance.now();
    if (mode === 'all at once') await Promise.all(records.map((record) => sink.write(record)));
    else for (const record of records) await sink.write(record);
    await sink.close();
    const seconds = (performance.now() - started) / 1000;
    rows.push({
      query: `write ${mode}`,
      read: count,
      matched: '',
      grants: '',
      seconds,
      'records/s': Math.round(count / seconds),
      'peak RSS MiB': '',
    });
  }
  return rows;
}

export const bench: BenchFunction = async ({ quick, workDir }) => {
  const count = quick ? 100_000 : 1_000_000;
  const path = await generateAuditLogs(join(workDir, `audit-${count}`), count);
  const files = await listAuditFiles(path);
  let stored = 0;
  for (const file of files) stored += (await stat(file)).size;
  let text = 0;
  for await (const chunk of readLogFiles(files).chunks()) text += chunk.length;
  const now = START + count * STEP;
  const baseRss = process.memoryUsage().rss;
  let peakRss = baseRss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 20);
  const rows: Record<string, string | number>[] = [];
  const cases: { name: string; options: AuditFilterOptions; summary?: boolean }[] = [
    { name: 'all records + grant pairing', options: {} },
    { name: 'all records + grant pairing (again)', options: {} },
    { name: '--src 203.0.113.0/28 --door ssh', options: { src: '203.0.113.0/28', door: 'ssh' } },
    { name: '--since 3d --event reject', options: { since: '3d', event: 'reject' } },
    { name: '--summary', options: {}, summary: true },
  ];
  for (const { name, options, summary } of cases) {
    const stats = createReadStats();
    const builder = summary ? new SummaryBuilder(now) : undefined;
    let records = 0;
    let grants = 0;
    const started = performance.now();
    await scanAudit(readLogFiles(files), buildAuditFilter(options, now), stats, {
      record: (record) => {
        records++;
        builder?.addRecord(record);
      },
      grant: (row) => {
        grants++;
        builder?.addRow(row);
      },
    });
    builder?.result({ maxSources: 20, maxDays: 31 });
    const seconds = (performance.now() - started) / 1000;
    rows.push({
      query: name,
      read: stats.records,
      matched: records,
      grants,
      seconds,
      'records/s': Math.round(stats.records / seconds),
      'peak RSS MiB': Math.round(peakRss / 2 ** 20),
    });
  }
  clearInterval(sampler);
  rows.push(...(await benchWriter(workDir, quick ? 5_000 : 20_000)));
  return {
    name: 'audit (query over rotated + gzipped audit logs)',
    rows,
    notes: [
      `input ${count.toLocaleString('en-US')} records in ${files.length} files (3 gzipped), ${(text / 2 ** 20).toFixed(0)} MiB of text, ${(stored / 2 ** 20).toFixed(1)} MiB on disk; RSS before ${Math.round(baseRss / 2 ** 20)} MiB, peak ${Math.round(peakRss / 2 ** 20)} MiB`,
      'target ≥ 500,000 records/s with flat memory; records/s counts every record read (each is JSON-parsed)',
    ],
  };
};
