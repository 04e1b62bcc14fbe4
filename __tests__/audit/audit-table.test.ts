import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { SummaryBuilder } from '../../src/audit/audit-summary.js';
import {
  formatRecordLine,
  renderGrantTable,
  renderHistogram,
  renderRecordTable,
  renderSummary,
} from '../../src/audit/audit-table.js';
import { formatLength } from '../../src/audit/time-text.js';
import { GrantPairer, type GrantRow } from '../../src/audit/grant-pairing.js';
import { FIXTURE_RECORDS, NOW } from './fixture-records.js';

// Golden outputs live next to this file; a change in layout is a change in these files.
const golden = (name: string): string => readFileSync(new URL(`./golden/${name}`, import.meta.url), 'utf8');

function fixtureRows(): GrantRow[] {
  const pairer = new GrantPairer();
  const rows = FIXTURE_RECORDS.flatMap((record) => pairer.add(record));
  return [...rows, ...pairer.finish()];
}

function fixtureSummary(maxSources = 10) {
  const builder = new SummaryBuilder(NOW);
  for (const record of FIXTURE_RECORDS) builder.addRecord(record);
  for (const row of fixtureRows()) builder.addRow(row);
  return builder.result({ maxSources, maxDays: 30 });
}

describe('audit tables', () => {
  test('grant rows render as aligned columns with how long and why closed', () => {
    expect(renderGrantTable(fixtureRows(), { color: false, now: NOW })).toBe(golden('grants.txt'));
  });

  test('records render one per line with a readable detail', () => {
    expect(renderRecordTable(FIXTURE_RECORDS, { color: false })).toBe(golden('records.txt'));
  });

  test('the summary lists doors, busiest sources and a per-day histogram of opens', () => {
    expect(renderSummary(fixtureSummary(), { color: false })).toBe(golden('summary.txt'));
  });

  test('only the busiest sources are listed, the rest counted', () => {
    expect(renderSummary(fixtureSummary(2), { color: false })).toContain('… and 3 more sources');
  });

  test('colour appears only when asked for, and never shifts the columns', () => {
    const plain = renderGrantTable(fixtureRows(), { color: false, now: NOW });
    const colored = renderGrantTable(fixtureRows(), { color: true, now: NOW });
    expect(plain).not.toContain('\u001b[');
    expect(colored).toContain('\u001b[32mstill open\u001b[39m');
    expect(colored.replace(/\u001b\[\d+m/g, '')).toBe(plain);
  });

  test('control characters from a hostile record are escaped, keeping one line per row', () => {
    const rows = fixtureRows()
      .slice(0, 1)
      .map((row) => ({ ...row, door: 'a\nb\u001b[2J' }));
    const text = renderGrantTable(rows, { color: false, now: NOW });
    expect(text).toContain('a\\x0ab\\x1b[2J');
    expect(text.split('\n')).toHaveLength(5);
  });

  test('empty results say so', () => {
    expect(renderGrantTable([], { color: false, now: NOW })).toBe('No grants match.\n');
    expect(renderRecordTable([], { color: false })).toBe('No records match.\n');
  });
});

describe('helpers', () => {
  test('a followed record is one line with the same columns as the record table, coloured only on request', () => {
    expect(formatRecordLine(FIXTURE_RECORDS[7]!, false)).toBe(
      '2026-11-24 01:00:00  firewall-error  ssh  203.0.113.10  open failed (attempt 1): exit 4',
    );
    expect(formatRecordLine(FIXTURE_RECORDS[0]!, true)).toBe(
      '2026-11-23 08:00:00  \u001b[32mopen           \u001b[39m ssh  203.0.113.9  tcp:22 until 2026-11-23 09:00:00',
    );
    expect(formatRecordLine({ ...FIXTURE_RECORDS[1]!, door: 'x\ny' }, false)).toContain('x\\x0ay');
  });

  test('a reject summary reads as what was suppressed, from how many sources, since when', () => {
    const summary = {
      event: 'reject-summary',
      at: '2026-11-24T12:01:00.000Z',
      from: '2026-11-24T12:00:00.000Z',
      door: 'ssh',
      src: '',
      suppressed: 4990,
      sources: 4990,
      reasons: { 'grant-limit': 4980, banned: 10 },
    } as const;
    expect(formatRecordLine(summary, false)).toBe(
      '2026-11-24 12:01:00  reject-summary  ssh    suppressed 4990 rejects from 4990 sources since 2026-11-24 12:00:00 (grant-limit 4980, banned 10)',
    );
    const builder = new SummaryBuilder(NOW);
    builder.addRecord(summary);
    expect(renderSummary(builder.result({ maxSources: 10, maxDays: 30 }), { color: false })).toMatch(/ssh.*4990/);
  });

  test('lengths read at a glance with two units at most', () => {
    expect([5_000, 330_000, 3_900_000, 2 * 86_400_000 + 3 * 3_600_000].map(formatLength)).toEqual([
      '5s',
      '5m 30s',
      '1h 05m',
      '2d 03h',
    ]);
  });

  test('histogram bars scale to the busiest day and use eighth blocks', () => {
    expect(
      renderHistogram(
        [
          { day: '2026-11-23', opens: 1 },
          { day: '2026-11-24', opens: 0 },
          { day: '2026-11-25', opens: 8 },
        ],
        1,
      ),
    ).toEqual(['2026-11-23  ▏ 1', '2026-11-24  0', '2026-11-25  █ 8']);
  });
});
