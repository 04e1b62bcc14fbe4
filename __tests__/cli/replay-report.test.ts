import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import type { AuditRecord } from '../../src/audit/record.js';
import {
  DoorTallies,
  formatCount,
  knockEventJson,
  renderReport,
  type ReportInput,
} from '../../src/cli/replay-report.js';
import { createCounters } from '../../src/app/counters.js';
import type { Grant } from '../../src/model/grant.js';

// The human replay report stays readable on a busy log: long lists are capped and counted.
const open = (i: number): AuditRecord => ({
  event: 'open',
  at: new Date(Date.parse('2026-11-24T10:00:00Z') + i * 1000).toISOString(),
  door: 'ssh',
  src: `203.0.113.${i}`,
  ports: ['tcp:22'],
  until: null,
  by: 'knock',
});

function input(overrides: Partial<ReportInput>): ReportInput {
  return {
    files: [{ path: 'knocks.log', first: 0, last: 0, formats: ['rfc3339'], prefixes: new Map() }],
    configPath: 'config.json',
    counters: createCounters(),
    doors: new DoorTallies(['ssh']),
    grantRecords: [],
    openAtEnd: [],
    tracker: { trackedSources: 0, evicted: 0, retransmits: 0, scanners: 0, tripwireHits: 0, stale: 0 },
    seconds: 0.5,
    ...overrides,
  };
}

describe('the replay report', () => {
  test('names the timestamp format, and per file when several files differ', () => {
    expect(renderReport(input({}))).toContain('\nTimestamps: RFC 3339 (RSYSLOG_FileFormat, journalctl -o short-iso)\n');
    const two = renderReport(
      input({
        files: [
          { path: 'a.log.1', first: 0, last: 0, formats: ['traditional'], prefixes: new Map() },
          { path: 'a.log', first: 1, last: 1, formats: ['rfc3339'], prefixes: new Map() },
        ],
      }),
    );
    expect(two).toContain(
      'Timestamps: traditional syslog (RSYSLOG_TraditionalFileFormat: no year, local time) in a.log.1; RFC 3339 (RSYSLOG_FileFormat, journalctl -o short-iso) in a.log\n',
    );
  });

  test('caps the opens-and-closes list and the still-open list, counting the rest', () => {
    const records = Array.from({ length: 1_437 }, (_, i) => open(i));
    const grants: Grant[] = records.slice(0, 5).map((record) => ({
      door: 'ssh',
      src: record.src,
      family: 4,
      ports: [{ proto: 'tcp', port: 22 }],
      openedAt: 0,
      until: null,
    }));
    const text = renderReport(input({ grantRecords: records, openAtEnd: grants, listCap: 3 }));
    expect(text).toContain('Opens and closes (1,437):');
    expect(text).toContain('… and 1,434 more; `--json` for all');
    expect(text).toContain('Still open when the log ended (5):');
    expect(text).toContain('… and 2 more; `--json` for all');
    expect(text).not.toContain('203.0.113.3 ');
  });
});

describe('formatCount', () => {
  test('groups digits as toLocaleString("en-US") does, for any integer, and falls back to it for other numbers', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.integer({ min: 0, max: 10_000 })), (n) =>
        expect(formatCount(n)).toBe(n.toLocaleString('en-US')),
      ),
    );
    for (const n of [0, 999, 1000, 12_682, 1_000_000, -1234, 1.5, 2 ** 60])
      expect(formatCount(n)).toBe(n.toLocaleString('en-US'));
  });
});

describe('verbose replay JSON', () => {
  test('a tripwire hit is a scanner line with the port and the end of the hold, and counts for no door', () => {
    const at = Date.parse('2026-11-24T12:00:00Z');
    const event = {
      kind: 'scanner',
      door: '',
      src: '203.0.113.66',
      family: 4,
      at,
      port: 'tcp:40000',
      until: at + 120_000,
    } as const;
    expect(JSON.parse(knockEventJson(event)!)).toEqual({
      event: 'scanner',
      src: '203.0.113.66',
      port: 'tcp:40000',
      at: '2026-11-24T12:00:00.000Z',
      until: '2026-11-24T12:02:00.000Z',
    });
    const tallies = new DoorTallies(['ssh']);
    tallies.addEvent(event);
    expect(tallies.entries().map(([door]) => door)).toEqual(['ssh']);
  });
});
