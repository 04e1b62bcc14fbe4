import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { existsSync, lstatSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { builtCli } from './support/built-cli.js';
import { CLASSIC_DOOR, createLiveRig, type LiveRig } from './support/live-rig.js';
import { must, runArgv, type ExecResult } from './support/netns.js';
import { missingRequirements } from './support/requirements.js';

// The .deb, installed on this machine with dpkg, run, upgraded and purged: enabled when
// KNOCKTAIL_DEB names the built package (`.ci/run` sets it after `npm run package:deb`).
// dpkg runs inside a network namespace, so the maintainer scripts' `teardown` acts there and
// never on the host's firewall; the daemon runs as the package's knocktail user, holding the
// unit's two capabilities, through /usr/bin/knocktail, inside the rig's server namespace.
const deb = process.env['KNOCKTAIL_DEB'];
const CONFIG = '/etc/knocktail/config.json';
const UNIT = '/usr/lib/systemd/system/knocktail.service';
// Directories other packages own too: dpkg leaves them, and so does this check.
const SHARED =
  /^\/(etc|lib|usr|usr\/share)(\/[^/]+)?$|^\/usr\/share\/(doc|man|man\/man\d|bash-completion|bash-completion\/completions|zsh|zsh\/vendor-completions|fish|fish\/vendor_completions\.d)$|^\/usr\/lib\/(systemd|systemd\/system|tmpfiles\.d)$/;

const describeDeb = deb === undefined ? describe.skip : describe;
if (deb === undefined)
  process.stderr.write(
    'skipping the .deb suite: set KNOCKTAIL_DEB=build/deb/knocktail_VERSION_all.deb (.ci/run does)\n',
  );

const mustLong = (argv: readonly string[]): Promise<ExecResult> => must(argv, { timeoutMs: 120_000 });

/** dpkg in a throwaway network namespace of its own, or in `ns`. */
const dpkg = (args: readonly string[], ns?: string): Promise<ExecResult> =>
  mustLong(ns === undefined ? ['unshare', '--net', 'dpkg', ...args] : ['ip', 'netns', 'exec', ns, 'dpkg', ...args]);

describeDeb('the Debian package', () => {
  let live: LiveRig | undefined;
  let installed: ExecResult;
  let files: string[] = [];

  beforeAll(async () => {
    const missing = missingRequirements(['dpkg', 'systemd-analyze', 'setpriv', 'unshare', 'rsyslogd', 'iptables']);
    if (missing.length > 0) throw new Error(`the .deb suite needs ${missing.join(', ')}`);
    // A package left by an interrupted run is purged first, so every run starts from scratch.
    if ((await runArgv(['dpkg-query', '-W', 'knocktail'])).exitCode === 0) await dpkg(['--purge', 'knocktail']);
    // Purge keeps the system user (as it should); this machine forgets it, so that every run
    // installs as on a fresh machine.
    if ((await runArgv(['id', 'knocktail'])).exitCode === 0)
      await mustLong(['deluser', '--quiet', '--system', 'knocktail']);
    if ((await runArgv(['getent', 'group', 'knocktail'])).exitCode === 0)
      await mustLong(['delgroup', '--quiet', '--system', 'knocktail']);
    installed = await dpkg(['-i', deb!]);
    files = (await mustLong(['dpkg', '-L', 'knocktail'])).stdout
      .split('\n')
      .filter((path) => path !== '' && path !== '/.');
  }, 180_000);

  afterAll(async () => {
    await live?.destroy();
    if ((await runArgv(['dpkg-query', '-W', 'knocktail'])).exitCode === 0)
      await dpkg(['--purge', 'knocktail']).catch(() => undefined);
  }, 120_000);

  test('the first install creates the knocktail system user, in no group but its own, and a config it may read, and arms nothing', async () => {
    expect(installed.stdout).toContain(
      `knocktail: wrote ${CONFIG}; the firewall guard is not armed and the daemon is not started.`,
    );
    const id = await mustLong(['id', 'knocktail']);
    expect(id.stdout).toMatch(/groups=\d+\(knocktail\)$/m);
    expect((await mustLong(['getent', 'passwd', 'knocktail'])).stdout).toMatch(
      /^knocktail:x:\d{3}:\d+:knocktail port-knocking daemon,*:\/var\/lib\/knocktail:\/usr\/sbin\/nologin$/m,
    );
    expect((await mustLong(['stat', '-c', '%a %U %G', '/etc/knocktail', CONFIG])).stdout).toBe(
      '750 root knocktail\n640 root knocktail\n',
    );
    expect((await mustLong(['knocktail', 'check-config', '--config', CONFIG])).stdout).toContain('config OK');
    // The first door's knock ports are this install's own, not the well-known examples.
    expect(await readFile(CONFIG, 'utf8')).not.toMatch(/31600|7000/);
    expect(existsSync('/etc/systemd/system/multi-user.target.wants/knocktail.service')).toBe(false);
    // Debian 13's merged /usr: nothing under /lib, whose directories dpkg would find "not empty" at purge.
    expect(files).toEqual(expect.arrayContaining([UNIT, '/usr/lib/tmpfiles.d/knocktail.conf']));
    expect(files.filter((path) => path === '/lib' || path.startsWith('/lib/'))).toEqual([]);
    // The man pages and completion, where man and the shells find them, once the build makes them.
    if (files.includes('/usr/share/man/man8/knocktail.8.gz')) {
      expect((await mustLong(['man', '-w', '8', 'knocktail'])).stdout.trim()).toBe(
        '/usr/share/man/man8/knocktail.8.gz',
      );
      expect(files).toEqual(
        expect.arrayContaining([
          '/usr/share/man/man5/knocktail.json.5.gz',
          '/usr/share/bash-completion/completions/knocktail',
        ]),
      );
      expect(files.filter((path) => path.startsWith('/usr/lib/knocktail/dist/man'))).toEqual([]);
    }
  });

  test('the installed replay (one bundled file) gives the shipped demo log the report the build gives it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kt-deb-replay-'));
    try {
      // The example config names its log and state beside it: a copy, so nothing is written under /usr/share/doc.
      await writeFile(
        join(dir, 'config.json'),
        await readFile('/usr/share/doc/knocktail/examples/config.json', 'utf8'),
      );
      await writeFile(
        join(dir, 'demo.log'),
        gunzipSync(await readFile('/usr/share/doc/knocktail/examples/demo.log.gz')),
      );
      const report = (result: ExecResult): string => result.stdout.replace(/^Replayed in .*$/m, '');
      const installedReport = report(
        await mustLong(['knocktail', 'replay', '--config', join(dir, 'config.json'), join(dir, 'demo.log')]),
      );
      expect(installedReport).toContain('3 opens');
      expect(installedReport).toBe(
        report(
          await mustLong([
            process.execPath,
            builtCli(),
            'replay',
            '--config',
            join(dir, 'config.json'),
            join(dir, 'demo.log'),
          ]),
        ),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('systemd accepts the installed unit and rates it 2.0 or lower', async () => {
    const verify = await runArgv(['systemd-analyze', 'verify', '--no-pager', UNIT]);
    expect(`${verify.stdout}${verify.stderr}`.trim()).toBe('');
    expect(verify.exitCode).toBe(0);
    expect(
      (await runArgv(['systemd-analyze', 'security', '--offline=true', '--threshold=20', '--no-pager', UNIT])).exitCode,
    ).toBe(0);
  });

  test('a knock through /usr/bin/knocktail, run by the knocktail user, opens ssh and the close knock closes it', async () => {
    live = await createLiveRig({
      backend: 'iptables',
      doors: [CLASSIC_DOOR],
      command: ['/usr/bin/knocktail'],
      runAs: 'knocktail',
    });
    await live.startDaemon();
    const { opened, closed } = await live.knockOpenAndClose(live.rig.serverV4);
    expect({ opened, closed, output: opened && closed ? '' : live.daemonOutput() }).toEqual({
      opened: true,
      closed: true,
      output: '',
    });
    // rsyslog (root) created the knock log with the group knocktail, which is how the knocktail user reads it (no adm).
    expect((await mustLong(['stat', '-c', '%U %G %a', live.logFile])).stdout).toBe('root knocktail 640\n');
    const events = (await live.auditRecords()).map((record) => record['event']);
    expect(events).toEqual(expect.arrayContaining(['open', 'close']));
    await live.stopDaemon('SIGTERM');
    // The guard stays armed after the daemon stops; the purge below must remove it.
    expect((await live.rig.exec(live.rig.server, ['iptables-save'])).stdout).toContain('KNOCKTAIL-GUARD');
  }, 90_000);

  test('an upgrade keeps the config as the admin left it', async () => {
    const config = JSON.parse(await readFile(CONFIG, 'utf8')) as { doors: { openFor?: string }[] };
    config.doors[0]!.openFor = '2h';
    const edited = `${JSON.stringify(config, null, 2)}\n`;
    await writeFile(CONFIG, edited);
    const upgrade = await dpkg(['-i', deb!]);
    expect(upgrade.stdout).not.toContain('knocktail: wrote');
    expect(await readFile(CONFIG, 'utf8')).toBe(edited);
  }, 120_000);

  test('purge stops, tears the firewall down and leaves no file, rule or set of knocktail behind', async () => {
    // What the daemon leaves when it ran as a service.
    for (const dir of ['/var/lib/knocktail', '/var/log/knocktail']) await mkdir(dir, { recursive: true });
    await writeFile('/var/lib/knocktail/grants.json', '[]\n');
    await writeFile('/var/log/knocktail/audit.log', '');
    const purge = await dpkg(['--purge', 'knocktail'], live!.rig.server);
    expect(purge.stdout).toContain('knocktail: firewall rules removed');
    expect((await runArgv(['dpkg-query', '-W', 'knocktail'])).exitCode).not.toBe(0);
    const left = [
      ...files.filter((path) => !SHARED.test(path)),
      '/etc/knocktail',
      '/var/lib/knocktail',
      '/var/log/knocktail',
      '/run/knocktail',
    ].filter((path) => {
      try {
        lstatSync(path);
        return true;
      } catch {
        return false;
      }
    });
    expect(left).toEqual([]);
    expect(files.length).toBeGreaterThan(100);
    for (const argv of [['iptables-save'], ['ip6tables-save'], ['nft', 'list', 'ruleset'], ['ipset', 'list', '-n']]) {
      expect((await live!.rig.exec(live!.rig.server, argv)).stdout).not.toMatch(/knocktail/i);
    }
    // Debian's practice: the system user stays, so no later package inherits its uid's files.
    expect((await runArgv(['id', 'knocktail'])).exitCode).toBe(0);
  }, 120_000);
});
