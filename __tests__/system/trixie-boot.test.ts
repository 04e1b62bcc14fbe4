import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from '../support/helpers.js';
import { builtCli } from './support/built-cli.js';
import {
  bootContainer,
  CONTAINER_ADDRESS,
  ensureImage,
  HOST_ADDRESS,
  readInContainer,
  type Container,
} from './support/nspawn.js';
import { missingRequirements, systemTestsRequired } from './support/requirements.js';
import type { ExecResult } from './support/netns.js';

// Issue 18: the .deb on a booted Debian 13 (systemd 257 as PID 1, in systemd-nspawn), used as
// an admin would: dpkg -i, README.Debian, systemctl enable --now, a knock from outside, a
// restart, apt-get purge. Inside a container LOG lines reach no log (nf_log_all_netns is 0 on
// this machine), so the LOG source must refuse to arm (the canary) and leave ssh reachable;
// the package's own config (install picks "nflog" in a container) reads knocks through
// knocktail's ulogd2. Enabled when KNOCKTAIL_DEB names the built package (.ci/run sets it).
const deb = process.env['KNOCKTAIL_DEB'];
const CONFIG = '/etc/knocktail/config.json';

const describeDeb = deb === undefined ? describe.skip : describe;
if (deb === undefined)
  process.stderr.write(
    'skipping the Debian 13 boot suite: set KNOCKTAIL_DEB=build/deb/knocktail_VERSION_all.deb (.ci/run does)\n',
  );

describeDeb('the .deb on a booted Debian 13', () => {
  let container: Container;
  let files: string[] = [];

  const must = async (argv: readonly string[], timeoutMs?: number): Promise<ExecResult> => {
    const result = await container.exec(argv, timeoutMs);
    if (result.exitCode !== 0)
      throw new Error(`${argv.join(' ')} → ${result.exitCode}\n${result.stdout}${result.stderr}`);
    return result;
  };
  // A new TCP connection from the host side to the container's sshd.
  const sshReachable = async (): Promise<boolean> => {
    const script = `const s = require('node:net').connect({ host: '${CONTAINER_ADDRESS}', port: 22 }); s.setTimeout(1500, () => process.exit(1)); s.on('connect', () => process.exit(0)); s.on('error', () => process.exit(1));`;
    return (await container.hostExec([process.execPath, '-e', script])).exitCode === 0;
  };
  const waitSsh = async (want: boolean, timeoutMs: number): Promise<boolean> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if ((await sshReachable()) === want) return true;
      if (Date.now() > deadline) return false;
      await sleep(250);
    }
  };
  const unit = async (): Promise<Record<string, string>> => {
    const shown = await container.exec([
      'systemctl',
      'show',
      'knocktail',
      '-p',
      'ActiveState',
      '-p',
      'SubState',
      '-p',
      'NRestarts',
      '-p',
      'ExecMainStatus',
    ]);
    return Object.fromEntries(
      shown.stdout
        .split('\n')
        .filter((line) => line.includes('='))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
  };
  const journal = async (): Promise<string> =>
    (await container.exec(['journalctl', '-u', 'knocktail', '--no-pager', '-o', 'cat'])).stdout;

  beforeAll(async () => {
    const missing = missingRequirements(['debootstrap', 'systemd-nspawn', 'nsenter', 'tar', 'ip']);
    if (missing.length > 0)
      throw new Error(
        `the Debian 13 boot suite needs ${missing.join(', ')}${systemTestsRequired ? '' : ' (install debootstrap and systemd-container)'}`,
      );
    await ensureImage();
    container = await bootContainer();
    await copyFile(deb!, join(container.root, 'root', 'knocktail.deb'));
  }, 25 * 60_000);

  afterAll(async () => {
    await (container as Container | undefined)?.destroy(); // unset when beforeAll failed
  }, 120_000);

  test('dpkg -i installs the package under /usr/lib, writes a config that reads NFLOG in a container, and arms nothing', async () => {
    const installed = await must(['dpkg', '-i', '/root/knocktail.deb']);
    expect(installed.stdout).toContain(
      `knocktail: wrote ${CONFIG}; the firewall guard is not armed and the daemon is not started.`,
    );
    files = (await must(['dpkg', '-L', 'knocktail'])).stdout.split('\n').filter((path) => path !== '' && path !== '/.');
    expect(files).toEqual(
      expect.arrayContaining(['/usr/lib/systemd/system/knocktail.service', '/usr/lib/tmpfiles.d/knocktail.conf']),
    );
    expect((await must(['stat', '-c', '%U %G %a', '/run/xtables.lock'])).stdout).toBe('root knocktail 640\n');
    const config = JSON.parse(await readInContainer(container, CONFIG)) as { source?: string };
    expect(config.source).toBe('nflog');
    expect((await container.exec(['iptables-save'])).stdout).not.toContain('KNOCKTAIL');
    expect(await sshReachable()).toBe(true);
  }, 180_000);

  test('with the LOG source the daemon refuses to arm under systemd, says what to configure, and ssh stays reachable', async () => {
    const original = await readInContainer(container, CONFIG);
    const config = JSON.parse(original) as Record<string, unknown>;
    await writeFile(join(container.root, CONFIG), `${JSON.stringify({ ...config, source: 'file' }, null, 2)}\n`);
    try {
      // Type=notify: the start itself fails, as the daemon exits before it is ready.
      const started = await container.exec(['systemctl', 'start', 'knocktail'], 60_000);
      expect(started.exitCode).not.toBe(0);
      expect(started.stderr).toMatch(/Job for knocktail\.service failed/);
      const log = await journal();
      // The unit ran: no namespace failure, and the daemon's own words.
      expect(log).not.toMatch(/226\/NAMESPACE|Failed to set up mount namespacing/);
      expect(log).toMatch(
        /Refusing to arm the guard: no line of the canary \(udp to 127\.0\.0\.1:\d+, tagged "knocktail: "\) came through \/var\/log\/knocktail\/knocks\.log within 5s/,
      );
      expect(log).toMatch(/this is a container \(systemd-nspawn\).*"source": "nflog"/);
      expect(await sshReachable()).toBe(true);
      expect((await container.exec(['iptables-save'])).stdout).not.toContain('KNOCKTAIL-GUARD');
    } finally {
      await container.exec(['systemctl', 'stop', 'knocktail']);
      await container.exec(['systemctl', 'reset-failed', 'knocktail']);
      await writeFile(join(container.root, CONFIG), original);
    }
    expect(await sshReachable()).toBe(true);
  }, 120_000);

  test("README.Debian's steps: the unit runs with no restart, hides sshd, and the door's knock opens it", async () => {
    expect((await must(['knocktail', 'check-config'])).stdout).toContain('config OK');
    await must(['systemctl', 'daemon-reload']);
    await must(['systemctl', 'enable', '--now', 'knocktail-ulogd']);
    await must(['systemctl', 'enable', '--now', 'knocktail']);
    const hidden = await waitSsh(false, 15_000);
    // On failure the journal says why (the canary's verdict, a sandbox error).
    expect({ hidden, journal: hidden ? '' : await journal() }).toEqual({ hidden: true, journal: '' });
    expect(await unit()).toMatchObject({ ActiveState: 'active', SubState: 'running', NRestarts: '0' });
    // ulogd writes the knock log as the rsyslog drop-in would: root:knocktail 0640, which the daemon (in no other group) reads.
    expect((await must(['stat', '-c', '%U %G %a', '/var/log/knocktail/knocks.log'])).stdout).toBe(
      'root knocktail 640\n',
    );
    expect(await journal()).toMatch(
      /log path: OK, the canary \(udp 127\.0\.0\.1:\d+\) came back through \/var\/log\/knocktail\/knocks\.log \(ulogd2, NFLOG group 7\)/,
    );
    const door = (JSON.parse(await readInContainer(container, CONFIG)) as { doors: { sequence: string[] }[] })
      .doors[0]!;
    const knock = await container.hostExec([
      process.execPath,
      builtCli(),
      'knock',
      CONTAINER_ADDRESS,
      ...door.sequence,
    ]);
    expect(knock.exitCode).toBe(0);
    expect(await waitSsh(true, 10_000)).toBe(true);
  }, 180_000);

  test('the grant survives systemctl restart knocktail', async () => {
    await must(['systemctl', 'restart', 'knocktail']);
    await sleep(2000);
    expect(await unit()).toMatchObject({ ActiveState: 'active', NRestarts: '0' });
    expect(await sshReachable()).toBe(true);
  }, 120_000);

  test('an SPA door under the hardened unit: one knocktail knock --spa packet from the host opens sshd', async () => {
    // Close the knock's grant first, so only the SPA packet can open sshd again.
    await must(['knocktail', 'revoke', HOST_ADDRESS]);
    expect(await waitSsh(false, 10_000)).toBe(true);
    const key = randomBytes(32).toString('base64');
    const hmacKey = randomBytes(64).toString('base64');
    const keys = await mkdtemp(join(tmpdir(), 'kt-spa-keys-'));
    try {
      for (const [name, value] of [
        ['spa.key', key],
        ['spa-hmac.key', hmacKey],
      ] as const) {
        await writeFile(join(keys, name), `${value}\n`, { mode: 0o600 });
        await writeFile(join(container.root, 'etc', 'knocktail', name), `${value}\n`, { mode: 0o600 });
        await must(['chown', 'knocktail:knocktail', `/etc/knocktail/${name}`]);
      }
      const config = JSON.parse(await readInContainer(container, CONFIG)) as { doors: unknown[] };
      config.doors.push({
        name: 'spa',
        spa: { port: 62201, keyFile: '/etc/knocktail/spa.key', hmacKeyFile: '/etc/knocktail/spa-hmac.key' },
        open: ['tcp:22'],
        openFor: '5m',
      });
      await writeFile(join(container.root, CONFIG.slice(1)), `${JSON.stringify(config, null, 2)}\n`);
      // check-config as root: the keys pass, and nothing is said about their owner or mode.
      expect((await must(['knocktail', 'check-config'])).stdout).not.toMatch(/spa\.(hmacK|k)eyFile/);
      // A new SPA port is read from the next start on.
      await must(['systemctl', 'restart', 'knocktail']);
      // Type=notify: restart returns once the daemon is ready (guard armed, captures listening), so
      // status is the daemon's own at once (not the state file's: "daemon": false) and a packet sent now counts.
      expect((await must(['knocktail', 'status', '--json'])).stdout).toContain('"daemon":true');
      expect(await sshReachable()).toBe(false);
      const knock = await container.hostExec([
        process.execPath,
        builtCli(),
        'knock',
        CONTAINER_ADDRESS,
        '--spa',
        '--key-file',
        join(keys, 'spa.key'),
        '--hmac-key-file',
        join(keys, 'spa-hmac.key'),
      ]);
      expect(knock.exitCode).toBe(0);
      const opened = await waitSsh(true, 10_000);
      const why = async (): Promise<string> =>
        [
          await journal(),
          (await container.exec(['ps', '-eo', 'pid,user,args'])).stdout,
          (await container.exec(['iptables-save'])).stdout,
          (await container.exec(['knocktail', 'status', '--json'])).stdout,
          knock.stdout + knock.stderr,
        ].join('\n');
      expect({ opened, why: opened ? '' : await why() }).toEqual({ opened: true, why: '' });
      expect(await unit()).toMatchObject({ ActiveState: 'active', SubState: 'running', NRestarts: '0' });
      const status = JSON.parse((await must(['knocktail', 'status', '--json'])).stdout) as {
        counters: Record<string, number>;
      };
      expect(status.counters).toMatchObject({ spaPackets: 1, spaAccepted: 1 });
    } finally {
      await rm(keys, { recursive: true, force: true });
    }
  }, 120_000);

  test('apt-get purge leaves no rule, set, table or file of knocktail, and dpkg finds no directory "not empty"', async () => {
    const purge = await must(['apt-get', 'purge', '-y', 'knocktail'], 180_000);
    expect(`${purge.stdout}${purge.stderr}`).not.toMatch(/not empty/);
    for (const argv of [['iptables-save'], ['ip6tables-save'], ['nft', 'list', 'ruleset'], ['ipset', 'list', '-n']]) {
      expect((await container.exec(argv)).stdout).not.toMatch(/knocktail/i);
    }
    const shared =
      /^\/(etc|usr|usr\/share|usr\/lib|usr\/bin)(\/[^/]+)?$|^\/usr\/share\/(doc|man|man\/man\d|bash-completion|bash-completion\/completions|zsh|zsh\/vendor-completions|fish|fish\/vendor_completions\.d)$|^\/usr\/lib\/(systemd|systemd\/system|tmpfiles\.d)$/;
    const candidates = [
      ...files.filter((path) => !shared.test(path)),
      '/etc/knocktail',
      '/var/lib/knocktail',
      '/var/log/knocktail',
      '/run/knocktail',
      '/etc/systemd/system/knocktail-ulogd.service',
    ];
    // One look inside for all of them (a few thousand paths: node_modules).
    const left = await container.exec([
      'sh',
      '-c',
      'for path in "$@"; do [ -e "$path" ] || [ -L "$path" ] && echo "$path"; done; true',
      'sh',
      ...candidates,
    ]);
    expect(left.stdout).toBe('');
    expect(await sshReachable()).toBe(true);
  }, 240_000);
});
