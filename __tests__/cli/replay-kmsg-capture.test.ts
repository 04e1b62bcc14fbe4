import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir, uptime } from 'node:os';
import { join } from 'node:path';
import { anchorBootTime, placeOnBoot, type InputSurvey } from '../../src/cli/replay-inputs.js';
import { runCliCaptured } from './run-cli.js';
import { RAW_CLASSIC_DOOR } from '../support/door.js';

// A /dev/kmsg capture made on a machine that had been up for 400 days (or before a reboot):
// its records are microseconds since *that* boot. Replayed here, they must not be placed on
// this machine's boot (every line would be "in the future"), but on the capture's own records.
const DAY_US = 86_400_000_000;
const UP_US = 400 * DAY_US;
const CAPTURED_AT = Date.parse('2026-03-01T12:00:10Z');

function record(seq: number, us: number, dport: number): string {
  return `4,${seq},${us},-;knocktail: IN=eth0 OUT= MAC= SRC=203.0.113.9 DST=203.0.113.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=40000 DPT=${dport} WINDOW=64240 RES=0x00 SYN URGP=0 `;
}

let dir: string;
let capture: string;
let config: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kt-replay-kmsg-'));
  capture = join(dir, 'kmsg.capture');
  config = join(dir, 'config.json');
  // Knock at +0 s, close at +10 s (the capture's last record).
  await writeFile(capture, `${record(1, UP_US, 31600)}\n${record(2, UP_US + 10_000_000, 31601)}\n`);
  await utimes(capture, CAPTURED_AT / 1000, CAPTURED_AT / 1000);
  const door = RAW_CLASSIC_DOOR;
  await writeFile(
    config,
    JSON.stringify({ firewall: { backend: 'dry-run' }, localAddresses: ['203.0.113.1'], doors: [door] }),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function eventsOf(stdout: string): Record<string, unknown>[] {
  return stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('replay of a /dev/kmsg capture from another boot or machine', () => {
  test('times come from the capture itself: its last record lands at the file modification time, and nothing is "in the future"', async () => {
    // This machine has been up for far less than 400 days: its own boot time would put the records years ahead.
    expect(uptime()).toBeLessThan(UP_US / 1e6);
    const run = await runCliCaptured(['replay', '--config', config, '--json', capture]);
    expect(run.code).toBe(0);
    const events = eventsOf(run.stdout);
    expect(events.map((e) => [e['event'], e['at'] ?? null])).toEqual([
      ['open', '2026-03-01T12:00:00.000Z'],
      ['close', '2026-03-01T12:00:10.000Z'],
      ['summary', null],
    ]);
    expect(events.at(-1)).toMatchObject({ packets: 2, malformed: 0 });
    expect(run.stderr).toContain("kernel-uptime timestamps placed on the capture's own records");
  });

  test('--boot-time places them where it says, even past the file modification time (future is the log clock, not this machine)', async () => {
    const bootTime = '2030-01-01T00:00:00Z';
    const run = await runCliCaptured(['replay', '--config', config, '--json', '--boot-time', bootTime, capture]);
    expect(run.code).toBe(0);
    const events = eventsOf(run.stdout);
    const opened = Date.parse(bootTime) + UP_US / 1000;
    expect(events.map((e) => e['at'] ?? null)).toEqual([
      new Date(opened).toISOString(),
      new Date(opened + 10_000).toISOString(),
      null,
    ]);
    expect(events.at(-1)).toMatchObject({ packets: 2, malformed: 0 });
    expect(run.stderr).not.toContain('placed on the capture');
  });
});

describe('anchorBootTime', () => {
  const survey = (over: Partial<InputSurvey>): InputSurvey => ({
    path: 'f',
    first: 1_000,
    last: 5_000,
    formats: ['kmsg'],
    prefixes: new Map(),
    mtime: 1_000_000,
    ...over,
  });

  test('the latest-ending uptime capture ends at its mtime; syslog files and files without times do not count', () => {
    expect(anchorBootTime([survey({}), survey({ last: 2_000, mtime: 900_000 })])).toBe(995_000);
    expect(anchorBootTime([survey({ formats: ['rfc3339'] }), survey({ last: undefined })])).toBeUndefined();
    expect(anchorBootTime([survey({ formats: ['dmesg'] })])).toBe(995_000);
  });

  test('placeOnBoot moves uptime captures only', () => {
    expect(placeOnBoot(survey({}), 10)).toMatchObject({ first: 1_010, last: 5_010 });
    expect(placeOnBoot(survey({ formats: ['rfc3339', 'kmsg'] }), 10)).toMatchObject({ first: 1_000, last: 5_000 });
  });
});
