import { describe, expect, test } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { runCliCaptured } from './run-cli.js';

const demo = ['replay', '--config', 'examples/config.json', 'examples/demo.log'];

describe('knocktail replay', () => {
  test('--json over the demo prints the opens and closes of DESIGN.md, in log order, then the summary', async () => {
    const { code, stdout } = await runCliCaptured([...demo, '--json']);
    expect(code).toBe(0);
    const records = stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.map((r) => [r['event'], r['door'] ?? null, r['src'] ?? null, r['reason'] ?? null])).toEqual([
      ['open', 'classic', '203.0.113.10', null],
      ['open', 'ssh', '203.0.113.20', null],
      ['open', 'web6', '2001:db8::40', null],
      ['close', 'ssh', '203.0.113.20', 'expired'],
      ['close', 'classic', '203.0.113.10', 'close-sequence'],
      ['summary', null, null, null],
    ]);
    // Exact field order and formats of the contract.
    expect(Object.keys(records[0]!)).toEqual(['event', 'door', 'src', 'ports', 'at', 'until']);
    expect(records[0]).toMatchObject({ ports: ['tcp:22'], until: null });
    expect(records[0]!['at']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Object.keys(records[3]!)).toEqual(['event', 'door', 'src', 'reason', 'at']);
    // The ssh grant (openFor 30s) closes exactly 30 s of log time after it opened.
    expect(Date.parse(records[3]!['at'] as string) - Date.parse(records[1]!['at'] as string)).toBe(30_000);
    expect(records[5]).toEqual({ event: 'summary', lines: 38, packets: 17, knocks: 10, opens: 3, closes: 2, malformed: 1, ignored: 20 });
  });

  test('the human report shows the tallies, the grants and what was still open at the end', async () => {
    const { code, stdout } = await runCliCaptured([...demo, '--audit']);
    expect(code).toBe(0);
    expect(stdout).toContain('Lines:   38 read, 17 packets, 1 malformed, 20 ignored (1 forged userspace line)');
    expect(stdout).toContain('SYN retransmits ignored');
    expect(stdout).toMatch(/ssh\s+6\s+1\s+0\s+1\s+2\s+0/);
    expect(stdout).toMatch(/Still open when the log ended \(1\):\ndoor +source +ports\nweb6 +2001:db8::40 +tcp:443\n/);
    expect(stdout).toContain('"event":"close","at":');
  });

  test('--verbose --json adds progress and reset records (the wrong-order and timed-out attempts)', async () => {
    const { stdout } = await runCliCaptured([...demo, '--json', '--verbose']);
    const events = stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events.filter((e) => e['event'] === 'reset').map((e) => [e['src'], e['reason']])).toEqual([
      ['203.0.113.30', 'timeout'],
      ['203.0.113.40', 'timeout'],
    ]);
    expect(events.some((e) => e['event'] === 'progress')).toBe(true);
  });

  test('a gzip-compressed log replays exactly like the plain one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kt-replay-'));
    try {
      const gz = join(dir, 'demo.log.gz');
      await writeFile(gz, gzipSync(readFileSync('examples/demo.log')));
      const plain = await runCliCaptured([...demo, '--json']);
      const zipped = await runCliCaptured(['replay', '--config', 'examples/config.json', gz, '--json']);
      expect(zipped.stdout).toBe(plain.stdout);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a missing log file is a clear runtime error, exit 1', async () => {
    const { code, stderr } = await runCliCaptured(['replay', '--config', 'examples/config.json', 'examples/no-such.log']);
    expect(code).toBe(1);
    expect(stderr).toContain('examples/no-such.log');
  });

  test('a bad config is refused with exit 2 before anything is read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kt-replay-'));
    try {
      const config = join(dir, 'config.json');
      await writeFile(config, JSON.stringify({ doors: [{ name: 'ssh', sequence: ['tcp:7000'], openFor: 'soon' }] }));
      const { code, stderr } = await runCliCaptured(['replay', '--config', config, 'examples/demo.log']);
      expect(code).toBe(2);
      expect(stderr).toContain('doors[0].openFor');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
