import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { builtCli } from './support/built-cli.js';
import { createRig, enableLogAllNetns, type Rig } from './support/netns.js';
import { describeSystem } from './support/requirements.js';

// `knocktail install` on a real root (setup only with --now), without touching the host: the CLI
// runs in a test network namespace (so setup's iptables rules land there) and in a private
// mount namespace whose /etc and /var are overlays with upper directories in a temp dir (so
// every file it writes lands there). It runs the build of `npm run build`, as users do.

const CONFIG = '/etc/ktdep-install-test/config.json';

// The fields of an installed config this test reads back.
interface InstalledConfig {
  doors: { sequence: string[]; closeSequence: string[]; openFor: string }[];
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function isInstalledConfig(value: unknown): value is InstalledConfig {
  if (typeof value !== 'object' || value === null || !('doors' in value) || !Array.isArray(value.doors)) return false;
  return value.doors.every(
    (door: unknown) =>
      typeof door === 'object' &&
      door !== null &&
      'sequence' in door &&
      isStringArray(door.sequence) &&
      'closeSequence' in door &&
      isStringArray(door.closeSequence) &&
      'openFor' in door &&
      typeof door.openFor === 'string',
  );
}

const OVERLAID = String.raw`
set -e
up="$1"; shift
for dir in etc var; do
  mkdir -p "$up/$dir-up" "$up/$dir-work"
  mount -t overlay overlay -o "lowerdir=/$dir,upperdir=$up/$dir-up,workdir=$up/$dir-work" "/$dir"
done
# A host, as install sees it, even when the test machine is a container (CI's is): install
# picks the NFLOG source in a container, which its own tests cover.
printf '#!/bin/sh\necho none\nexit 1\n' >"$up/detect-virt"; chmod +x "$up/detect-virt"
mount --bind "$up/detect-virt" "$(command -v systemd-detect-virt)"
[ ! -e /run/systemd/container ] || mount --bind /dev/null /run/systemd/container
exec "$@"
`;

describeSystem('knocktail install on a real root', ['ip', 'iptables', 'unshare', 'mount'], () => {
  let rig: Rig | undefined;
  let upper: string;
  let restoreLogAllNetns: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    upper = await mkdtemp(join(tmpdir(), 'ktdep-overlay-'));
    rig = await createRig('ktdep');
  }, 60_000);

  afterAll(async () => {
    await restoreLogAllNetns?.();
    await rig?.destroy();
    if (upper) await rm(upper, { recursive: true, force: true });
  }, 30_000);

  const install = (...flags: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> =>
    rig!.exec(
      rig!.server,
      [
        'unshare',
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        OVERLAID,
        'overlaid',
        upper,
        process.execPath,
        builtCli(),
        'install',
        '--config',
        CONFIG,
        ...flags,
      ],
      {
        timeoutMs: 30_000,
      },
    );
  const installedConfig = async (): Promise<InstalledConfig> => {
    const parsed: unknown = JSON.parse(await readFile(join(upper, 'etc-up', CONFIG.replace(/^\/etc\//, '')), 'utf8'));
    if (!isInstalledConfig(parsed))
      throw new Error('Expected the installed config to have doors with sequence, closeSequence and openFor');
    return parsed;
  };

  const mode = async (path: string): Promise<string> => ((await stat(join(upper, path))).mode & 0o777).toString(8);

  test('a first run writes every file with its mode, prints the random knock, and leaves the guard unarmed', async () => {
    const result = await install();
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('7 changes made.');
    expect(result.stdout).toContain('firewall setup skipped: not armed yet, so ssh stays open');
    expect(await mode('etc-up/ktdep-install-test')).toBe('750');
    expect(await mode('etc-up/ktdep-install-test/config.json')).toBe('640');
    expect(await mode('var-up/lib/knocktail')).toBe('700');
    expect(await mode('var-up/log/knocktail')).toBe('750');
    expect(await mode('etc-up/rsyslog.d/30-knocktail.conf')).toBe('644');
    expect(await mode('etc-up/systemd/system/knocktail.service')).toBe('644');
    expect(await mode('etc-up/logrotate.d/knocktail')).toBe('644');
    const [door] = (await installedConfig()).doors;
    const ports = [...door!.sequence, ...door!.closeSequence].map((step) => Number(step.replace(/^tcp:/, '')));
    expect(new Set(ports).size).toBe(4);
    for (const port of ports) expect(port >= 1024 && (port < 32768 || port > 60999)).toBe(true);
    expect(door!.openFor).toBe('1h');
    expect(result.stdout).toContain(`Client command: knocktail knock HOST ${door!.sequence.join(' ')}\n`);
    const rules = (await rig!.exec(rig!.server, ['iptables', '-w', '-S'])).stdout;
    expect(rules).not.toContain('KNOCKTAIL');
  });

  // --now arms only once the canary came back through the config's source. No rsyslog runs
  // inside the overlay, so the config reads /dev/kmsg (which sees the namespace's LOG lines with
  // nf_log_all_netns=1); the config is the admin's, so install leaves it as it is.
  const readKmsg = async (): Promise<void> => {
    const path = join(upper, 'etc-up', CONFIG.replace(/^\/etc\//, ''));
    const config = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    await writeFile(path, JSON.stringify({ ...config, source: 'kmsg' }, null, 2));
    restoreLogAllNetns ??= await enableLogAllNetns();
  };

  test('install --now arms the guard with the config it wrote, changing no file', async () => {
    await readKmsg();
    const result = await install('--now');
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('Nothing changed: everything was installed already.');
    expect(result.stdout).toContain('firewall setup done');
    const [door] = (await installedConfig()).doors;
    const rules = (await rig!.exec(rig!.server, ['iptables', '-w', '-S'])).stdout;
    expect(rules).toContain('-A INPUT -j KNOCKTAIL-GUARD');
    for (const step of door!.sequence)
      expect(rules).toMatch(new RegExp(`--dport ${step.replace(/^tcp:/, '')} .*-j LOG --log-prefix "knocktail: "`));
  });

  test('a second install --now leaves one copy of each rule', async () => {
    const before = (await rig!.exec(rig!.server, ['iptables', '-w', '-S'])).stdout;
    const result = await install('--now');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('Nothing changed: everything was installed already.');
    const after = (await rig!.exec(rig!.server, ['iptables', '-w', '-S'])).stdout;
    expect(after).toBe(before);
    expect(after.match(/^-A INPUT -j KNOCKTAIL-GUARD$/gm)).toHaveLength(1);
  });

  test("the host's own /etc never sees the install", async () => {
    await expect(stat(dirname(CONFIG))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readFile(join(upper, 'etc-up', CONFIG.replace(/^\/etc\//, '')), 'utf8')).toContain('"name": "ssh"');
  });
});
