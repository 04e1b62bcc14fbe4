import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderLogrotateSnippet } from '../../src/install/logrotate-snippet.js';
import { runArgv } from './support/netns.js';
import { describeSystem } from './support/requirements.js';

// The shipped logrotate snippet under the real logrotate, on a staging tree with its own
// state file: `-d` must accept it as shipped, and a forced run (with the rsyslog HUP swapped
// for a marker file, so the host's rsyslog is never signalled) must rotate by rename.

const shipped = readFileSync(new URL('../../logrotate/knocktail', import.meta.url), 'utf8');
const HUP = 'systemctl kill --signal=HUP --kill-who=main rsyslog.service >/dev/null 2>&1 || true';

describeSystem('the logrotate snippet', ['logrotate'], () => {
  let dir: string;
  let knocks: string;
  let audit: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ktdep-logrotate-'));
    await mkdir(join(dir, 'log'));
    knocks = join(dir, 'log', 'knocks.log');
    audit = join(dir, 'log', 'audit.log');
    await writeFile(knocks, 'a knock line\n');
    await writeFile(audit, '{"event":"open"}\n');
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('logrotate -d accepts the rendered snippet and would rotate both logs, then signal rsyslog', async () => {
    expect(shipped).toContain(HUP);
    const conf = join(dir, 'debug.conf');
    await writeFile(conf, renderLogrotateSnippet(shipped, { logFile: knocks, auditLog: audit }));
    const result = await runArgv(['logrotate', '-d', '-f', '-s', join(dir, 'debug.state'), conf]);
    const output = `${result.stdout}${result.stderr}`;
    expect(result.exitCode).toBe(0);
    expect(output).not.toMatch(/^error:/m);
    expect(output).toContain(`rotating log ${knocks}`);
    expect(output).toContain(`rotating log ${audit}`);
    expect(output).toContain('running postrotate script');
    expect(existsSync(`${knocks}.1`)).toBe(false);
  });

  test('a forced rotation renames the logs, creates fresh 0640 ones, delays compression a cycle and runs the postrotate once', async () => {
    const marker = join(dir, 'hupped');
    const conf = join(dir, 'real.conf');
    const rendered = renderLogrotateSnippet(shipped, { logFile: knocks, auditLog: audit }).replace(
      HUP,
      `echo hup >> ${marker}`,
    );
    await writeFile(conf, rendered);
    const state = join(dir, 'real.state');
    const first = await runArgv(['logrotate', '-f', '-s', state, conf]);
    expect(first.stderr).toBe('');
    expect(await readFile(`${knocks}.1`, 'utf8')).toBe('a knock line\n');
    expect(await readFile(knocks, 'utf8')).toBe('');
    expect(((await stat(knocks)).mode & 0o777).toString(8)).toBe('640');
    expect(await readFile(marker, 'utf8')).toBe('hup\n');

    await writeFile(knocks, 'a later line\n');
    await writeFile(audit, '{"event":"close"}\n');
    await runArgv(['logrotate', '-f', '-s', state, conf]);
    expect(existsSync(`${knocks}.2.gz`)).toBe(true);
    expect(await readFile(`${knocks}.1`, 'utf8')).toBe('a later line\n');
    expect(existsSync(`${audit}.2.gz`)).toBe(true);
  });
});
