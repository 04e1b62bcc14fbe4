import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { orderInputs, surveyInput, timestampFormatOf, type InputSurvey } from '../../src/cli/replay-inputs.js';
import { runCliCaptured } from './run-cli.js';

// Replay reads its inputs in time order, whatever order the shell expanded them in, names the
// timestamp formats it met, and warns when two files cover the same time.
const ctx = { prefix: 'knocktail: ', bootTime: Date.parse('2026-11-24T15:48:38Z') };
const line = (at: string, port: number): string =>
  `${at} vm kernel: knocktail: IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=203.0.113.9 DST=198.51.100.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=40000 DPT=${port} WINDOW=64240 RES=0x00 SYN URGP=0\n`;

describe('timestamp formats', () => {
  test('every header format of the fixtures is named', () => {
    const lines = readFileSync(new URL('../fixtures/header-formats.log', import.meta.url), 'utf8')
      .split('\n')
      .filter((text) => text !== '' && !text.startsWith('#'));
    expect([...new Set(lines.map(timestampFormatOf))].sort()).toEqual([
      'dmesg',
      'kmsg',
      'rfc3164',
      'rfc3339',
      'rfc5424',
      'traditional',
    ]);
    expect(timestampFormatOf('Nov 24 15:50:22 vm kernel: x')).toBe('traditional');
    expect(timestampFormatOf('<4>1 2026-11-24T15:50:22Z vm kernel - - - x')).toBe('rfc5424');
    expect(timestampFormatOf('<4>Nov 24 15:50:22 vm kernel: x')).toBe('rfc3164');
  });
});

describe('surveying and ordering the inputs', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kt-replay-inputs-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a plain file and a gzip file report their first and last timestamps and their format', async () => {
    const many = Array.from({ length: 3_000 }, (_, i) =>
      line(new Date(Date.parse('2026-11-24T10:00:00Z') + i * 1000).toISOString(), 7000),
    ).join('');
    await writeFile(join(dir, 'many.log'), `garbage first\n${many}`);
    await writeFile(join(dir, 'many.log.gz'), gzipSync(many));
    for (const name of ['many.log', 'many.log.gz']) {
      expect(await surveyInput(join(dir, name), ctx)).toEqual({
        path: join(dir, name),
        first: Date.parse('2026-11-24T10:00:00Z'),
        last: Date.parse('2026-11-24T10:49:59Z'),
        formats: ['rfc3339'],
        // The first 2,000 lines, garbage included, are sampled for their LOG prefix.
        prefixes: new Map([['knocktail: ', name === 'many.log' ? 1999 : 2000]]),
        mtime: expect.any(Number),
      });
    }
  });

  test('the last timestamp is that of the last line that has one, in a short file, a long one and a gzip one, whatever lines without one follow', async () => {
    const at = (i: number): string => new Date(Date.parse('2026-11-24T10:00:00Z') + i * 1000).toISOString();
    const timed = (count: number): string => Array.from({ length: count }, (_, i) => line(at(i), 7000)).join('');
    const untimed = 'no header here\n\n-- MARK --\n';
    const cases = [
      { name: 'short.log', text: `${timed(5)}${untimed}`, last: at(4) },
      { name: 'short-unterminated.log', text: `${timed(5)}no newline at the end`, last: at(4) },
      { name: 'long.log', text: `${timed(3_000)}${untimed}`, last: at(2_999) },
      // Past the first 2,000 lines, and the last 64 KiB hold no timestamp: the end of the head's chunk answers.
      { name: 'long-untimed-tail.log', text: `${timed(3_000)}${'y\n'.repeat(40_000)}`, last: at(2_999) },
    ];
    for (const { name, text, last } of cases) {
      await writeFile(join(dir, name), text);
      await writeFile(join(dir, `${name}.gz`), gzipSync(text));
      for (const file of [name, `${name}.gz`]) {
        expect({ file, last: (await surveyInput(join(dir, file), ctx)).last }).toEqual({
          file,
          last: Date.parse(last),
        });
      }
    }
    await writeFile(join(dir, 'none.log'), untimed);
    expect(await surveyInput(join(dir, 'none.log'), ctx)).toMatchObject({
      first: undefined,
      last: undefined,
      formats: [],
    });
  });

  test('a traditional file takes its year from its modification time', async () => {
    const path = join(dir, 'old.log');
    await writeFile(path, 'Dec 31 23:59:59 vm kernel: hello\n');
    await utimes(path, new Date('2024-01-02T00:00:00Z'), new Date('2024-01-02T00:00:00Z'));
    const survey = await surveyInput(path, ctx);
    expect(new Date(survey.first!).getFullYear()).toBe(2023);
    expect(survey.formats).toEqual(['traditional']);
  });

  const survey = (path: string, first?: string, last?: string): InputSurvey => ({
    path,
    first: first === undefined ? undefined : Date.parse(first),
    last: last === undefined ? undefined : Date.parse(last),
    formats: [],
    prefixes: new Map(),
  });

  test('files are read oldest first, files without timestamps last in their given order, and the change is said', () => {
    const order = orderInputs([
      survey('knocks.log', '2026-11-24T12:00:00Z', '2026-11-24T13:00:00Z'),
      survey('empty.log'),
      survey('knocks.log.1', '2026-11-24T10:00:00Z', '2026-11-24T11:00:00Z'),
    ]);
    expect(order.files.map((file) => file.path)).toEqual(['knocks.log.1', 'knocks.log', 'empty.log']);
    expect(order.warnings).toEqual([
      'reading the files in the order of their first timestamp: knocks.log.1, knocks.log, empty.log',
    ]);
  });

  test('files in order and apart give no warning; overlapping files do', () => {
    expect(
      orderInputs([
        survey('a.log', '2026-11-24T10:00:00Z', '2026-11-24T11:00:00Z'),
        survey('b.log', '2026-11-24T11:00:00Z', '2026-11-24T12:00:00Z'),
      ]).warnings,
    ).toEqual([]);
    expect(
      orderInputs([
        survey('a.log', '2026-11-24T10:00:00Z', '2026-11-24T11:00:00Z'),
        survey('copy.log', '2026-11-24T10:30:00Z', '2026-11-24T10:40:00Z'),
      ]).warnings,
    ).toEqual([
      'copy.log starts (2026-11-24 10:30:00Z) before a.log ends (2026-11-24 11:00:00Z): the files overlap, so knocks may be counted twice or out of order (replay each file alone, or drop the duplicate)',
    ]);
  });

  test('replay given the newest file first reads the older one first, says so, and opens the door', async () => {
    const config = join(dir, 'config.json');
    await writeFile(
      config,
      JSON.stringify({
        stateDir: dir,
        auditLog: join(dir, 'audit.log'),
        firewall: { backend: 'dry-run' },
        doors: [{ name: 'ssh', sequence: ['tcp:7000', 'tcp:8000'], timeout: '10s', open: ['tcp:22'] }],
      }),
    );
    await writeFile(join(dir, 'knocks.log.1'), line('2026-11-24T10:00:00Z', 7000));
    await writeFile(join(dir, 'knocks.log'), line('2026-11-24T10:00:05Z', 8000));
    const run = await runCliCaptured([
      'replay',
      '-c',
      config,
      join(dir, 'knocks.log'),
      join(dir, 'knocks.log.1'),
      '--json',
    ]);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe(
      `knocktail: reading the files in the order of their first timestamp: ${join(dir, 'knocks.log.1')}, ${join(dir, 'knocks.log')}\n`,
    );
    expect(run.stdout).toContain('"event":"open","door":"ssh","src":"203.0.113.9"');
  });
});
