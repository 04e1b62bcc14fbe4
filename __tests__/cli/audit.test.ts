import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { COMMANDS } from '../../src/cli/command-table.js';
import type { CliContext } from '../../src/cli/context.js';
import { runCli } from '../../src/cli/program.js';
import { FIXTURE_RECORDS } from '../audit/fixture-records.js';
import { runCliCaptured } from './run-cli.js';
import { sleep } from '../support/helpers.js';

class Capture extends Writable {
  text = '';
  isTTY = false;
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

function context(argv: string[], env: Record<string, string> = {}) {
  const stdout = new Capture();
  const stderr = new Capture();
  const stops: (() => void)[] = [];
  const ctx: CliContext = {
    argv,
    env,
    cwd: '/',
    stdout,
    stderr,
    signals: { onStop: (fn) => stops.push(fn), onReload: () => undefined },
  };
  return { ctx, stdout, stderr, stop: () => stops.forEach((fn) => fn()) };
}

// The audit command alone, wired as program.ts wires every command, so this suite does
// not depend on the other commands being built.
const AUDIT_ONLY = COMMANDS.filter((command) => command.name === 'audit');

async function cli(argv: string[], env?: Record<string, string>) {
  const { ctx, stdout, stderr } = context(argv, env);
  const code = await runCli(ctx, AUDIT_ONLY);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

const line = (index: number): string => `${JSON.stringify(FIXTURE_RECORDS[index])}\n`;
describe('knocktail audit', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'knocktail-cli-audit-'));
    path = join(dir, 'audit.log');
    // Older half rotated and gzipped, a plain rotation, then the live file with a junk line.
    writeFileSync(
      `${path}.2.gz`,
      gzipSync(
        FIXTURE_RECORDS.slice(0, 4)
          .map((_, i) => line(i))
          .join(''),
      ),
    );
    writeFileSync(`${path}.1`, [4, 5, 6, 7].map(line).join(''));
    writeFileSync(path, [8, 9, 10, 11].map(line).join('') + 'garbage\n');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('prints the grant table over the live log and its rotations, and counts malformed lines on stderr', async () => {
    const { code, stdout, stderr } = await cli(['audit', '--file', path]);
    expect(code).toBe(0);
    expect(stdout.split('\n')[0]).toMatch(
      /^SOURCE\s+DOOR\s+PORTS\s+OPENED \(UTC\)\s+CLOSED \(UTC\)\s+OPEN FOR\s+WHY CLOSED$/,
    );
    expect(stdout).toMatch(
      /203\.0\.113\.9\s+ssh\s+tcp:22\s+2026-11-23 08:00:00\s+2026-11-23 09:30:00\s+1h 30m\s+expired\n/,
    );
    expect(stdout).toMatch(/198\.51\.100\.20 .* expired while down\n/);
    expect(stdout).toContain('4 grants, 0 still open');
    expect(stdout).not.toContain('\u001b[');
    expect(stderr).toBe(`knocktail: skipped 1 malformed line in ${path}\n`);
  });

  test('--json prints the matching records as JSON lines in log order', async () => {
    const { code, stdout } = await cli([
      'audit',
      '--file',
      path,
      '--json',
      '--src',
      '203.0.113.0/24',
      '--since',
      '2026-11-23T09:00Z',
    ]);
    expect(code).toBe(0);
    expect(
      stdout
        .trimEnd()
        .split('\n')
        .map((text) => JSON.parse(text) as unknown),
    ).toEqual([FIXTURE_RECORDS[3], FIXTURE_RECORDS[6], FIXTURE_RECORDS[7], FIXTURE_RECORDS[8]]);
  });

  test('--event prints a table of records instead of grants', async () => {
    const { stdout } = await cli(['audit', '--file', path, '--event', 'reject']);
    expect(stdout).toMatch(/^AT \(UTC\)\s+EVENT\s+DOOR\s+SOURCE\s+DETAIL\n/);
    expect(stdout).toContain('2 records');
    expect(stdout).toMatch(/2026-11-24 09:00:00\s+reject\s+ssh\s+198\.51\.100\.66\s+banned/);
  });

  test('--summary prints totals per door and source and opens per day', async () => {
    const { stdout } = await cli(['audit', '--file', path, '--summary', '--door', 'ssh']);
    expect(stdout).toMatch(/^Doors\nDOOR\s+OPENS\s+SOURCES\s+LONGEST\s+REJECTED\nssh\s+3\s+3\s+3h 00m\s+2\n/);
    expect(stdout).toMatch(/2026-11-23 {2}█+▌? 1\n2026-11-24 {2}█+ 2\n/);
  });

  test('--summary --json gives the same totals as data', async () => {
    const { stdout } = await cli(['audit', '--file', path, '--summary', '--json']);
    const summary = JSON.parse(stdout) as { doors: unknown; days: unknown };
    expect(summary.doors).toEqual([
      { name: 'classic', opens: 1, distinct: 1, longest: 330_000, rejected: 0 },
      { name: 'ssh', opens: 3, distinct: 3, longest: 10_800_000, rejected: 2 },
    ]);
    expect(summary.days).toEqual([
      { day: '2026-11-23', opens: 2 },
      { day: '2026-11-24', opens: 2 },
    ]);
  });

  test('colour only on a terminal, and not with NO_COLOR', async () => {
    const tty = context(['audit', '--file', path]);
    tty.stdout.isTTY = true;
    await runCli(tty.ctx, AUDIT_ONLY);
    expect(tty.stdout.text).toContain('\u001b[1mSOURCE');
    const noColor = context(['audit', '--file', path], { NO_COLOR: '1' });
    noColor.stdout.isTTY = true;
    await runCli(noColor.ctx, AUDIT_ONLY);
    expect(noColor.stdout.text).not.toContain('\u001b[');
  });

  test('reads the audit log named in the config', async () => {
    const config = join(dir, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        logFile: join(dir, 'knocks.log'),
        stateDir: join(dir, 'state'),
        auditLog: path,
        firewall: { backend: 'dry-run' },
        doors: [{ name: 'ssh', sequence: ['tcp:7000'], open: ['tcp:22'] }],
      }),
    );
    const { code, stdout, stderr } = await cli(['audit', '--config', config, '--json', '--event', 'open']);
    expect(stderr).toContain('malformed');
    expect(code).toBe(0);
    expect(stdout.trimEnd().split('\n')).toHaveLength(4);
  });

  test('a grant whose end passed with no close record shows as expired (no close record), counted to its end, not still open', async () => {
    const open = { event: 'open', door: 'ssh', ports: ['tcp:22'], by: 'knock' };
    const unclosed = join(dir, 'unclosed.log');
    writeFileSync(
      unclosed,
      [
        { ...open, at: '2020-01-01T10:00:00.000Z', src: '203.0.113.7', until: '2020-01-01T11:00:00.000Z' },
        { ...open, at: '2020-01-01T10:00:00.000Z', src: '203.0.113.8', until: '2999-01-01T00:00:00.000Z' },
      ]
        .map((record) => `${JSON.stringify(record)}\n`)
        .join(''),
    );
    const { code, stdout } = await cli(['audit', '--file', unclosed]);
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /203\.0\.113\.7\s+ssh\s+tcp:22\s+2020-01-01 10:00:00\s+-\s+1h 00m\s+expired \(no close record\)\n/,
    );
    expect(stdout).toMatch(/203\.0\.113\.8 .* still open\n/);
    expect(stdout).toContain('2 grants, 1 still open, 1 expired with no close record');
  });

  test('--file - reads the audit records from standard input', async () => {
    const records = FIXTURE_RECORDS.slice(0, 12)
      .map((_, i) => line(i))
      .join('');
    const fromFile = await runCliCaptured(['audit', '--file', path, '--json', '--door', 'ssh']);
    const fromStdin = await runCliCaptured(['audit', '--file', '-', '--json', '--door', 'ssh'], {
      stdin: `${records}garbage`,
    });
    expect(fromStdin).toMatchObject({
      code: 0,
      stdout: fromFile.stdout,
      stderr: 'knocktail: skipped 1 malformed line in standard input\n',
    });
    expect((await runCliCaptured(['audit', '--file', '-', '--follow'], { stdin: records })).code).toBe(2);
  });

  test('mistakes are usage errors (exit 2) that say what was expected', async () => {
    expect(await cli(['audit', '--file', path, '--since', 'soonish'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('Expected --since to be an ISO time'),
    });
    expect(await cli(['audit', '--file', path, '--src', 'example.com'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('Expected --src to be an IP address or CIDR'),
    });
    expect(await cli(['audit', '--file', path, '--follow', '--summary'])).toMatchObject({ code: 2 });
  });

  test('a missing audit log is a runtime error naming the path', async () => {
    const missing = join(dir, 'nowhere', 'audit.log');
    expect(await cli(['audit', '--file', missing])).toMatchObject({
      code: 1,
      stderr: `knocktail: Expected an audit log at ${missing} (or rotated copies of it), found none\n`,
    });
  });

  test('--follow prints records as they are written and stops on the stop signal', async () => {
    // With --since the live file is read from its start, so there is no race with the append.
    const run = context(['audit', '--file', path, '--follow', '--json', '--since', '2026-11-24T11:00Z']);
    const done = runCli(run.ctx, AUDIT_ONLY);
    appendFileSync(path, line(12));
    for (let waited = 0; !run.stdout.text.includes('\n'); waited += 10) {
      if (waited > 5000) throw new Error('no record printed');
      await sleep(10);
    }
    run.stop();
    expect(await done).toBe(0);
    expect(
      run.stdout.text
        .trimEnd()
        .split('\n')
        .map((text) => JSON.parse(text) as unknown),
    ).toEqual([FIXTURE_RECORDS[12]]);
  });
});
