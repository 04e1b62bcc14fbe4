import { describe, expect, test } from '@jest/globals';
import type { AuditRecord } from '../src/audit/record.js';
import { validateConfig } from '../src/config/load-config.js';
import { runReplay } from '../src/app/replay.js';
import type { ChunkSource } from '../src/source/chunk-source.js';

// A spoofed flood on a single-knock door through the whole pipeline (replay): grants stop at the
// door's maxGrants, every reject is counted, and the audit records stay few.
const T0 = Date.parse('2026-11-24T12:00:00Z');

function syn(at: number, src: string, port: number): string {
  const time = new Date(at).toISOString().replace('Z', '000+00:00');
  return `${time} vm kernel: knocktail: IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:86:dd SRC=${src} DST=2001:db8:1::1 LEN=80 TC=0 HOPLIMIT=64 FLOWLBL=1 PROTO=TCP SPT=40000 DPT=${port} WINDOW=64800 RES=0x00 SYN URGP=0`;
}

function source(lines: readonly string[]): ChunkSource {
  return {
    async *chunks() {
      for (let i = 0; i < lines.length; i += 1000)
        yield Buffer.from(
          lines
            .slice(i, i + 1000)
            .map((text) => `${text}\n`)
            .join(''),
        );
    },
  };
}

describe('a spoofed flood through replay', () => {
  test('20,000 distinct sources on a single-knock door open at most maxGrants grants and write a bounded audit log', async () => {
    const checked = validateConfig({
      firewall: { backend: 'nftables' },
      localAddresses: ['2001:db8:1::1'],
      limits: { maxGrants: 100 },
      doors: [
        { name: 'single', sequence: ['tcp:31600'], open: ['tcp:22'], openFor: '1h', maxGrants: 50 },
        { name: 'ssh', sequence: ['tcp:7000', 'tcp:8000', 'tcp:9000'], open: ['tcp:2222'], openFor: '1h' },
      ],
    });
    if (!checked.ok) throw new Error(checked.errors.join('\n'));
    const lines: string[] = [];
    for (let i = 0; i < 20_000; i++) lines.push(syn(T0 + Math.floor(i / 10), `2001:db8:f::${i.toString(16)}`, 31600));
    // The legitimate knocker, in the middle of the flood.
    for (const [n, port] of [7000, 8000, 9000].entries())
      lines.splice(10_000 + n * 7, 0, syn(T0 + 1000, '2001:db8:2::7', port));
    const records: AuditRecord[] = [];
    const result = await runReplay({
      config: checked.config,
      source: source(lines),
      bootTime: 0,
      referenceTime: T0 + 3_600_000,
      onRecord: (record) => records.push(record),
    });
    expect(result.counters.opens).toBe(51);
    expect(result.counters.rejected).toBe(20_000 - 50);
    expect(records.find((r) => r.event === 'open' && r.door === 'ssh')).toMatchObject({ src: '2001:db8:2::7' });
    expect(records.filter((r) => r.event === 'reject')).toHaveLength(10);
    expect(records.filter((r) => r.event === 'reject-summary')).toEqual([
      expect.objectContaining({
        door: 'single',
        suppressed: 19_940,
        sources: 19_940,
        reasons: { 'grant-limit': 19_940 },
      }),
    ]);
  });
});
