import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { mkdtemp, readFile, readdir, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QUIET_HOST, runCliCaptured } from '../cli/run-cli.js';
import { loadConfig } from '../../src/config/load-config.js';

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

async function knocktail(argv: string[], cwd: string): Promise<Run> {
  const { code, stdout, stderr } = await runCliCaptured(argv, { cwd });
  return { code, out: stdout, err: stderr };
}

async function mode(path: string): Promise<string> {
  return ((await stat(path)).mode & 0o777).toString(8);
}

async function listTree(dir: string, prefix = ''): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = `${prefix}/${entry.name}`;
    found.push(path);
    if (entry.isDirectory()) found.push(...(await listTree(join(dir, entry.name), path)));
  }
  return found.sort();
}

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'ktdep-install-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('knocktail install --root', () => {
  test('a first run writes the skeleton, the directories and the snippets with their modes', async () => {
    const run = await knocktail(['install', '--root', root], '/');
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(await mode(join(root, 'etc/knocktail'))).toBe('750');
    expect(await mode(join(root, 'etc/knocktail/config.json'))).toBe('640');
    expect(await mode(join(root, 'var/lib/knocktail'))).toBe('700');
    expect(await mode(join(root, 'var/log/knocktail'))).toBe('750');
    expect(await mode(join(root, 'etc/rsyslog.d/30-knocktail.conf'))).toBe('644');
    expect(await mode(join(root, 'etc/systemd/system/knocktail.service'))).toBe('644');
    expect(await mode(join(root, 'etc/logrotate.d/knocktail'))).toBe('644');
    expect(run.out).toContain('firewall setup skipped: staging root');
    expect(run.out).toContain('systemctl enable --now knocktail');
  });

  test('the skeleton it writes is a valid config', async () => {
    await knocktail(['install', '--root', root], '/');
    const config = await loadConfig(join(root, 'etc/knocktail/config.json'));
    expect(config.doors.map((door) => door.name)).toEqual(['ssh']);
  });

  test('the skeleton knocks on ports drawn from the random source, and the report prints them with the client command', async () => {
    const draws = [0, 10, 20, 30];
    let i = 0;
    const host = { ...QUIET_HOST, randomInt: (bound: number) => draws[i++]! % bound };
    const { stdout } = await runCliCaptured(['install', '--root', root], { cwd: '/', host });
    // Pool: 1024-32767 then 61000-65535; a partial Fisher-Yates shuffle with draws 0, 10, 20, 30.
    const config = await loadConfig(join(root, 'etc/knocktail/config.json'));
    const [door] = config.doors;
    expect(door!.sequence).toEqual([1024, 1035, 1046, 1057].slice(0, 3).map((port) => ({ proto: 'tcp', port })));
    expect(door!.closeSequence).toEqual([{ proto: 'tcp', port: 1057 }]);
    expect(door!.openFor).toBe(3_600_000);
    expect(stdout).toContain('Door "ssh": knock tcp:1024 tcp:1035 tcp:1046 → opens tcp:22 for 1h; close: tcp:1057\n');
    expect(stdout).toContain('Client command: knocktail knock HOST tcp:1024 tcp:1035 tcp:1046\n');
    expect(stdout).toContain(
      'knocktail knock HOST tcp:1024 tcp:1035 tcp:1046, then log in with ssh in a second terminal',
    );
  });

  test('two installs with different random draws get different knocks', async () => {
    const other = await mkdtemp(join(tmpdir(), 'ktdep-install-'));
    try {
      await runCliCaptured(['install', '--root', root], {
        cwd: '/',
        host: { ...QUIET_HOST, randomInt: (bound) => 1 % bound },
      });
      await runCliCaptured(['install', '--root', other], {
        cwd: '/',
        host: { ...QUIET_HOST, randomInt: (bound) => 7777 % bound },
      });
      const first = await loadConfig(join(root, 'etc/knocktail/config.json'));
      const second = await loadConfig(join(other, 'etc/knocktail/config.json'));
      expect(first.doors[0]!.sequence).not.toEqual(second.doors[0]!.sequence);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  test('a second run changes nothing and says so', async () => {
    await knocktail(['install', '--root', root], '/');
    const before = await listTree(root);
    const contents = await Promise.all(before.map((path) => readFile(join(root, path)).catch(() => 'dir')));
    const second = await knocktail(['install', '--root', root], '/');
    expect(second.code).toBe(0);
    expect(second.out).toContain('Nothing changed');
    expect(second.out).toMatch(/^kept +\/etc\/knocktail\/config.json/m);
    expect(second.out).not.toMatch(/^(created|updated) /m);
    expect(await listTree(root)).toEqual(before);
    expect(await Promise.all(before.map((path) => readFile(join(root, path)).catch(() => 'dir')))).toEqual(contents);
  });

  test("an existing config's prefix and paths are rendered into the snippets, and the config is left alone", async () => {
    await mkdir(join(root, 'etc/knocktail'), { recursive: true });
    const config = {
      logFile: '/srv/kt/knocks.log',
      logPrefix: 'kt$ssh: ',
      stateDir: '/srv/kt/state',
      auditLog: '/srv/kt/audit.log',
      firewall: { backend: 'dry-run' },
      doors: [{ name: 'ssh', sequence: ['tcp:7000'], open: ['tcp:22'] }],
    };
    const text = JSON.stringify(config);
    await writeFile(join(root, 'etc/knocktail/config.json'), text);
    const run = await knocktail(['install', '--root', root], '/');
    expect(run.err).toBe('');
    const dropin = await readFile(join(root, 'etc/rsyslog.d/30-knocktail.conf'), 'utf8');
    expect(dropin).toContain('startswith "kt\\$ssh: "');
    expect(dropin).toContain('file="/srv/kt/knocks.log"');
    expect(await readFile(join(root, 'etc/logrotate.d/knocktail'), 'utf8')).toContain(
      '/srv/kt/knocks.log\n/srv/kt/audit.log\n',
    );
    expect(await mode(join(root, 'srv/kt/state'))).toBe('700');
    expect(await readFile(join(root, 'etc/knocktail/config.json'), 'utf8')).toBe(text);
  });

  test('--config names the config inside the staging root, relative paths from its top', async () => {
    const run = await knocktail(['install', '--root', root, '--config', 'etc/kt/main.json'], '/somewhere');
    expect(run.out).toMatch(/^created +\/etc\/kt\/main.json +0640/m);
    expect(await mode(join(root, 'etc/kt/main.json'))).toBe('640');
  });

  test('a snippet changed by hand is brought back and reported as updated', async () => {
    await knocktail(['install', '--root', root], '/');
    await writeFile(join(root, 'etc/logrotate.d/knocktail'), 'edited\n');
    const run = await knocktail(['install', '--root', root], '/');
    expect(run.out).toMatch(/^updated +\/etc\/logrotate.d\/knocktail/m);
    expect(run.out).toContain('1 change made.');
  });
});

describe('knocktail install for the dedicated user', () => {
  test("a staged tree is for another machine: its unit runs the .deb's /usr/bin/knocktail and its config names the .deb's schema, not this checkout", async () => {
    await knocktail(['install', '--root', root], '/');
    const unit = await readFile(join(root, 'etc/systemd/system/knocktail.service'), 'utf8');
    expect(unit).toMatch(/^ExecStart=\/usr\/bin\/knocktail run$/m);
    expect(unit).not.toContain(realpathSync(process.execPath));
    expect(unit).toMatch(/^User=knocktail$/m);
    const config = JSON.parse(await readFile(join(root, 'etc/knocktail/config.json'), 'utf8')) as { $schema: string };
    expect(config.$schema).toBe('/usr/share/knocktail/config.schema.json');
  });

  test('with a knocktail group in the target, the config directory and file are given to it', async () => {
    await mkdir(join(root, 'etc'), { recursive: true });
    await writeFile(join(root, 'etc/group'), 'root:x:0:\nadm:x:4:knocktail\nknocktail:x:987:\n');
    const run = await knocktail(['install', '--root', root], '/');
    expect(run.code).toBe(0);
    expect((await stat(join(root, 'etc/knocktail'))).gid).toBe(987);
    expect((await stat(join(root, 'etc/knocktail/config.json'))).gid).toBe(987);
    expect(run.out).not.toContain('adduser');
  });

  test('without one, the next steps say how to create the user', async () => {
    const run = await knocktail(['install', '--root', root], '/');
    expect(run.out).toMatch(/^ {2}\d+\. adduser --system --group/m);
    expect(run.out).toMatch(/^ {2}\d+\. chgrp knocktail \/etc\/knocktail \/etc\/knocktail\/config.json/m);
  });
});

describe('knocktail install --config-only', () => {
  test('only the config skeleton and its directory are written, and nothing else is planned', async () => {
    const run = await knocktail(['install', '--config-only', '--root', root], '/');
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(await listTree(root)).toEqual(['/etc', '/etc/knocktail', '/etc/knocktail/config.json']);
    expect(run.out).toContain('firewall setup skipped: --config-only');
    expect(run.out).not.toContain('Next steps');
  });

  test('an existing config is kept as it is', async () => {
    await mkdir(join(root, 'etc/knocktail'), { recursive: true });
    const text = JSON.stringify({
      firewall: { backend: 'dry-run' },
      doors: [{ name: 'ssh', sequence: ['tcp:7000'], open: ['tcp:22'] }],
    });
    await writeFile(join(root, 'etc/knocktail/config.json'), text);
    const run = await knocktail(['install', '--config-only', '--root', root], '/');
    expect(run.out).toMatch(/^kept +\/etc\/knocktail\/config.json/m);
    expect(await readFile(join(root, 'etc/knocktail/config.json'), 'utf8')).toBe(text);
  });
});

describe('knocktail install in a container', () => {
  const inContainer = (kind: string | undefined) => ({
    ...QUIET_HOST,
    container: () => Promise.resolve(kind),
    ulogdPluginDir: () => Promise.resolve('/usr/lib/x86_64-linux-gnu/ulogd'),
  });

  test("a new config in a container reads NFLOG through knocktail's ulogd2; outside one it stays on rsyslog", async () => {
    // A dry run on / writes nothing; a config under /tmp would be refused (the unit's PrivateTmp= hides it).
    const config = '/etc/ktdep-container-dry-run/config.json';
    const lxc = await runCliCaptured(['install', '--dry-run', '--config', config], {
      cwd: '/',
      host: inContainer('lxc'),
    });
    expect(lxc.stderr).toBe('');
    expect(lxc.stdout).toContain('container (lxc): the new config reads knocks through NFLOG');
    expect(lxc.stdout).toContain('would create  /etc/ktdep-container-dry-run/ulogd.conf');
    expect(lxc.stdout).toContain('would create  /etc/systemd/system/knocktail-ulogd.service');
    expect(lxc.stdout).not.toContain('30-knocktail.conf');
    const host = await runCliCaptured(['install', '--dry-run', '--config', config], {
      cwd: '/',
      host: inContainer(undefined),
    });
    expect(host.stdout).not.toContain('ulogd');
    expect(host.stdout).toContain('/etc/rsyslog.d/30-knocktail.conf');
  });

  test("--config-only (the .deb's postinst) in a container also writes knocktail's ulogd2 config and unit, and nothing else", async () => {
    // A dry run on / writes nothing (a config under /tmp would be refused, as above).
    const config = '/etc/ktdep-container-dry-run/config.json';
    const run = await runCliCaptured(['install', '--config-only', '--dry-run', '--config', config], {
      cwd: '/',
      host: inContainer('systemd-nspawn'),
    });
    expect(run.stderr).toBe('');
    const planned = run.stdout.split('\n').filter((line) => line.startsWith('would '));
    expect(planned.map((line) => line.split(/ +/)[2])).toEqual([
      '/etc/ktdep-container-dry-run',
      config,
      '/etc/ktdep-container-dry-run/ulogd.conf',
      '/etc/systemd/system/knocktail-ulogd.service',
    ]);
  });

  test('an existing config with the NFLOG source gets the ulogd2 files, with its group and log file', async () => {
    await mkdir(join(root, 'etc/knocktail'), { recursive: true });
    const text = JSON.stringify({
      source: 'nflog',
      nflog: { group: 99 },
      logFile: '/srv/knocks/nflog.log',
      firewall: { backend: 'dry-run' },
      doors: [{ name: 'ssh', sequence: ['tcp:7000'], open: ['tcp:22'] }],
    });
    await writeFile(join(root, 'etc/knocktail/config.json'), text);
    const run = await knocktail(['install', '--root', root], '/');
    expect(run.err).toBe('');
    const ulogd = await readFile(join(root, 'etc/knocktail/ulogd.conf'), 'utf8');
    expect(ulogd).toContain('group=99\n');
    expect(ulogd).toContain('file="/srv/knocks/nflog.log"');
    expect(await readFile(join(root, 'etc/systemd/system/knocktail-ulogd.service'), 'utf8')).toContain(
      'ReadWritePaths=-/srv/knocks\n',
    );
    expect(await listTree(root)).not.toContain('/etc/rsyslog.d');
  });
});

describe('knocktail install --dry-run', () => {
  test('a dry run prints the plan and writes nothing', async () => {
    const run = await knocktail(['install', '--dry-run', '--root', root], '/');
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/^would create +\/etc\/rsyslog.d\/30-knocktail.conf +0644/m);
    expect(run.out).toMatch(/^would create +\/var\/lib\/knocktail +0700/m);
    expect(run.out).toContain('dry run: nothing written');
    expect(run.out).toContain('firewall setup skipped: dry run');
    expect(await readdir(root)).toEqual([]);
  });

  test('the dry run names the knock ports it drew and how to install exactly those; a real install with --knock-ports writes them', async () => {
    const dry = await runCliCaptured(['install', '--dry-run', '--root', root], {
      cwd: '/',
      host: { ...QUIET_HOST, randomInt: (bound) => 1234 % bound },
    });
    const shown = /knocktail install --knock-ports (\d+),(\d+),(\d+),(\d+)\n/.exec(dry.stdout);
    expect(shown).not.toBeNull();
    const [a, b, c, close] = shown!.slice(1).map(Number);
    expect(dry.stdout).toContain(`Client command: knocktail knock HOST tcp:${a} tcp:${b} tcp:${c}\n`);
    expect(dry.stdout).toContain('These knock ports were drawn for this dry run; a real install draws new ones.');
    // Another random source: without --knock-ports the real install would knock elsewhere.
    const real = await runCliCaptured(['install', '--root', root, '--knock-ports', shown!.slice(1).join(',')], {
      cwd: '/',
      host: { ...QUIET_HOST, randomInt: (bound) => 99 % bound },
    });
    expect(real.code).toBe(0);
    expect(real.stdout).toContain(`Client command: knocktail knock HOST tcp:${a} tcp:${b} tcp:${c}\n`);
    const config = await loadConfig(join(root, 'etc/knocktail/config.json'));
    expect(config.doors[0]!.sequence.map((step) => step.port)).toEqual([a, b, c]);
    expect(config.doors[0]!.closeSequence.map((step) => step.port)).toEqual([close]);
    expect(real.stdout).not.toContain('drawn for this dry run');
  });

  test('--knock-ports must be distinct ports other than 22, at least one to open and one to close', async () => {
    for (const bad of ['7000', '7000,7000', '7000,70000', '7000,x', '7000,22']) {
      expect(
        await runCliCaptured(['install', '--dry-run', '--root', root, '--knock-ports', bad], { cwd: '/' }),
      ).toMatchObject({
        code: 2,
        stderr: expect.stringContaining('Expected --knock-ports to be distinct ports 1-65535'),
      });
    }
  });
});
