import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliCaptured } from './run-cli.js';

// replay --verbose names each stale and bad line by file and line number (and a malformed
// line's field), the report listing the first ones and --json streaming them all.
const packet = (time: string, dpt: string, src = '203.0.113.20'): string =>
  `2026-11-24T${time}.000000+00:00 vm kernel: knocktail: IN=eth0 OUT= MAC=2a:bd:c3:9b:2c:c7:42:b1:5b:ed:47:d1:08:00 SRC=${src} DST=203.0.113.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=53105 DPT=${dpt} WINDOW=64240 RES=0x00 SYN URGP=0 `;
const noise = (time: string): string => `2026-11-24T${time}.000000+00:00 vm kernel: eth0: link up`;

describe('replay --verbose lists stale and bad lines with file and line number', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kt-replay-lines-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function logs(): Promise<[string, string]> {
    const first = join(dir, 'knock.log.1');
    const second = join(dir, 'knock.log');
    await writeFile(
      first,
      [noise('12:00:00'), packet('12:00:01', '7000'), noise('12:00:02'), packet('12:00:03', '99999')].join('\n') + '\n',
    );
    // The third line was written long before the second: older than ssh's 10 s timeout, stale.
    await writeFile(
      second,
      [
        packet('12:05:00', '7000'),
        noise('12:05:01'),
        packet('12:01:00', '7000', '203.0.113.30'),
        packet('12:05:02', '7000', '203.0.113.40'),
      ].join('\n') + '\n',
    );
    return [first, second];
  }

  test('the report names the file and line of each, and the field a malformed line got wrong', async () => {
    const [first, second] = await logs();
    const run = await runCliCaptured(['replay', '--config', 'examples/config.json', '--verbose', second, first]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`\nBad lines: 1\n  ${first}:4  malformed (DPT: `);
    expect(run.stdout).toContain(
      `\nStale lines (older than their door's timeout, never used): 1\n  ${second}:3  "2026-11-24T12:01:00.000000+00:00 vm kernel: knocktail: IN=eth0`,
    );
    // Without --verbose the lines are counted only.
    const quiet = await runCliCaptured(['replay', '--config', 'examples/config.json', second, first]);
    expect(quiet.stdout).not.toContain('Bad lines');
    expect(quiet.stdout).toContain('1 stale packets');
  });

  test('--json --verbose streams every one as a record with file, line and problem', async () => {
    const [first, second] = await logs();
    const run = await runCliCaptured([
      'replay',
      '--config',
      'examples/config.json',
      '--verbose',
      '--json',
      first,
      second,
    ]);
    const records = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((record) => record['event'] === 'bad-line' || record['event'] === 'stale');
    expect(records.map((r) => [r['event'], r['file'], r['line']])).toEqual([
      ['bad-line', first, 4],
      ['stale', second, 3],
    ]);
    expect(records[0]!['problem']).toMatch(/^malformed \(DPT: /);
  });

  test("a long list is capped like the report's other lists, with the count of the rest", async () => {
    const path = join(dir, 'bad.log');
    await writeFile(
      path,
      Array.from({ length: 53 }, (_, i) => packet(`12:00:${String(i).padStart(2, '0')}`, 'x')).join('\n') + '\n',
    );
    const run = await runCliCaptured(['replay', '--config', 'examples/config.json', '--verbose', path]);
    expect(run.stdout).toContain('\nBad lines: 53\n');
    expect(run.stdout).toContain(`  ${path}:50  malformed`);
    expect(run.stdout).not.toContain(`  ${path}:51  `);
    expect(run.stdout).toContain('  … and 3 more; `--json --verbose` for all\n');
  });
});
