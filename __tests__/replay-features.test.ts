import { describe, expect, test } from '@jest/globals';
import type { AuditRecord } from '../src/audit/record.js';
import { loadConfig } from '../src/config/load-config.js';
import type { Step } from '../src/model/door.js';
import { deriveSequence, windowAt } from '../src/knock/time-based.js';
import { runReplay } from '../src/app/replay.js';
import type { ChunkSource } from '../src/source/chunk-source.js';

// One-time and time-based doors of examples/advanced.json, end to end through replay.
const T0 = Date.parse('2026-11-24T12:00:00Z');

function line(at: number, src: string, step: Step, spt: number): string {
  const time = new Date(at).toISOString().replace('Z', '000+00:00');
  const head = `${time} vm kernel: knocktail: IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=${src} DST=198.51.100.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF`;
  if (step.proto === 'udp') return `${head} PROTO=UDP SPT=${spt} DPT=${step.port} LEN=12`;
  if (step.proto === 'icmp') return `${head} PROTO=ICMP TYPE=8 CODE=0 ID=7 SEQ=1`;
  return `${head} PROTO=TCP SPT=${spt} DPT=${step.port} WINDOW=64240 RES=0x00 SYN URGP=0`;
}

function source(lines: readonly string[]): ChunkSource {
  return {
    async *chunks() {
      yield Buffer.from(lines.map((text) => `${text}\n`).join(''));
    },
  };
}

async function replay(lines: readonly string[]): Promise<AuditRecord[]> {
  const config = await loadConfig('examples/advanced.json');
  const records: AuditRecord[] = [];
  await runReplay({
    config,
    source: source(lines),
    bootTime: 0,
    referenceTime: T0 + 86_400_000,
    onRecord: (record) => records.push(record),
  });
  return records;
}

function knocks(start: number, src: string, steps: readonly Step[], sport: number): string[] {
  return steps.map((step, index) => line(start + index * 500, src, step, sport + index));
}

describe('one-time and time-based doors through replay', () => {
  test('a one-time sequence opens once; the same sequence again is rejected, the next one works', async () => {
    const first: Step[] = [
      { proto: 'udp', port: 4001 },
      { proto: 'udp', port: 4002 },
      { proto: 'tcp', port: 4003 },
    ];
    const second: Step[] = [
      { proto: 'udp', port: 4011 },
      { proto: 'tcp', port: 4012 },
      { proto: 'udp', port: 4013 },
    ];
    const records = await replay([
      ...knocks(T0, '203.0.113.5', first, 40000),
      ...knocks(T0 + 60_000, '203.0.113.6', first, 41000),
      ...knocks(T0 + 120_000, '203.0.113.6', second, 42000),
    ]);
    expect(records.map((r) => [r.event, r.src, (r as { reason?: string }).reason ?? null])).toEqual([
      ['open', '203.0.113.5', null],
      ['reject', '203.0.113.6', 'one-time-reused'],
      ['open', '203.0.113.6', null],
    ]);
  });

  test('the time-based sequence of the current window opens; one from two windows ago does not', async () => {
    const spec = (await loadConfig('examples/advanced.json')).doors.find((door) => door.name === 'totp')!.timeBased!;
    const now = T0 + 3_600_000;
    const current = deriveSequence(spec, windowAt(spec, now));
    const stale = deriveSequence(spec, windowAt(spec, now) - 2);
    const records = await replay([
      ...knocks(now, '203.0.113.7', stale, 43000),
      ...knocks(now + 5_000, '203.0.113.8', current, 44000),
    ]);
    expect(records.filter((r) => r.event === 'open').map((r) => [r.door, r.src])).toEqual([['totp', '203.0.113.8']]);
  });

  test('allowFrom keeps other sources out, audited as rejected', async () => {
    const ssh: Step[] = [
      { proto: 'tcp', port: 7000 },
      { proto: 'udp', port: 8000 },
      { proto: 'icmp' },
      { proto: 'tcp', port: 9000 },
    ];
    const records = await replay([
      ...knocks(T0, '203.0.113.9', ssh, 45000),
      ...knocks(T0 + 30_000, '198.51.100.9', ssh, 46000),
    ]);
    expect(records.map((r) => [r.event, r.src, (r as { reason?: string }).reason ?? null])).toEqual([
      ['reject', '203.0.113.9', 'not-allowed'],
      ['open', '198.51.100.9', null],
    ]);
  });
});
