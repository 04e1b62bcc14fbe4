import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { referenceKnock, runFuzz } from '../../bench/fuzz-harness.js';
import { genuineLine, Random } from '../../bench/fuzz-lines.js';

// The million-line fuzzer (`npm run fuzz`) in small: the same generators and oracle, a few
// thousand lines per seed, through the daemon's replay pipeline.
describe('hostile lines through the replay pipeline', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'knocktail-fuzz-test-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('no crash, no open from a line that is no genuine INPUT line for this host, every line in exactly one counter', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), async (seed) => {
        const report = await runFuzz({
          lines: 3000,
          seed,
          workDir: dir,
          fixturesDir: join(process.cwd(), '__tests__', 'fixtures'),
        });
        expect(report.crashed).toBeUndefined();
        expect(report.pipeline.errors).toBe(0);
        expect(report.unjustifiedOpens).toEqual([]);
        expect(report.acceptedNotGenuine).toEqual([]);
        expect(report.countersConsistent).toBe(true);
      }),
      { numRuns: 8 },
    );
  }, 60_000);

  test('the oracle knows a genuine knock and refuses the same line with OUT= set, a nested quote or a mapped source', () => {
    const { line, src } = genuineLine(new Random(7));
    expect(referenceKnock(line)).toMatchObject({ src, dport: 31600, proto: 'tcp' });
    expect(referenceKnock(line.replace('OUT= ', 'OUT=eth1 '))).toBeUndefined();
    expect(referenceKnock(line.replace('PROTO=TCP', '[SRC=198.51.100.9 ] PROTO=TCP'))).toBeUndefined();
    expect(
      referenceKnock(
        line.replace(
          /SRC=\S+ DST=\S+/,
          'SRC=0000:0000:0000:0000:0000:ffff:c633:6405 DST=2001:0db8:0077:0000:0000:0000:0000:0001',
        ),
      ),
    ).toBeUndefined();
  });
});
