import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { listAuditFiles } from '../../src/audit/audit-files.js';
import { buildAuditFilter, type AuditFilterOptions } from '../../src/audit/audit-filter.js';
import { scanAudit, sortGrantRows } from '../../src/audit/audit-query.js';
import { createReadStats } from '../../src/audit/audit-records.js';
import type { GrantRow } from '../../src/audit/grant-pairing.js';
import type { AuditRecord } from '../../src/audit/record.js';
import type { ChunkSource } from '../../src/source/chunk-source.js';
import { readLogFiles } from '../../src/source/file-reader.js';
import { FIXTURE_RECORDS, NOW } from './fixture-records.js';

function sourceOf(lines: readonly string[]): ChunkSource {
  return {
    async *chunks() {
      // Two chunks, to cross a chunk boundary.
      const half = Math.ceil(lines.length / 2);
      for (const part of [lines.slice(0, half), lines.slice(half)])
        if (part.length) yield Buffer.from(part.map((line) => `${line}\n`).join(''));
    },
  };
}

async function run(options: AuditFilterOptions, lines = FIXTURE_RECORDS.map((record) => JSON.stringify(record))) {
  const stats = createReadStats();
  const records: AuditRecord[] = [];
  const rows: GrantRow[] = [];
  await scanAudit(sourceOf(lines), buildAuditFilter(options, NOW), stats, {
    record: (record) => records.push(record),
    grant: (row) => rows.push(row),
  });
  return { stats, records, rows: sortGrantRows(rows) };
}

describe('scanAudit records', () => {
  test('with no filter every record comes back in log order', async () => {
    const { records, stats } = await run({});
    expect(records).toEqual(FIXTURE_RECORDS);
    expect(stats).toEqual({ lines: 13, records: 13, malformed: 0 });
  });

  test('--since and --until keep records inside the window, both ends included', async () => {
    const { records } = await run({ since: '2026-11-24T01:00:00Z', until: '2026-11-24T06:00Z' });
    expect(records.map((record) => record.at)).toEqual([
      '2026-11-24T01:00:00.000Z',
      '2026-11-24T01:00:00.500Z',
      '2026-11-24T01:20:00.000Z',
      '2026-11-24T03:00:00.000Z',
      '2026-11-24T06:00:00.000Z',
    ]);
  });

  test('relative bounds count back from the injected now', async () => {
    const { records } = await run({ since: '1h' });
    expect(records.map((record) => record.at)).toEqual(['2026-11-24T11:15:00.000Z']);
    expect((await run({ since: 'yesterday', until: 'today' })).records).toHaveLength(6);
  });

  test('--src takes an address or a CIDR, IPv6 in any spelling', async () => {
    expect((await run({ src: '203.0.113.0/24' })).records.map((record) => record.src)).toEqual([
      '203.0.113.9',
      '203.0.113.9',
      '203.0.113.9',
      '203.0.113.10',
      '203.0.113.10',
      '203.0.113.10',
      '203.0.113.9',
    ]);
    expect((await run({ src: '2001:0db8:0:0::7' })).records).toHaveLength(2);
    expect((await run({ src: '198.51.100.66' })).records.map((record) => record.event)).toEqual(['reject', 'reject']);
  });

  test('--door and --event select exactly', async () => {
    expect((await run({ door: 'classic' })).records).toHaveLength(2);
    expect((await run({ event: 'reject' })).records.map((record) => record.src)).toEqual([
      '198.51.100.66',
      '198.51.100.66',
    ]);
  });

  test('bad filters are usage errors naming the option', async () => {
    await expect(run({ src: '203.0.113.300' })).rejects.toThrow(/Expected --src to be an IP address or CIDR/);
    await expect(run({ event: 'opened' })).rejects.toThrow(/Expected --event to be one of open, refresh, close/);
    await expect(run({ until: 'later' })).rejects.toMatchObject({ code: 'USAGE' });
    await expect(run({ since: 'today', until: 'yesterday' })).rejects.toThrow(
      'Expected --since (2026-11-24T00:00:00.000Z) to be no later than --until (2026-11-23T00:00:00.000Z)',
    );
  });

  test('malformed lines are skipped and counted, never fatal', async () => {
    const lines = [
      'not json',
      '{"event":"open"}',
      '[1,2]',
      '',
      JSON.stringify(FIXTURE_RECORDS[0]),
      '{"event":"close","at":"x","door":"ssh","src":"1.2.3.4","reason":"expired"',
    ];
    const { records, stats } = await run({}, lines);
    expect(records).toEqual([FIXTURE_RECORDS[0]]);
    expect(stats).toEqual({ lines: 5, records: 1, malformed: 4 });
  });
});

describe('scanAudit grants', () => {
  test('open, refresh and close records pair into one row per grant with why it closed', async () => {
    const { rows } = await run({});
    expect(rows.map((row) => [row.src, row.door, row.opened, row.closed, row.outcome, row.refreshes])).toEqual([
      ['203.0.113.9', 'ssh', '2026-11-23T08:00:00.000Z', '2026-11-23T09:30:00.000Z', 'expired', 1],
      ['2001:db8::7', 'classic', '2026-11-23T20:00:00.000Z', '2026-11-23T20:05:30.000Z', 'close-sequence', 0],
      ['203.0.113.10', 'ssh', '2026-11-24T01:00:00.000Z', '2026-11-24T01:20:00.000Z', 'revoked', 0],
      ['198.51.100.20', 'ssh', '2026-11-24T03:00:00.000Z', '2026-11-24T06:00:00.000Z', 'expired-while-down', 0],
      ['203.0.113.9', 'ssh', '2026-11-24T11:15:00.000Z', null, 'still-open', 0],
    ]);
    expect(rows[0]!.until).toBe('2026-11-23T09:30:00.000Z');
    expect(rows[2]).toMatchObject({ ports: ['tcp:22', 'udp:60001'], by: 'manual' });
  });

  test('a grant opened before --since still shows, with its real opening time', async () => {
    const { rows, records } = await run({ since: '2026-11-23T09:00Z', until: '2026-11-23T12:00Z' });
    expect(records.map((record) => record.event)).toEqual(['close']);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ opened: '2026-11-23T08:00:00.000Z', outcome: 'expired' });
  });

  test('a close whose open was rotated away gives a row with an unknown start', async () => {
    const { rows } = await run(
      {},
      FIXTURE_RECORDS.slice(3, 4).map((record) => JSON.stringify(record)),
    );
    expect(rows).toEqual([
      {
        door: 'ssh',
        src: '203.0.113.9',
        ports: [],
        opened: null,
        closed: '2026-11-23T09:30:00.000Z',
        until: null,
        refreshes: 0,
        outcome: 'expired',
      },
    ]);
  });

  test('rows sort by opening time, unknown starts first, and a still-open grant after a closed one opened at once', () => {
    const base: GrantRow = {
      door: 'ssh',
      src: '203.0.113.9',
      ports: [],
      opened: '2026-11-24T10:00:00.000Z',
      closed: null,
      until: null,
      refreshes: 0,
      outcome: 'still-open',
    };
    const rows = [
      base,
      { ...base, closed: '2026-11-24T10:05:00.000Z', outcome: 'expired' as const },
      { ...base, opened: null, closed: '2026-11-24T11:00:00.000Z', outcome: 'revoked' as const },
    ];
    expect(sortGrantRows(rows).map((row) => row.outcome)).toEqual(['revoked', 'expired', 'still-open']);
  });

  test('without a grant handler only records are produced', async () => {
    const records: AuditRecord[] = [];
    await scanAudit(sourceOf(FIXTURE_RECORDS.map((record) => JSON.stringify(record))), {}, createReadStats(), {
      record: (record) => records.push(record),
    });
    expect(records).toHaveLength(13);
  });

  test('--since counts each grant to its real end: the close record, or its until when the close record is missing', async () => {
    const open = (src: string, at: string, until: string | null) =>
      JSON.stringify({ event: 'open', at, door: 'ssh', src, ports: ['tcp:22'], until, by: 'knock' });
    const lines = [
      open('203.0.113.1', '2026-11-20T08:00:00.000Z', '2026-11-20T09:00:00.000Z'),
      JSON.stringify({
        event: 'close',
        at: '2026-11-20T08:30:00.000Z',
        door: 'ssh',
        src: '203.0.113.1',
        reason: 'revoked',
      }),
      // Expired while the daemon was down: no close record ever came.
      open('203.0.113.2', '2026-11-20T10:00:00.000Z', '2026-11-20T11:00:00.000Z'),
      // Opened again without a close in between, after the first grant's end.
      open('203.0.113.3', '2026-11-20T10:00:00.000Z', '2026-11-20T11:00:00.000Z'),
      open('203.0.113.3', '2026-11-24T10:00:00.000Z', '2026-11-24T13:00:00.000Z'),
      // Still open at NOW, and an until-closed grant with no close.
      open('203.0.113.4', '2026-11-20T10:00:00.000Z', '2026-11-24T13:00:00.000Z'),
      open('203.0.113.5', '2026-11-20T10:00:00.000Z', null),
    ];
    const { rows } = await run({ since: '2026-11-22T00:00Z' }, lines);
    expect(rows.map((row) => `${row.src} ${row.opened?.slice(0, 10)}`)).toEqual([
      '203.0.113.4 2026-11-20',
      '203.0.113.5 2026-11-20',
      '203.0.113.3 2026-11-24',
    ]);
    expect(
      (await run({ since: '2026-11-20T10:30Z', until: '2026-11-20T12:00Z' }, lines)).rows.map((row) => row.src).sort(),
    ).toEqual(['203.0.113.2', '203.0.113.3', '203.0.113.4', '203.0.113.5']);
  });

  test('a second open without a close ends the first row as having no close record', async () => {
    const open = FIXTURE_RECORDS[0]!;
    const { rows } = await run({}, [JSON.stringify(open), JSON.stringify({ ...open, at: '2026-11-23T08:20:00.000Z' })]);
    expect(rows.map((row) => row.outcome)).toEqual(['reopened', 'still-open']);
  });
});

describe('reading rotated audit logs', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'knocktail-audit-q-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('lists rotated siblings oldest first and the live file last, ignoring strangers', async () => {
    for (const name of [
      'audit.log',
      'audit.log.1',
      'audit.log.2.gz',
      'audit.log.10.gz',
      'audit.log.bak',
      'other.log.1',
      'audit.logx',
    ])
      await writeFile(join(dir, name), '');
    expect((await listAuditFiles(join(dir, 'audit.log'))).map((path) => path.slice(dir.length + 1))).toEqual([
      'audit.log.10.gz',
      'audit.log.2.gz',
      'audit.log.1',
      'audit.log',
    ]);
  });

  test('dateext rotations come in date order', async () => {
    for (const name of ['audit.log', 'audit.log-20261124', 'audit.log-20261122.gz', 'audit.log-20261123.gz'])
      await writeFile(join(dir, name), '');
    expect((await listAuditFiles(join(dir, 'audit.log'))).map((path) => path.slice(dir.length + 1))).toEqual([
      'audit.log-20261122.gz',
      'audit.log-20261123.gz',
      'audit.log-20261124',
      'audit.log',
    ]);
  });

  test('reads .gz and plain rotations and the live file as one stream in order, pairing across files', async () => {
    const lines = FIXTURE_RECORDS.map((record) => `${JSON.stringify(record)}\n`);
    await writeFile(join(dir, 'audit.log.3.gz'), gzipSync(lines.slice(0, 2).join('')));
    await writeFile(join(dir, 'audit.log.2.gz'), gzipSync(lines.slice(2, 6).join('')));
    await writeFile(join(dir, 'audit.log.1'), lines.slice(6, 10).join(''));
    // The live file's last line has no newline yet.
    await writeFile(join(dir, 'audit.log'), lines.slice(10).join('').trimEnd());
    const stats = createReadStats();
    const records: AuditRecord[] = [];
    const rows: GrantRow[] = [];
    const source = readLogFiles(await listAuditFiles(join(dir, 'audit.log')));
    await scanAudit(source, {}, stats, { record: (record) => records.push(record), grant: (row) => rows.push(row) });
    expect(records).toEqual(FIXTURE_RECORDS);
    expect(rows).toHaveLength(5);
    expect(stats.malformed).toBe(0);
  });

  test('a missing rotation is a coded read error', async () => {
    const source = readLogFiles([join(dir, 'audit.log.1.gz')]);
    await expect(
      (async () => {
        const chunks: Buffer[] = [];
        for await (const chunk of source.chunks()) chunks.push(chunk);
        return chunks;
      })(),
    ).rejects.toMatchObject({ code: 'SOURCE_IO' });
  });
});
