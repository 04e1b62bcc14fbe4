import type { ChildProcess } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecResult, Rig } from './netns.js';
import { sleep } from '../../support/helpers.js';

// Debian's real fail2ban, run only inside a test namespace: fail2ban-server is started by the
// test in the rig's server namespace with a private copy of /etc/fail2ban whose fail2ban.local
// and jail.local put the socket, pid file, log and database under a temp directory; its
// actions (iptables-multiport or nftables-multiport) therefore change only that namespace's
// firewall. The one jail, sshd, watches an empty file: bans come from `set sshd banip`.
export interface Fail2ban {
  /** `fail2ban-client ARGS` against this server. */
  client(args: readonly string[]): Promise<ExecResult>;
  ban(address: string): Promise<void>;
  unban(address: string): Promise<void>;
  /** Stops the server (its actionstop removes its rules) and ends the process by its PID. */
  stop(): Promise<void>;
}

export async function startFail2ban(
  rig: Rig,
  banaction: 'iptables-multiport' | 'nftables-multiport',
): Promise<Fail2ban> {
  const dir = await mkdtemp(join(tmpdir(), 'kt-f2b-'));
  const conf = join(dir, 'etc');
  await cp('/etc/fail2ban', conf, { recursive: true });
  // Debian's jail.d enables sshd with the systemd backend; this jail is defined here instead.
  await rm(join(conf, 'jail.d'), { recursive: true, force: true });
  const socket = join(dir, 'fail2ban.sock');
  await writeFile(join(dir, 'auth.log'), '');
  await writeFile(
    join(conf, 'fail2ban.local'),
    [
      '[Definition]',
      'loglevel = INFO',
      `logtarget = ${join(dir, 'fail2ban.log')}`,
      `socket = ${socket}`,
      `pidfile = ${join(dir, 'fail2ban.pid')}`,
      'dbfile = :memory:',
      '',
    ].join('\n'),
  );
  await writeFile(
    join(conf, 'jail.local'),
    [
      '[DEFAULT]',
      `banaction = ${banaction}`,
      'bantime = 1h',
      '',
      '[sshd]',
      'enabled = true',
      'port = 22',
      'backend = polling',
      `logpath = ${join(dir, 'auth.log')}`,
      '',
    ].join('\n'),
  );
  const server: ChildProcess = rig.spawn(rig.server, [
    'fail2ban-server',
    '-c',
    conf,
    '-s',
    socket,
    '-p',
    join(dir, 'fail2ban.pid'),
    '-f',
    '-x',
  ]);
  const client = (args: readonly string[]): Promise<ExecResult> =>
    rig.exec(rig.server, ['fail2ban-client', '-c', conf, '-s', socket, ...args], { timeoutMs: 20_000 });
  const stop = async (): Promise<void> => {
    await client(['stop']).catch(() => undefined);
    if (server.pid !== undefined && server.exitCode === null) {
      const exited = new Promise<void>((done) => server.once('exit', () => done()));
      const timer = setTimeout(
        () => server.pid !== undefined && server.exitCode === null && process.kill(server.pid, 'SIGKILL'),
        5000,
      );
      await Promise.race([exited, sleep(6000)]);
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 20_000;
    while ((await client(['ping'])).exitCode !== 0) {
      if (server.exitCode !== null || Date.now() > deadline)
        throw new Error('fail2ban-server did not answer on its socket');
      await sleep(200);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const must = async (args: readonly string[]): Promise<void> => {
    const result = await client(args);
    if (result.exitCode !== 0)
      throw new Error(`fail2ban-client ${args.join(' ')} failed: ${result.stderr}${result.stdout}`);
  };
  return {
    client,
    ban: (address) => must(['set', 'sshd', 'banip', address]),
    unban: (address) => must(['set', 'sshd', 'unbanip', address]),
    stop,
  };
}
